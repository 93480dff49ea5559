"""Writing files atomically, with one policy for what is already at the path."""

from __future__ import annotations

import os
import stat
import tempfile
from pathlib import Path
from typing import Optional, Union

from .errors import OutputError


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
