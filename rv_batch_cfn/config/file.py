"""Reading a StackConfig from a YAML or JSON file (the --config option of the generators)."""

from __future__ import annotations

from pathlib import Path
from typing import Union

from ..errors import ConfigError
from ..inputs import load_document, read_text_file, shown
from .data import from_dict
from .model import StackConfig


def load_config_file(path: Union[str, Path]) -> StackConfig:
    """StackConfig from a YAML or JSON file whose keys mirror StackConfig.

    Raises InputError naming the file when it cannot be read or is not a well-formed document
    (see rv_batch_cfn.inputs: regular files of at most 1 MiB, no aliases, no duplicate keys),
    and ConfigError listing every wrong key and value."""
    what = f"the --config file {shown(path)}"
    data = load_document(read_text_file(path, "the --config file") or "", what)
    try:
        return from_dict({} if data is None else data)
    except ConfigError as e:  # say which file, as the problems name only its keys
        raise ConfigError(e.problems, source=f"the configuration file {shown(path)}") from None
