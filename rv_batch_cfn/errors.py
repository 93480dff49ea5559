"""One small hierarchy of errors, so the CLI can turn any of them into one clear message, and
the exit codes every command shares (here, below both the library and the command layer, so
neither imports the other for them)."""

from __future__ import annotations

import reprlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Sequence

from .text import plural

EXIT_OK = 0
EXIT_FINDINGS = 1  # the command worked and found problems (lint findings, doctor, a declined plan)
EXIT_ERROR = 2  # bad input, or an error the user can fix (credentials, a missing stack)
EXIT_INTERRUPTED = 130  # Ctrl-C, as a shell reports SIGINT
EXIT_BROKEN_PIPE = 141  # standard output closed early (`| head`), as a shell reports SIGPIPE


# The most characters of a value a message quotes, and the most problems one error lists: a
# crafted file must not make a message (or the work of making it) grow without bound.
QUOTE_LIMIT = 200
PROBLEM_LIMIT = 20


class _Bounded(reprlib.Repr):
    """reprlib's bounded repr, extended to subclasses of str, list and dict (reprlib would call
    their full repr, whatever their size)."""

    def __init__(self) -> None:
        super().__init__()
        self.maxlevel, self.maxdict, self.maxlist, self.maxtuple = 3, 8, 8, 8
        self.maxstring = self.maxother = self.maxlong = QUOTE_LIMIT

    def repr1(self, x: Any, level: int) -> str:
        if isinstance(x, str) and type(x) is not str:
            return self.repr_str(str(x), level)
        if isinstance(x, Mapping) and type(x) is not dict:
            return self.repr_dict(x, level)  # type: ignore[arg-type]
        if isinstance(x, list) and type(x) is not list:
            return self.repr_list(x, level)
        return super().repr1(x, level)

    def repr_int(self, x: int, level: int) -> str:
        if x.bit_length() > 3 * self.maxlong:  # Python refuses to print past 4300 digits
            return f"<an integer of about {int(x.bit_length() * 0.30103) + 1} digits>"
        return super().repr_int(x, level)


def quote(value: Any, limit: int = QUOTE_LIMIT) -> str:
    """repr(value), cut to at most `limit` characters (ending in '…' when cut), and computed
    without building the whole repr of a large value."""
    return shorten(_Bounded().repr(value), limit)


def shorten(text: str, limit: int = QUOTE_LIMIT) -> str:
    """`text`, cut to at most `limit` characters (ending in '…' when cut)."""
    return text if len(text) <= limit else text[:limit - 1] + "…"


class RvBatchError(Exception):
    """Base class of every error this library raises on purpose."""


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a configuration: where, what was given, and what is allowed."""

    field: str
    value: Any
    allowed: str

    def __str__(self) -> str:
        # The field may hold a key from the user's file, and `allowed` a value they gave.
        return (f"{shorten(str(self.field), QUOTE_LIMIT)}: got {quote(self.value)}; "
                f"{shorten(str(self.allowed), 10 * QUOTE_LIMIT)}")


class ConfigError(RvBatchError):
    """A configuration with one or more problems; every problem is listed, not just the first."""

    def __init__(self, problems: Sequence[Problem], source: str = "the configuration"):
        self.problems = tuple(problems)
        count = len(self.problems)
        lines = [f"{plural(count, 'problem')} in {source}:"]
        lines += [f"  - {p}" for p in self.problems[:PROBLEM_LIMIT]]
        if count > PROBLEM_LIMIT:
            lines.append(f"  (and {count - PROBLEM_LIMIT} more)")
        super().__init__("\n".join(lines))


class InputError(RvBatchError):
    """A file or value the user gave cannot be used: unreadable, not a regular file, too large,
    not text, not a well-formed document. Nothing has been changed."""


class Interrupted(RvBatchError):
    """Ctrl-C, with what the user must know (what was undone, or what continues in AWS).
    The command layer exits with EXIT_INTERRUPTED."""


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
