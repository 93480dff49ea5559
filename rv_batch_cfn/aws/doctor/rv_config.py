"""Raster Vision's own config: it must name this stack's queues and job definitions."""

from __future__ import annotations

import os
from typing import Optional

from ...errors import quote
from ...template import outputs as out
from ..rv_config import profile
from .findings import NOTE, OK, PROBLEM, RV_CONFIG, Finding

def rv_config_findings(stack_name: str, names: dict[str, str],
                       job_def_stack: Optional[str] = None) -> list[Finding]:
    expected = {out.BATCH_KEYS[o]: names[o] for o in out.BATCH_KEYS}
    # The command that writes what is expected: the per-project job definitions, if checked.
    write = f"rv-batch-cfn rv-config --stack {stack_name}" + (
        f" --job-def-stack {job_def_stack}" if job_def_stack else "") + " --write"
    found = []
    # Raster Vision reads environment variables before the file, so they win.
    for key, value in expected.items():
        variable = f"BATCH_{key.upper()}"
        if variable in os.environ and os.environ[variable] != value:
            found.append(Finding(RV_CONFIG, PROBLEM,
                                 f"environment variable {variable}={os.environ[variable]} "
                                 f"overrides the config file and is not this stack's {value}",
                                 f"export {variable}={value} (or unset it)"))
    path = profile.find_config()
    if path is None:
        looked = ", ".join(str(p) for p in profile.config_candidates())
        found.append(Finding(RV_CONFIG, NOTE, f"no Raster Vision config file (looked for {looked})"
                                              f"; `{write}` writes one"))
        return found
    try:
        section = profile.read_batch_section(path)
    except ValueError as e:
        return found + [Finding(RV_CONFIG, PROBLEM, f"{path} cannot be read: {e}",
                                f"Fix or remove the file, then run `{write}`.")]
    if section is None:
        return found + [Finding(RV_CONFIG, PROBLEM, f"{path} has no [BATCH] section, so Raster "
                                                    "Vision cannot submit jobs to this stack",
                                f"Run `{write}`, or paste the stack's {out.RV_CONFIG} output "
                                "into it.")]
    wrong = [(key, section.get(key), value) for key, value in expected.items()
             if section.get(key) != value]
    for key, given, value in wrong:
        found.append(Finding(RV_CONFIG, PROBLEM,
                             f"{path} [BATCH] {key} is "
                             + (quote(given) if given is not None else "missing")
                             + f", not this stack's {value}",
                             f"Run `{write}`, or set `{key} = {value}` in its [BATCH] section."))
    if not wrong:
        whose = (f"this stack's job queues and {job_def_stack}'s job definitions"
                 if job_def_stack else "this stack's job queues and job definitions")
        found.append(Finding(RV_CONFIG, OK, f"{path} names {whose}"))
    return found
