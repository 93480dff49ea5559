"""The template layer, pure generation: a StackConfig in, a troposphere Template out. No AWS calls here."""

from __future__ import annotations

from pathlib import Path
from typing import Any

__all__ = ["build_template", "build_job_definitions_template", "TEMPLATE_PATH",
           "JOB_DEFINITIONS_PATH"]

# Where `make template` writes the main template, relative to the project; the default of every
# command that reads or writes it.
TEMPLATE_PATH = Path("cloudformation/template.yml")
JOB_DEFINITIONS_PATH = Path("cloudformation/job-definitions.yml")

# The builders, imported on first use (PEP 562; name -> submodule, the same table as the package's
# own `_API`): a command that only needs the paths above, or one module of this package, does not
# load every part of the template (and troposphere).
_API = {"build_template": "stack_template",
        "build_job_definitions_template": "job_definitions"}


def __getattr__(name: str) -> Any:
    if name not in _API:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    from importlib import import_module

    value = getattr(import_module(f".{_API[name]}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_API})
