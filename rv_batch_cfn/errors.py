"""One small hierarchy of errors, so the CLI can turn any of them into one clear message, and
the exit codes every command shares (here, below both the library and the command layer, so
neither imports the other for them)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

EXIT_OK = 0
EXIT_FINDINGS = 1  # the command worked and found problems (lint findings, doctor, a declined plan)
EXIT_ERROR = 2  # bad input, or an error the user can fix (credentials, a missing stack)
EXIT_INTERRUPTED = 130  # Ctrl-C, as a shell reports SIGINT
EXIT_BROKEN_PIPE = 141  # standard output closed early (`| head`), as a shell reports SIGPIPE


class RvBatchError(Exception):
    """Base class of every error this library raises on purpose."""


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a configuration: where, what was given, and what is allowed."""

    field: str
    value: Any
    allowed: str

    def __str__(self) -> str:
        return f"{self.field}: got {self.value!r}; {self.allowed}"


class ConfigError(RvBatchError):
    """A configuration with one or more problems; every problem is listed, not just the first."""

    def __init__(self, problems: Sequence[Problem], source: str = "the configuration"):
        self.problems = tuple(problems)
        count = len(self.problems)
        lines = [f"{count} problem{'s' if count != 1 else ''} in {source}:"]
        lines += [f"  - {p}" for p in self.problems]
        super().__init__("\n".join(lines))


class LintError(RvBatchError):
    """cfn-lint reported errors or warnings on a generated template."""

    def __init__(self, findings: Sequence[Any]):
        self.findings = tuple(findings)
        lines = [f"cfn-lint reported {len(self.findings)} finding(s):"]
        lines += [f"  - {f}" for f in self.findings]
        super().__init__("\n".join(lines))


class OutputError(RvBatchError):
    """A file could not be written (the previous file, if any, is left untouched)."""


class PackerError(RvBatchError):
    """Packer is missing, refused the template, or failed to build."""


class AwsError(RvBatchError):
    """A call to AWS failed in a way the user can fix (credentials, missing stack, ...)."""


class DockerError(RvBatchError):
    """Docker is missing, its daemon is not running, or a docker command failed."""
