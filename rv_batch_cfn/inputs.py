"""Reading what a user hands the CLI, with the same limits and the same clear refusals everywhere.

Every file the project reads goes through `read_text_file`: a regular file only (a directory, a
named pipe or a device is refused before it is opened, so nothing hangs or streams forever), at
most MAX_BYTES, UTF-8 text. Every YAML or JSON document goes through `load_document`, which
refuses, naming the line:

- aliases (`*name`): CloudFormation does not accept them either, and they are how a few hundred
  bytes expand into billions of values ("billion laughs");
- duplicate keys, which YAML parsers silently resolve by keeping the last one;
- more than MAX_DEPTH levels of nesting or more than MAX_NODES values.

These checks read the document as a stream of parser events, before anything is built from it,
so a hostile document costs no more than its (capped) size to refuse.
"""

from __future__ import annotations

import functools
import json
import os
import stat
from pathlib import Path
from typing import Any, Optional, Union

from .errors import InputError, quote, shorten

# CloudFormation's largest template (1 MB, given through S3) fits; no config file comes close.
MAX_BYTES = 1024 * 1024
# The generated templates nest 10 levels deep and hold about 1,600 values.
MAX_DEPTH = 50
MAX_NODES = 100_000


def file_kind(mode: int) -> str:
    """What a file of `mode` (st_mode) is, in words."""
    for test, kind in ((stat.S_ISREG, "a regular file"), (stat.S_ISDIR, "a directory"),
                       (stat.S_ISFIFO, "a named pipe (FIFO)"), (stat.S_ISCHR, "a character device"),
                       (stat.S_ISBLK, "a block device"), (stat.S_ISSOCK, "a socket")):
        if test(mode):
            return kind
    return "not a regular file"


def shown(path: Union[str, Path]) -> str:
    """A path as it can be printed: bytes that are not UTF-8 (os.fsdecode's surrogates) escaped."""
    return str(path).encode("utf-8", "backslashreplace").decode("utf-8")


def _size(limit: int) -> str:
    return f"{limit // (1024 * 1024)} MiB" if limit % (1024 * 1024) == 0 else f"{limit} bytes"


def read_text_file(path: Union[str, Path], what: str, limit: int = MAX_BYTES,
                   missing_ok: bool = False) -> Optional[str]:
    """The text of the regular file `path` (UTF-8, a leading byte-order mark dropped).

    `what` names the file in messages ("the template", "the --config file"). InputError when it
    is missing (None instead with `missing_ok`), not a regular file, larger than `limit` bytes,
    unreadable or not UTF-8. Symbolic links are followed."""
    name = f"{what} {shown(path)}"
    try:
        # stat before open: opening a FIFO blocks and opening some devices has effects.
        mode = os.stat(path).st_mode
        if not stat.S_ISREG(mode):
            raise InputError(f"cannot read {name}: it is {file_kind(mode)}, not a regular file")
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
        with os.fdopen(fd, "rb") as f:
            mode = os.fstat(f.fileno()).st_mode  # replaced by something else since the stat?
            if not stat.S_ISREG(mode):
                raise InputError(f"cannot read {name}: it is {file_kind(mode)}, not a regular "
                                 "file")
            data = f.read(limit + 1)
    except FileNotFoundError:
        if missing_ok:
            return None
        raise InputError(f"cannot read {name}: no such file") from None
    except NotADirectoryError:
        raise InputError(f"cannot read {name}: a parent of it is a file, not a directory"
                         ) from None
    except OSError as e:
        raise InputError(f"cannot read {name}: {e.strerror or e}") from None
    if len(data) > limit:
        raise InputError(f"cannot read {name}: it is larger than {_size(limit)}, the most this "
                         "reads")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        line = data.count(b"\n", 0, e.start) + 1
        raise InputError(f"cannot read {name}: it is not UTF-8 text (byte 0x{data[e.start]:02x} "
                         f"at line {line}, offset {e.start}); save it as UTF-8") from None
    return text[1:] if text.startswith("\ufeff") else text


def check_text_value(value: str, what: str, limit: int) -> Optional[str]:
    """Why `value` (from the command line or the environment) cannot be used, or None: bytes
    that are not UTF-8 (which the shell passed as they were), or more than `limit` bytes."""
    try:
        size = len(value.encode("utf-8"))
    except UnicodeEncodeError:
        return f"{what} holds bytes that are not UTF-8 text"
    if size > limit:
        return f"{what} is {size} bytes long; allowed: at most {limit}"
    return None


def load_document(text: str, what: str, loader: Any = None) -> Any:
    """The YAML or JSON document `text` (`what` names it in messages), once it has passed the
    checks above. `loader` is the PyYAML loader class that builds it (default: the safe one);
    CloudFormation templates pass one that knows the short-form tags (!Ref, !Sub, ...).

    InputError naming the line for anything malformed or refused."""
    if text.lstrip()[:1] in ("{", "["):
        # JSON first, as cfn-flip does: it is strict where YAML 1.1 would read it differently.
        try:
            data = json.loads(text, object_pairs_hook=_unique_pairs)
        except _Duplicate as e:
            raise InputError(f"{what}: duplicate key {e.key}; allowed: each key once") from None
        except RecursionError:
            raise InputError(f"{what}: nested more than {MAX_DEPTH} levels deep") from None
        except ValueError:
            pass  # not JSON: read it as YAML
        else:
            _check_data(data, what)
            return data
    check_yaml(text, what)
    import yaml

    if loader is None:
        loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    try:
        return yaml.load(text, Loader=loader)  # noqa: S506 - a safe loader, checked above
    except yaml.YAMLError as e:
        raise InputError(f"{what}: {_yaml_problem(e)}") from None
    except ValueError as e:  # a value Python refuses, e.g. an integer of 5000 digits
        raise InputError(f"{what}: a value cannot be read ({_cut_line(e)})") from None


