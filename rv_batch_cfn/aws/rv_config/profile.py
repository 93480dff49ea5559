"""Raster Vision's Batch configuration, read from the deployed stack's outputs.

Three forms: the [BATCH] section of current Raster Vision (0.12 and later), the [AWS_BATCH]
section of Raster Vision 0.9/0.10, and `export BATCH_...` lines for the environment. `--write`
merges the section into the Raster Vision profile file, keeping everything else in it.

The INI merge that keeps the rest of the file is ini.py.
"""

from __future__ import annotations

import configparser
import os
import shlex
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Mapping, Optional

from ...errors import AwsError, InputError, RvBatchError
from ...inputs import read_text_file
from ...files import writable_target, write_atomic
from ...template import job_definitions, notifications
from ...template import outputs as out
from ...template import parameters as params
from . import AWS_BATCH, BATCH, ENV, FORMATS
from .ini import check_ini, merge_section, section_values
from ..clients.stack import complete_stack, require_outputs, stack_outputs, stack_parameters

WRITE_NEEDS_INI = ("--write merges an INI section into the Raster Vision profile file; --env "
                   "prints shell lines instead: use one or the other")

# The stack parameters Raster Vision's `attempts` comes from: the main template's JobAttempts,
# or the per-kind attempts of the job-definitions template.
ATTEMPTS_PARAMETERS: tuple[str, ...] = (params.JOB_ATTEMPTS, *job_definitions.ATTEMPTS_PARAMETERS)


@dataclass(frozen=True)
class BatchSettings:
    """The names Raster Vision submits jobs with, keyed by stack output name, and `attempts`."""

    names: Mapping[str, str]
    attempts: str
    # The main stack's SNS topic of e-mail notifications; None when they are off.
    notification_topic: Optional[str] = None

    def value(self, output: str) -> str:
        return self.names[output]


def read_settings(session: Any, stack_name: str, job_def_stack: Optional[str] = None
                  ) -> BatchSettings:
    """Queues (and job definitions) from `stack_name`; with `job_def_stack`, the job definitions
    and attempts come from that per-project stack instead."""
    cfn = session.client("cloudformation")
    main = complete_stack(cfn, stack_name)
    topic = stack_outputs(main).get(notifications.TOPIC_OUTPUT)
    if job_def_stack is None:
        names = require_outputs(main, [*out.QUEUE_OUTPUTS, *out.JOB_DEFINITION_OUTPUTS])
        return BatchSettings(names, _attempts(main), topic)
    names = require_outputs(main, list(out.QUEUE_OUTPUTS))
    definitions = complete_stack(cfn, job_def_stack)
    check_main_stack(definitions, main)
    names.update(require_outputs(definitions, list(out.JOB_DEFINITION_OUTPUTS)))
    return BatchSettings(names, _attempts(definitions), topic)


def check_main_stack(definitions: dict, main: dict) -> None:
    """AwsError unless the job-definitions stack was deployed for `main` (its MainStackName):
    its jobs run with that stack's job role and log to its log group."""
    name, wanted = definitions["StackName"], main["StackName"]
    given = stack_parameters(definitions).get(job_definitions.MAIN_STACK_NAME)
    if given is None:
        raise AwsError(f"stack {name!r} (--job-def-stack) has no parameter "
                       f"{job_definitions.MAIN_STACK_NAME}: was it created from this project's "
                       "cloudformation/job-definitions.yml?")
    if given != wanted:
        raise AwsError(f"stack {name!r} (--job-def-stack) was deployed for main stack "
                       f"{given!r} ({job_definitions.MAIN_STACK_NAME}={given}), not for "
                       f"{wanted!r} (--stack): its jobs use {given!r}'s job role and log group. "
                       f"Pass --stack {given}, or deploy job definitions with "
                       f"{job_definitions.MAIN_STACK_NAME}={wanted}")


def _attempts(stack: dict) -> str:
    # The batch_retry runner submits one `attempts` for every job (in place of the job
    # definition's), so with one value per kind the larger keeps every job's retries.
    values = stack_parameters(stack)
    found = [values[name] for name in ATTEMPTS_PARAMETERS if values.get(name, "").isdigit()]
    if not found:
        raise AwsError(f"stack {stack['StackName']!r} has no parameter "
                       f"{' or '.join(ATTEMPTS_PARAMETERS)}: was it created from this project's "
                       "templates?")
    return str(max(int(v) for v in found))


def section(settings: BatchSettings, fmt: str = BATCH) -> tuple[str, dict[str, str]]:
    """The INI section name and its keys, in Raster Vision's order, for `fmt`."""
    if fmt == AWS_BATCH:
        keys, name = out.AWS_BATCH_KEYS, out.AWS_BATCH_SECTION
    else:
        keys, name = out.BATCH_KEYS, out.BATCH_SECTION
    values = {key: settings.value(output) for output, key in keys.items()}
    values[out.ATTEMPTS_KEY] = settings.attempts
    return name, values


def render(settings: BatchSettings, fmt: str = BATCH) -> str:
    """The configuration as text: an INI section, or `export` lines for `fmt` == "env"."""
    if fmt not in FORMATS:
        raise RvBatchError(f"--format: got {fmt!r}; allowed: {', '.join(FORMATS)}")
    name, values = section(settings, BATCH if fmt == ENV else fmt)
    if fmt == ENV:
        return "".join(f"export {out.ENV_PREFIX}{key.upper()}={shlex.quote(value)}\n"
                       for key, value in values.items())
    return f"[{name}]\n" + "".join(f"{key} = {value}\n" for key, value in values.items())


