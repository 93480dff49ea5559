"""Deterministic rendering and atomic file writes."""

from __future__ import annotations

import json
import os
import stat
import tempfile
from pathlib import Path
from typing import Any, Optional, Union

import yaml
from cfn_clean import cfn_literal_parser
from cfn_flip import yaml_dumper as cfn_yaml
from cfn_tools._config import config as cfn_flip_config
from troposphere import Template

from .errors import OutputError

# The order a person reads a template in, rather than troposphere's alphabetical one.
SECTION_ORDER = ("AWSTemplateFormatVersion", "Description", "Transform", "Metadata", "Parameters",
                 "Rules", "Mappings", "Conditions", "Resources", "Outputs")
RESOURCE_KEY_ORDER = ("Type", "Condition", "DependsOn", "DeletionPolicy", "UpdateReplacePolicy",
                      "UpdatePolicy", "CreationPolicy", "Metadata", "Properties")


def template_dict(template: Template) -> dict[str, Any]:
    """The template as plain data, sections and resource keys in reading order."""
    body = template.to_dict()
    ordered = {key: body[key] for key in SECTION_ORDER if key in body}
    ordered.update({k: v for k, v in body.items() if k not in ordered})
    if "Resources" in ordered:
        ordered["Resources"] = {
            name: {k: r[k] for k in (*RESOURCE_KEY_ORDER, *sorted(r)) if k in r}
            for name, r in ordered["Resources"].items()
        }
    return ordered


class _ShortFormDumper(cfn_yaml.Dumper):
    """cfn-flip's YAML dumper (short intrinsic forms, its quoting and indentation) for plain,
    insertion-ordered dicts: the same text as `cfn_flip.to_yaml`, without its ordered-dict type,
    whose items() builds a class per key to defeat sorting (most of cfn-flip's time).

    One difference: a multi-line string under an intrinsic function (the launch templates'
    `UserData: !Base64`) is a literal block, as a person would write it and as cfn-flip writes
    multi-line strings that are not under a function, not one double-quoted line of escapes."""

    def represent_scalar(self, tag, value, style=None):
        if style is None and tag.startswith("!") and "\n" in value:
            style = "|"
        return super().represent_scalar(tag, value, style)


def _represent_dict(dumper: yaml.Dumper, value: dict) -> Any:
    if len(value) == 1:  # {"Ref": x} -> !Ref x, {"Fn::Sub": x} -> !Sub x
        (key, inner), = value.items()
        if key in cfn_yaml.CONVERTED_SUFFIXES:
            return cfn_yaml.fn_representer(dumper, key, inner)
        if key.startswith(cfn_yaml.FN_PREFIX):
            return cfn_yaml.fn_representer(dumper, key[len(cfn_yaml.FN_PREFIX):], inner)
    return dumper.represent_mapping(cfn_yaml.TAG_MAP, value, flow_style=False)


_ShortFormDumper.add_representer(dict, _represent_dict)


def render_yaml(template: Union[Template, dict]) -> str:
    """YAML in the short intrinsic style (!Ref, !Sub, ...) a person would write, from a template
    or its `template_dict`; byte for byte what `cfn_flip.to_yaml` writes, but for multi-line
    strings under an intrinsic function (see _ShortFormDumper)."""
    data = template_dict(template) if isinstance(template, Template) else template
    # A copy: cfn-flip's literal parser replaces some values in place (JSON bodies it keeps
    # literal), and the caller's data may still be linted.
    data = cfn_literal_parser(json.loads(json.dumps(data)))
    return yaml.dump(data, Dumper=_ShortFormDumper, default_flow_style=False,
                     allow_unicode=True, width=cfn_flip_config.max_col_width, sort_keys=False)


def render_json(data: dict) -> str:
    """Indented JSON with a trailing newline, keys in the order given (the Packer template)."""
    return json.dumps(data, indent=2) + "\n"


def write_atomic(path: Union[str, Path], text: str) -> Path:
    """Write `text` to `path` through a temporary file and a rename: readers see the old file or
    the new one, never half of one, and a failure (or Ctrl-C) leaves the old file as it was and
    no temporary file behind. Returns `path`.

    Every command writes its outputs through here, so they all treat what is at `path` alike:

    - nothing: the file is created (missing parent folders too), mode 0644 less the umask;
    - a regular file: replaced whole, keeping its permission bits;
    - a symbolic link: followed (through every link, even to a file that does not exist yet),
      and the file it points to is written; the link stays a link;
    - a read-only file (no write permission bit, or not writable by this user): refused, so
      a file someone protected on purpose is never replaced;
    - a directory, a named pipe, a device or a socket: refused.

    Refusals and failures raise OutputError with the reason. A hard-linked file is replaced by
    a new file: its other names keep the old text."""
    from .inputs import shown

    given = path
    path, info = writable_target(path)
    tmp = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, info.st_mode & 0o777 if info else 0o666 & ~_umask())
        os.replace(tmp, path)
        tmp = None
    except (OSError, UnicodeError) as e:
        reason = getattr(e, "strerror", None) or str(e)
        raise OutputError(f"cannot write {shown(given)}: {reason}") from None
    finally:
        if tmp is not None:  # a failure, or Ctrl-C: no temporary file left behind
            Path(tmp).unlink(missing_ok=True)
    return Path(given)


def writable_target(path: Union[str, Path]) -> tuple[Path, Optional[os.stat_result]]:
    """The file write_atomic(`path`) would write (a symbolic link followed) and its stat (None
    when it does not exist yet); OutputError when write_atomic would refuse it. For a caller
    that must know before writing anything else (a backup)."""
    from .inputs import file_kind, shown

    try:
        target = Path(os.path.realpath(path, strict=True))
    except FileNotFoundError:  # nothing there yet, or a link to a file not yet made
        target = Path(os.path.realpath(path))
    except NotADirectoryError:
        raise OutputError(f"cannot write {shown(path)}: a parent of it is a file, not a "
                          "directory") from None
    except OSError as e:  # a loop of links, ...
        raise OutputError(f"cannot write {shown(path)}: {e.strerror or e}") from None
    try:
        info = target.stat()
    except FileNotFoundError:
        return target, None
    except OSError as e:
        raise OutputError(f"cannot write {shown(path)}: {e.strerror or e}") from None
    where = shown(path) + (f" (a link to {shown(target)})" if os.path.islink(path) else "")
    if not stat.S_ISREG(info.st_mode):
        raise OutputError(f"cannot write {where}: it is {file_kind(info.st_mode)}, not a regular "
                          "file")
    if not info.st_mode & 0o222 or not os.access(target, os.W_OK):
        raise OutputError(f"cannot write {where}: it is read-only (mode "
                          f"{stat.filemode(info.st_mode)}); make it writable (chmod u+w) or "
                          "write somewhere else")
    return target, info


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask
