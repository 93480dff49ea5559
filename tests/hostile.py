"""Hostile inputs, and how a command must refuse them: exit 2, one message, no traceback, nothing
written. Shared by the tests of the commands that read files and values (tests/test_hostile_
inputs.py without AWS, tests/aws/test_hostile_inputs.py with the emulator).

The commands run in this process (`rv_batch_cfn.cli.main`), so the suite stays fast; a guard
turns a hang (a named pipe opened for reading blocks until a writer comes) into a failure.
"""

from __future__ import annotations

import dataclasses
import functools
import os
import re
import signal
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Optional

import pytest

from rv_batch_cfn.cli import main
from rv_batch_cfn.config import StackConfig
from rv_batch_cfn.errors import PROBLEM_LIMIT, QUOTE_LIMIT
from rv_batch_cfn.inputs import MAX_BYTES, MAX_DEPTH


def _laughs(levels: int = 9) -> str:
    """The "billion laughs": nine aliases of nine make 9**9 values from a few hundred bytes."""
    lines = ["l0: &l0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    for i in range(1, levels):
        lines.append(f"l{i}: &l{i} [" + ", ".join([f"*l{i - 1}"] * 9) + "]")
    return "\n".join(lines) + "\n"


@dataclass(frozen=True)
class Content:
    """A file's bytes and a fragment the refusal must contain."""

    name: str
    data: bytes
    says: str


# Every YAML/JSON reader gets these. `{key}` is a key the reader expects at the top.
DOCUMENTS = [
    Content("undecodable", "prefix: caf\u00e9\n".encode("latin-1"), "is not UTF-8 text"),
    Content("huge", b"# " + b"x" * MAX_BYTES + b"\n", "larger than 1 MiB"),
    Content("deeply-nested", ("a: " + "[" * (MAX_DEPTH + 5) + "]" * (MAX_DEPTH + 5)).encode(),
            f"nested more than {MAX_DEPTH} levels deep"),
    Content("deeply-nested-json", (b'{"a": ' * 5000) + b"1" + (b"}" * 5000),
            f"nested more than {MAX_DEPTH} levels deep"),
    Content("billion-laughs", _laughs().encode(), "a YAML alias (*l0)"),
    Content("duplicate-key", b"Resources: {}\nprefix: a\nprefix: b\n",
            "line 3, column 1: duplicate key 'prefix' (first at line 2)"),
    Content("duplicate-key-json", b'{"Resources": {}, "Resources": {}}',
            "duplicate key 'Resources'"),
    Content("huge-integer", b"max_vcpus: " + b"9" * 5000 + b"\n", "a value cannot be read"),
    Content("not-yaml", b"prefix: [unclosed\n", "not valid YAML or JSON: line 2, column 1"),
]
# Text files that are not documents (settings.mk, the Raster Vision profile) get these.
TEXTS = [c for c in DOCUMENTS if c.name in ("undecodable", "huge")]


@dataclass(frozen=True)
class Kind:
    """Something at a path that is not a regular file (or nothing at all)."""

    name: str
    make: Callable[[Path], Path]
    says: str


def _fifo(path: Path) -> Path:
    os.mkfifo(path)
    return path


def _directory(path: Path) -> Path:
    path.mkdir()
    return path


def _link_to_fifo(path: Path) -> Path:
    target = _fifo(path.with_name(path.name + ".pipe"))
    path.symlink_to(target)
    return path


KINDS = [
    Kind("directory", _directory, "it is a directory, not a regular file"),
    Kind("named-pipe", _fifo, "it is a named pipe (FIFO), not a regular file"),
    Kind("link-to-a-named-pipe", _link_to_fifo, "it is a named pipe (FIFO)"),
    Kind("endless-device", lambda _: Path("/dev/zero"), "it is a character device"),
    Kind("missing", lambda path: path, "no such file"),
]


def hostile_file(tmp_path: Path, case, name: str = "input.yml") -> Path:
    """A path holding `case` (a Content or a Kind)."""
    path = tmp_path / name
    if isinstance(case, Content):
        path.write_bytes(case.data)
        return path
    return case.make(path)


def run(capsys, *argv: str) -> tuple[int, str, str]:
    """`rv-batch-cfn ARGV` in this process: exit code, standard output, standard error."""
    try:
        code = main(list(argv))
    except SystemExit as e:  # argparse refuses a value
        code = e.code
    out, err = capsys.readouterr()
    return code, out, err


@functools.cache
def allowed_names_length() -> int:
    """The length of the longer list an error may name as allowed: StackConfig's keys or the
    template's parameters."""
    from rv_batch_cfn import build_template

    names = [[f.name for f in dataclasses.fields(StackConfig)],
             list(build_template().to_dict()["Parameters"])]
    return max(len(", ".join(n)) for n in names)


def assert_refused(result: tuple[int, str, str], *fragments: str) -> str:
    """Exit 2, one error message holding every fragment, no traceback; returns the message."""
    code, out, err = result
    assert code == 2, (code, out, err)
    assert "Traceback" not in err, err
    assert len(re.findall(r"rv-batch-cfn[\w -]*: error: ", err)) == 1, err
    for fragment in fragments:
        assert fragment in err, err
    # A bounded message, whatever the input: at most PROBLEM_LIMIT problems listed, each line
    # quoting at most QUOTE_LIMIT characters of a value, and naming what is allowed (the
    # configuration's keys or the template's parameters, lists that grow with the product).
    lines = err.splitlines()
    assert len(lines) <= PROBLEM_LIMIT + 5, err
    assert max(map(len, lines)) < 3 * QUOTE_LIMIT + allowed_names_length(), err
    return err


def snapshot(folder: Path) -> dict[str, Optional[bytes]]:
    """What is in `folder` (not following links): names and the bytes of regular files."""
    found: dict[str, Optional[bytes]] = {}
    for path in sorted(folder.rglob("*")):
        regular = path.is_file() and not path.is_symlink()
        found[str(path.relative_to(folder))] = path.read_bytes() if regular else None
    return found


@pytest.fixture
def no_hang():
    """Fail, rather than hang, when a command blocks (on a named pipe, an endless device)."""
    def expire(signum, frame):
        raise AssertionError("the command hung")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, 30)
    yield
    signal.setitimer(signal.ITIMER_REAL, 0)
    signal.signal(signal.SIGALRM, previous)


# Output paths that are not a writable file: (make it at a path, what the refusal says).
def _read_only(path: Path) -> Path:
    path.write_text("protected\n")
    path.chmod(0o444)
    return path


def _link_loop(path: Path) -> Path:
    path.symlink_to(path.with_name("other"))
    path.with_name("other").symlink_to(path)
    return path


def _under_a_file(path: Path) -> Path:
    path.write_text("a file\n")
    return path / "template.yml"


TARGETS = {
    "directory": (lambda p: (p.mkdir(), p)[1], "it is a directory, not a regular file"),
    "named-pipe": (lambda p: (os.mkfifo(p), p)[1], "it is a named pipe (FIFO)"),
    "device": (lambda p: Path("/dev/null"), "/dev/null: it is a character device"),
    "read-only": (_read_only, "it is read-only (mode -r--r--r--); make it writable"),
    "link-loop": (_link_loop, "Too many levels of symbolic links"),
    "under-a-file": (_under_a_file, "a parent of it is a file, not a directory"),
}