def config_candidates(environ: Mapping[str, str] = os.environ) -> list[Path]:
    """Where Raster Vision looks for its profile file, in order; it reads the first that exists.

    $RV_CONFIG; then $RV_CONFIG_DIR/<profile> or ~/.rastervision/<profile> (the profile is
    $RV_PROFILE, `default` when unset); then .rastervision in the working directory.
    """
    profile = environ.get("RV_PROFILE") or "default"
    directory = environ.get("RV_CONFIG_DIR") or "~/.rastervision"
    explicit = [Path(environ["RV_CONFIG"]).expanduser()] if environ.get("RV_CONFIG") else []
    return [*explicit, Path(directory).expanduser() / profile, Path.cwd() / ".rastervision"]


def config_path(environ: Mapping[str, str] = os.environ) -> Path:
    """The profile file `--write` writes: $RV_CONFIG, else $RV_CONFIG_DIR/<profile>, else
    ~/.rastervision/<profile>."""
    return config_candidates(environ)[0]


def find_config(environ: Mapping[str, str] = os.environ) -> Optional[Path]:
    """The profile file Raster Vision reads, or None when there is none."""
    return next((p for p in config_candidates(environ) if p.is_file()), None)


def read_batch_section(path: Path) -> Optional[dict[str, str]]:
    """The [BATCH] section of a Raster Vision profile file (keys lower-case), or None when it
    has none. Raises ValueError (with the reason) when the file cannot be read as INI."""
    parser = configparser.ConfigParser(interpolation=None)
    try:
        parser.read_string(read_text_file(path, "the Raster Vision config") or "",
                           source=str(path))
    except InputError as e:
        raise ValueError(str(e)) from None
    except configparser.Error as e:
        raise ValueError(str(e).splitlines()[0]) from None
    # Everett, which Raster Vision reads it with, matches section names without regard to case.
    name = next((s for s in parser.sections() if s.lower() == out.BATCH_SECTION.lower()), None)
    return dict(parser[name]) if name else None


@dataclass(frozen=True)
class WriteResult:
    """Where the configuration went, the backup of the previous file, and whether it changed.

    `target` is the file written when `path` is a symbolic link (None otherwise); `changes`
    lists each key whose value changed as (key, old value or None when it was missing, new
    value), in the section's order."""

    path: Path
    backup: Optional[Path]
    changed: bool
    target: Optional[Path] = None
    changes: tuple[tuple[str, Optional[str], str], ...] = ()


def check_config_file(fmt: str = BATCH, path: Optional[Path] = None) -> None:
    """What write_config would refuse about the profile file (`config_path()` by default),
    raised before anything else is done: not a regular file, read-only, too large, not UTF-8,
    not INI."""
    path = path or config_path()
    destination, _ = writable_target(path)
    old = read_text_file(destination, "the Raster Vision config", missing_ok=True)
    if old is not None:
        check_ini(path, old, section_name(fmt))


def section_name(fmt: str = BATCH) -> str:
    """The INI section `fmt` writes."""
    return out.AWS_BATCH_SECTION if fmt == AWS_BATCH else out.BATCH_SECTION


def write_config(settings: BatchSettings, fmt: str = BATCH, path: Optional[Path] = None,
                 now: Optional[datetime] = None) -> WriteResult:
    """Merge the section for `fmt` into the profile file (`config_path()` by default), keeping
    a time-stamped backup of the previous file; both files are written atomically.

    Symbolic links, read-only files and what is not a regular file are treated as
    `write_atomic` treats them: a link is written through (the file it points to gets the new
    text and the backup beside it; the link stays a link); the others are refused before
    anything is written. A file that is not valid INI is refused, and left as it is."""
    if fmt == ENV:
        raise RvBatchError(WRITE_NEEDS_INI)
    path = path or config_path()
    destination, _ = writable_target(path)
    target = destination if path.is_symlink() else None
    old = read_text_file(destination, "the Raster Vision config", missing_ok=True)
    name, values = section(settings, fmt)
    if old is not None:
        check_ini(path, old, name)
    before = section_values(old or "", name)
    changes = tuple((key, before.get(key.lower()), value) for key, value in values.items()
                    if before.get(key.lower()) != value)
    new = merge_section(old or "", name, values)
    if old == new:
        return WriteResult(path, None, False, target)
    backup = None
    if old is not None:
        backup = _backup_path(destination, now or datetime.now())
        write_atomic(backup, old)
        os.chmod(backup, destination.stat().st_mode & 0o777)
    # A rename onto the link itself would replace the link with a plain file.
    write_atomic(destination, new)
    return WriteResult(path, backup, True, target, changes)


def _backup_path(path: Path, now: datetime) -> Path:
    stamp = now.strftime("%Y%m%d-%H%M%S")
    candidate = path.with_name(f"{path.name}.{stamp}.bak")
    n = 1
    while candidate.exists():
        candidate = path.with_name(f"{path.name}.{stamp}-{n}.bak")
        n += 1
    return candidate
