"""One setting of a Makefile settings file (settings.mk) set the way make reads the file: an
assignment continued over several lines (a line ending in a backslash) is replaced whole, lines
inside `define ... endef` are values rather than assignments, and a line added at the end never
continues the line before it. What cannot be set to one value (`NAME += ...` appends to it) is
refused, naming the line."""

from __future__ import annotations

import re
from typing import Iterator, Optional

from ...errors import InputError, shorten

_DEFINE = re.compile(r"^[ \t]*(?:(?:override|export)[ \t]+)*define[ \t]")
_ENDEF = re.compile(r"^[ \t]*endef\b")


def _continued(line: str) -> bool:
    """Whether make joins the next line to this one: an odd number of trailing backslashes."""
    return (len(line) - len(line.rstrip("\\"))) % 2 == 1


def logical_lines(lines: list[str]) -> Iterator[tuple[int, int, bool]]:
    """(first, last + 1, whether it is in a define block) for each logical line of `lines`."""
    start, in_define = 0, False
    for i, line in enumerate(lines):
        if _continued(line) and i + 1 < len(lines):
            continue
        first = lines[start]
        if in_define:
            yield start, i + 1, True
            in_define = not _ENDEF.match(first)
        else:
            in_define = bool(_DEFINE.match(first))
            yield start, i + 1, in_define
        start = i + 1


def _assignment(name: str) -> re.Pattern:
    return re.compile(rf"^(?P<head>[ \t]*(?:override[ \t]+|export[ \t]+)*{re.escape(name)}"
                      r"[ \t]*(?P<op>::=|:=|\?=|\+=|!=|=)[ \t]*)(?P<value>[^#]*?)"
                      r"(?P<tail>[ \t]*(?:#.*)?)$")


def appending_line(text: str, name: str) -> Optional[str]:
    """Why `name` cannot be set to one value in `text` ("line N: '...': ..."), or None."""
    lines = text.split("\n")
    pattern = _assignment(name)
    for first, _, in_define in logical_lines(lines):
        match = None if in_define else pattern.match(lines[first])
        if match and match["op"] in ("+=", "!="):
            what = "appends to" if match["op"] == "+=" else "runs a shell command for"
            return (f"line {first + 1}: {shorten(lines[first].strip(), 80)!r} {what} {name}, "
                    "so no one value can be written; remove that line")
    return None


def set_variable(text: str, name: str, value: str) -> tuple[str, Optional[str], int]:
    """`text` with every assignment of `name` set to `value` (each keeps its operator and, on a
    one-line assignment, its comment); the previous value of the first; how many were set.
    When there is none, `NAME ?= value` is added at the end (`?=`: the environment and the
    command line still win over the file). InputError when a line appends to `name`."""
    problem = appending_line(text, name)
    if problem:
        raise InputError(f"cannot set {name} in the settings file: {problem}")
    lines = text.split("\n")
    pattern = _assignment(name)
    out: list[str] = []
    previous, count = None, 0
    for first, end, in_define in logical_lines(lines):
        match = None if in_define else pattern.match(lines[first])
        if not match:
            out.extend(lines[first:end])
            continue
        if previous is None:
            # As make reads a continued value: its lines joined by one space.
            parts = [match["value"], *lines[first + 1:end]] if end - first > 1 else []
            previous = " ".join(p.rstrip("\\").strip() for p in parts) if parts else \
                match["value"]
        # A continued assignment is replaced whole; its comment, if any, went with it.
        tail = match["tail"] if end - first == 1 else ""
        out.append(match["head"] + value + tail)
        count += 1
    if count:
        return "\n".join(out), previous, count
    added = f"{name} ?= {value}"
    ended = bool(lines) and lines[-1] == ""
    body = lines[:-1] if ended else lines
    if body and _continued(body[-1]):
        # The file ends in a backslash, which would swallow a line added after it (or, with no
        # newline after it, is a value make keeps): the setting goes before that last line,
        # or, when that line ends a define block, after an empty line that ends it.
        first, _, in_define = list(logical_lines(body))[-1]
        if not in_define:
            return "\n".join([*body[:first], added, *lines[first:]]), previous, count
        return "\n".join([*body, "", added, ""]), previous, count
    return "\n".join([*body, added, ""]), previous, count
