"""Packer itself: finding it, its version, the amazon plugin, `validate` and `build` (through
packer-py), and the AMI id its manifest records. Progress goes to a `report` callback; Packer's
own build output is let through to the terminal as it comes."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any, Callable, Mapping, Optional

from ...errors import InputError, PackerError
from ...inputs import load_document, read_text_file
from .settings import is_ami_id

# Packer 1.10 stopped bundling the amazon builder; JSON templates cannot require a plugin.
PLUGINS_REQUIRED_FROM = (1, 10, 0)
AMAZON_PLUGIN = "github.com/hashicorp/amazon"


def find_packer(explicit: Optional[str] = None) -> str:
    """The packer executable: `explicit` (a path or a name on PATH), else `packer` on PATH."""
    name = explicit or "packer"
    path = shutil.which(name)
    if path:
        return path
    if explicit:
        raise PackerError(f"--packer {explicit}: no such executable; pass the path of HashiCorp "
                          "Packer (or leave --packer out to use `packer` on PATH)")
    raise PackerError("packer is not installed (not found on PATH): install HashiCorp's "
                      "Packer release for your system, 1.8.0 or later (Debian's and Ubuntu's "
                      "package, 1.6.6, cannot sign in to Amazon Linux 2023), or pass "
                      "--packer PATH")


def packer_version(packer: str) -> tuple[int, int, int]:
    """Packer's version from `packer version`; PackerError when it is not HashiCorp Packer."""
    # Plain subprocess rather than packer-py: this must not wait on standard input, which
    # Fedora's cracklib `packer` (a different program of the same name) would read.
    try:
        done = subprocess.run([packer, "version"], stdin=subprocess.DEVNULL, capture_output=True,
                              text=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired) as e:
        raise PackerError(f"cannot run `{packer} version`: {e}") from None
    match = re.search(r"Packer v(\d+)\.(\d+)\.(\d+)", done.stdout)
    if done.returncode != 0 or not match:
        said = (done.stdout + done.stderr).strip().splitlines()[:1]
        raise PackerError(f"{packer} is not HashiCorp Packer (`packer version` said "
                          f"{said[0] if said else 'nothing'!r}; Fedora's cracklib installs a "
                          "`packer` too): put HashiCorp Packer first on PATH or pass --packer")
    return (int(match[1]), int(match[2]), int(match[3]))


def _executable(packer: str, stream: bool, output: Optional[int] = None) -> Any:
    import packerpy

    # packer-py pipes (and holds back) the output by default; None lets it through as it comes
    # (a file descriptor sends it there).
    config = {"stdout": output, "stderr": None} if stream else None
    return packerpy.PackerExecutable(executable_path=packer, machine_readable=False,
                                     config=config)


def _ui_options() -> dict[str, str]:
    # Colour codes only make sense on a terminal; in a log file they are noise.
    return {} if sys.stdout.isatty() else {"color": "false"}


def install_plugin(packer: str, version: tuple[int, int, int],
                   report: Callable[[str], None] = lambda line: None,
                   output: Optional[int] = None) -> None:
    """On Packer >= 1.10, install the amazon plugin (JSON templates cannot require it)."""
    if version < PLUGINS_REQUIRED_FROM:
        return
    # packer-py has no verb for `packer plugins install ADDRESS` (it passes options, not words).
    report(f"installing the Packer amazon plugin ({AMAZON_PLUGIN})")
    done = subprocess.run([packer, "plugins", "install", AMAZON_PLUGIN], stdin=subprocess.DEVNULL,
                          stdout=output)
    if done.returncode != 0:
        raise PackerError(f"`packer plugins install {AMAZON_PLUGIN}` failed (exit "
                          f"{done.returncode}; its messages are above)")


def validate(packer: str, template: Path, variables: Mapping[str, str]) -> str:
    """`packer validate` of the whole template; its output, or PackerError quoting it."""
    code, out, err = _executable(packer, stream=False).validate(str(template), var=dict(variables))
    text = "\n".join(part.decode("utf-8", "replace").strip() for part in (out, err) if part)
    if code != 0:
        raise PackerError(f"packer validate refused {template}:\n{text}")
    return text


def build(packer: str, template: Path, variables: Mapping[str, str], only: str,
          output: Optional[int] = None) -> None:
    """`packer build -only=ONLY`, its output streamed live (to file descriptor `output` when
    given)."""
    sys.stdout.flush()
    sys.stderr.flush()
    code, _, _ = _executable(packer, stream=True, output=output).build(
        str(template), only=only, var=dict(variables), **_ui_options())
    if code != 0:
        raise PackerError(f"packer build failed (exit {code}; its messages are above). Packer "
                          "removes the build instance and temporary key pair and security "
                          "group itself")


def ami_from_manifest(manifest: Path, build_name: str, region: str) -> str:
    """The AMI id of the last run of `build_name` recorded in the manifest post-processor's file."""
    try:
        data = load_document(read_text_file(manifest, "Packer's manifest") or "",
                             f"Packer's manifest {manifest}")
    except InputError as e:
        raise PackerError(str(e)) from None
    if not isinstance(data, dict):
        raise PackerError(f"Packer's manifest {manifest} is not a JSON object")
    last = data.get("last_run_uuid")
    runs = [b for b in data.get("builds", [])
            if b.get("packer_run_uuid") == last and b.get("name") == build_name]
    if not runs:
        raise PackerError(f"Packer's manifest {manifest} has no {build_name} build in its last "
                          "run")
    # artifact_id is "region:ami-...", comma-separated when the AMI is copied to other regions.
    for artifact in runs[-1].get("artifact_id", "").split(","):
        where, _, ami = artifact.partition(":")
        if where == region and is_ami_id(ami):
            return ami
    raise PackerError(f"Packer's manifest {manifest} names no AMI in {region}: "
                      f"{runs[-1].get('artifact_id')!r}")