def read_template(path: Union[str, Path], what: str = "the template") -> tuple[str, Any]:
    """A CloudFormation template file's text and its data (short-form tags such as !Ref read
    as their long form, as cfn-flip reads them), with every check of this module."""
    text = read_text_file(path, what) or ""
    return text, load_document(text, f"{what} {shown(path)}", loader=template_loader())


@functools.lru_cache(maxsize=None)
def template_loader() -> Any:
    """The PyYAML loader class for CloudFormation templates: the safe loader on libyaml's parser
    where PyYAML has it, with each short-form tag read as its long form the way cfn-flip's
    CfnYamlLoader reads it (`!Ref` and `!Condition` keep their names, every other `!X` becomes
    `Fn::X`, `!GetAtt a.b` becomes `[a, b]`), into plain dicts. cfn-flip's own loader is pure
    Python: reading a 57 KB template took it about 0.3 s, this about 0.03 s."""
    import yaml

    class TemplateLoader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # type: ignore
        pass

    def long_form(loader: Any, suffix: str, node: Any) -> dict:
        name = suffix if suffix in ("Ref", "Condition") else f"Fn::{suffix}"
        if isinstance(node, yaml.ScalarNode):
            value = loader.construct_scalar(node)
            return {name: value.split(".", 1) if name == "Fn::GetAtt" else value}
        if isinstance(node, yaml.SequenceNode):
            return {name: loader.construct_sequence(node, deep=True)}
        return {name: loader.construct_mapping(node, deep=True)}

    TemplateLoader.add_multi_constructor("!", long_form)
    return TemplateLoader


def template_data(text: str) -> Any:
    """A template body as data (JSON, or YAML read with `template_loader`), for the templates
    AWS hands back (GetTemplate), which need none of the checks of a user's file. ValueError
    (a yaml.YAMLError or json's) when it is neither."""
    try:
        return json.loads(text)
    except ValueError:
        import yaml

        return yaml.load(text, Loader=template_loader())  # noqa: S506 - a safe loader


def check_yaml(text: str, what: str) -> None:
    """InputError unless `text` is YAML without aliases or duplicate keys, within MAX_DEPTH and
    MAX_NODES. Reads parser events only (libyaml's parser when PyYAML has it)."""
    import yaml

    parser = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    # One frame per open collection: [is a mapping, children seen, {key: line}].
    frames: list[list[Any]] = []
    nodes = 0
    try:
        for event in yaml.parse(text, Loader=parser):
            if isinstance(event, yaml.AliasEvent):
                raise _refused(what, event, f"a YAML alias (*{event.anchor}); CloudFormation "
                                            "does not accept aliases either: write the value "
                                            "out in full")
            if isinstance(event, (yaml.ScalarEvent, yaml.CollectionStartEvent)):
                nodes += 1
                if nodes > MAX_NODES:
                    raise _refused(what, event, f"more than {MAX_NODES} values, the most this "
                                                "reads")
                frame = frames[-1] if frames else None
                if frame and frame[0] and frame[1] % 2 == 0 and isinstance(event,
                                                                           yaml.ScalarEvent):
                    keys = frame[2]
                    if event.value in keys:
                        raise _refused(what, event, f"duplicate key {_key(event.value)} (first "
                                                    f"at line {keys[event.value]}); allowed: "
                                                    "each key once")
                    keys[event.value] = event.start_mark.line + 1
                if isinstance(event, yaml.ScalarEvent):
                    if frame:
                        frame[1] += 1
                else:
                    frames.append([isinstance(event, yaml.MappingStartEvent), 0, {}])
                    if len(frames) > MAX_DEPTH:
                        raise _refused(what, event, f"nested more than {MAX_DEPTH} levels deep")
            elif isinstance(event, yaml.CollectionEndEvent):
                frames.pop()
                if frames:
                    frames[-1][1] += 1
    except yaml.YAMLError as e:
        raise InputError(f"{what}: {_yaml_problem(e)}") from None


def _key(value: str) -> str:
    return quote(value, 80)


class _Duplicate(ValueError):
    def __init__(self, key: str):
        super().__init__(key)
        self.key = _key(key)


def _unique_pairs(pairs: list[tuple[str, Any]]) -> dict:
    data: dict = {}
    for key, value in pairs:
        if key in data:
            raise _Duplicate(key)
        data[key] = value
    return data


def _check_data(data: Any, what: str) -> None:
    """MAX_DEPTH and MAX_NODES for data parsed as JSON (which has no aliases)."""
    nodes = 0
    pending = [(data, 1)]
    while pending:
        value, depth = pending.pop()
        nodes += 1
        if nodes > MAX_NODES:
            raise InputError(f"{what}: more than {MAX_NODES} values, the most this reads")
        if not isinstance(value, (dict, list)):
            continue
        if depth > MAX_DEPTH:  # as check_yaml counts: the collections open at once
            raise InputError(f"{what}: nested more than {MAX_DEPTH} levels deep")
        pending.extend((child, depth + 1)
                       for child in (value.values() if isinstance(value, dict) else value))


def _cut_line(error: Exception) -> str:
    return shorten(str(error).splitlines()[0] if str(error) else type(error).__name__)


def _refused(what: str, event: Any, reason: str) -> InputError:
    mark = event.start_mark
    return InputError(f"{what}, line {mark.line + 1}, column {mark.column + 1}: {reason}")


def _yaml_problem(error: Exception) -> str:
    """A PyYAML error in one line: where, and what."""
    mark = getattr(error, "problem_mark", None)
    problem = getattr(error, "problem", None) or _cut_line(error)
    where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
    return f"not valid YAML or JSON: {where}{problem}"
