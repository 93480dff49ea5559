"""The INI merge behind `rv-config --write`: one section of the Raster Vision profile set,
every other line of the file kept as it was, read as configparser reads it."""

from __future__ import annotations

import configparser
from pathlib import Path
from typing import Mapping, Optional

from ...errors import OutputError, shorten


def ini_lines(lines: list[str]) -> list[tuple[Optional[str], Optional[str]]]:
    """For each line of an INI file, the section it is in (None before the first header) and
    the key whose value it belongs to (None for headers, blank lines and comments), read as
    configparser reads them: a line indented deeper than its key's line continues the value,
    even across blank lines and comments, and so does an indented line that looks like a
    header; lines are split at "\\n" only (as configparser's reader splits them)."""
    found: list[tuple[Optional[str], Optional[str]]] = []
    section: Optional[str] = None
    key: Optional[str] = None
    indent = 0
    pending: list[int] = []  # blank lines and comments seen since the key's last line
    for line in lines:
        value = line.strip()
        if not value or value.startswith(("#", ";")):
            pending.append(len(found))
            found.append((section, None))
            continue
        level = len(line) - len(line.lstrip())
        if key is not None and level > indent:
            for i in pending:  # inside the value: blank lines and comments between its lines
                if not lines[i].strip():
                    found[i] = (section, key)
            pending = []
            found.append((section, key))
            continue
        pending = []
        indent = level
        header = configparser.ConfigParser.SECTCRE.match(value)
        if header:
            section, key = header.group("header"), None
            found.append((section, None))
            continue
        option = configparser.ConfigParser.OPTCRE.match(value)
        key = option.group("option").rstrip().lower() if option and section is not None else None
        found.append((section, key))
    return found


def merge_section(text: str, name: str, values: Mapping[str, str]) -> str:
    """`text` (an INI file) with section `name` holding `values`: a key already there has its
    whole value replaced (continuation lines included), missing keys are added at the end of
    the section, and every other line (other keys, other sections, comments) is kept as it
    was. The section is found whatever the case of its name (which is kept); a missing section
    is appended. Lines are read as configparser reads them (see ini_lines)."""
    lines = text.split("\n")
    if lines[-1] == "":
        lines.pop()
    owners = ini_lines(lines)
    # Raster Vision (Everett) reads section names without regard to case: [batch] is [BATCH].
    in_section = [i for i, (sec, _) in enumerate(owners)
                  if sec is not None and sec.lower() == name.lower()]
    if not in_section:
        gap = [""] if lines and lines[-1].strip() else []
        body = [f"{key} = {value}" for key, value in values.items()]
        return "\n".join([*lines, *gap, f"[{name}]", *body]) + "\n"
    start = in_section[0]
    end = next((i for i in range(start + 1, len(lines)) if owners[i][0] != owners[start][0]),
               len(lines))
    wanted = {key.lower(): (key, value) for key, value in values.items()}
    done: set[str] = set()
    kept = []
    for line, (_, key) in zip(lines[start + 1:end], owners[start + 1:end]):
        if key in wanted:
            if key not in done:
                # The key line keeps its indentation: a shallower one could turn the lines
                # that follow into a continuation of this value. A duplicate key would shadow
                # the new value, so it goes.
                eol = "\r" if line.endswith("\r") else ""
                indent = line[:len(line) - len(line.lstrip())]
                kept.append(f"{indent}{wanted[key][0]} = {wanted[key][1]}{eol}")
                done.add(key)
            continue
        kept.append(line)
    # New keys go after the section's last non-blank line, before the blank lines that
    # separate it from the next section.
    last = max((i for i, line in enumerate(kept) if line.strip()), default=-1) + 1
    kept[last:last] = [f"{k} = {v}" for low, (k, v) in wanted.items() if low not in done]
    return "\n".join(lines[:start + 1] + kept + lines[end:]) + "\n"


def section_values(text: str, name: str) -> dict[str, str]:
    """The keys (lower-case) and values of section `name`, in any case, of INI `text`."""
    parser = configparser.ConfigParser(interpolation=None, strict=False)
    try:
        parser.read_string(text)
    except configparser.Error:
        return {}
    found = next((s for s in parser.sections() if s.lower() == name.lower()), None)
    return dict(parser[found]) if found else {}


def check_ini(path: Path, text: str, name: str) -> None:
    """OutputError unless `text` reads as INI (configparser, strict: section headers, no
    duplicate sections or keys) with at most one section called `name` in any case."""
    parser = configparser.ConfigParser(interpolation=None)
    try:
        parser.read_string(text, source=str(path))
    except configparser.Error as e:
        raise OutputError(f"cannot merge into the Raster Vision config {path}: it is not a "
                          f"valid INI file ({ini_problem(e, text)}); fix it (or set RV_CONFIG "
                          "to another file) and run this again. The file was left unchanged"
                          ) from None
    same = [s for s in parser.sections() if s.lower() == name.lower()]
    if len(same) > 1:
        raise OutputError(f"cannot merge into the Raster Vision config {path}: it has sections "
                          f"{', '.join(f'[{s}]' for s in same)}, which Raster Vision reads as "
                          "one (section names are not case-sensitive to it); keep one and run "
                          "this again. The file was left unchanged")


def ini_problem(error: configparser.Error, text: str) -> str:
    """What configparser refused, as "line N: '<the line>': <why>"."""
    number: Optional[int] = getattr(error, "lineno", None)
    why = " ".join(str(error).split())
    if isinstance(error, configparser.MissingSectionHeaderError):
        why = "a key before the first [section] header"
    elif isinstance(error, configparser.ParsingError) and getattr(error, "errors", None):
        number = error.errors[0][0]
        why = "neither a [section] header, a key = value line nor a comment"
    elif isinstance(error, configparser.DuplicateOptionError):
        why = f"key {error.option!r} is already in section [{error.section}]"
    elif isinstance(error, configparser.DuplicateSectionError):
        why = f"section [{error.section}] is already in the file"
    lines = text.split("\n")
    if not number or number > len(lines):
        return shorten(why, 300)
    return f"line {number}: {shorten(lines[number - 1].strip(), 80)!r}: {why}"
