"""packer/last-ami: the AMI id the last `create-ami` recorded, and the hint other commands give
when GpuAMI is not set to it. Nothing ever sets GpuAMI from this file: it is only pointed to."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

from ...errors import InputError
from ...inputs import read_text_file
from ...files import write_atomic
from .settings import is_ami_id

LAST_AMI = Path("packer/last-ami")


def record_ami(ami: str, path: Path = LAST_AMI) -> Path:
    """Write the AMI id to `path` (atomically), for README, template and deploy steps to read."""
    return write_atomic(path, ami + "\n")


def read_last_ami(path: Path = LAST_AMI) -> Optional[str]:
    """The AMI id the last `create-ami` recorded, or None when there is none."""
    # An AMI id and a newline; a FIFO or a huge file there is refused, never waited on.
    text = read_text_file(path, "the AMI record", limit=4096, missing_ok=True)
    if text is None:
        return None
    ami = text.strip()
    return ami if is_ami_id(ami) else None


def last_ami_hint(using: Optional[str], how: str, path: Path = LAST_AMI) -> Optional[str]:
    """A hint naming the AMI the last `create-ami` recorded in `path`, when GpuAMI is not being
    set to it (`using`: the value it gets; None or "" for none); None otherwise. `how` says how
    to use it, with {ami} for the id. Only a hint: nothing ever sets GpuAMI from the record."""
    try:
        recorded = read_last_ami(path)
    except InputError:
        return None
    if recorded is None or recorded == using:
        return None
    return f"{path} records {recorded} (built by create-ami); " + how.format(ami=recorded)
