"""Reading a StackConfig from a YAML or JSON file (the --config option of the generators)."""

from __future__ import annotations

from pathlib import Path
from typing import Union

from .config import StackConfig, from_dict
from .errors import ConfigError, Problem


def load_config_file(path: Union[str, Path]) -> StackConfig:
    """StackConfig from a YAML or JSON file whose keys mirror StackConfig.

    Raises ConfigError naming the file: unreadable, not YAML/JSON, or wrong keys and values
    (every problem listed)."""
    import yaml  # YAML is a superset of JSON, so one parser reads both

    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as e:
        raise ConfigError([Problem("--config", str(path),
                                   f"cannot read the file: {e.strerror or e}")]) from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise ConfigError([Problem(
            "--config", str(path), f"allowed: valid YAML or JSON; parse error{where}: "
                                   f"{getattr(e, 'problem', None) or e}")]) from None
    try:
        return from_dict({} if data is None else data)
    except ConfigError as e:  # say which file, as the problems name only its keys
        raise ConfigError(e.problems, source=f"the configuration file {path}") from None
