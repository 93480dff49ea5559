"""Run `rv-batch-cfn ARGS` inside the test process, the way a subprocess would see it.

Starting a Python process costs about half a second (most of it importing boto3 and cfn-lint),
and most CLI tests check what needs no process of its own: arguments, output, exit codes, files.
`run` calls `rv_batch_cfn.cli.main(argv)` with the environment, working directory and standard
input given, captures what it prints, and returns a `subprocess.CompletedProcess` like
`subprocess.run(..., capture_output=True, text=True)` would: an argparse error is exit 2 with its
usage message, and an exception that escapes `main` is exit 1 with its traceback on standard
error, as the interpreter would print it.

With `fds=True` the capture is at the level of file descriptors 1 and 2, as a subprocess's pipes
would be: what the command's own children write (docker's push progress) is captured too, in the
order it was written. Tests of what does need a process (the entry point, signals, a closed pipe)
keep using subprocess.
"""

from __future__ import annotations

import contextlib
import io
import os
import tempfile
import subprocess
import sys
import traceback
from pathlib import Path
from typing import Mapping, Optional, Sequence, Union


@contextlib.contextmanager
def _environment(env: Optional[Mapping[str, str]]):
    if env is None:
        yield
        return
    saved = os.environ.copy()
    os.environ.clear()
    os.environ.update(env)
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


@contextlib.contextmanager
def _directory(cwd: Optional[Union[str, Path]]):
    saved = os.getcwd()
    if cwd is not None:
        os.chdir(cwd)
    try:
        yield
    finally:
        os.chdir(saved)


def run(args: Sequence[str], *, env: Optional[Mapping[str, str]] = None,
        cwd: Optional[Union[str, Path]] = None, input: Optional[str] = None,
        fds: bool = False) -> subprocess.CompletedProcess:
    """`rv-batch-cfn ARGS` in this process; see the module's notes."""
    from rv_batch_cfn.cli import main

    saved_stdin = sys.stdin
    sys.stdin = io.StringIO(input or "")
    try:
        with _environment(env), _directory(cwd), _captured(fds) as (out, err):
            try:
                code = main(list(args))
            except SystemExit as e:  # argparse: --help (0) and usage errors (2)
                code = e.code if isinstance(e.code, int) else (0 if e.code is None else 1)
            except Exception:  # noqa: BLE001 - what the interpreter would print and exit with
                traceback.print_exc(file=sys.stderr)
                code = 1
    finally:
        sys.stdin = saved_stdin
    return subprocess.CompletedProcess(["rv-batch-cfn", *args], code, out.getvalue(),
                                       err.getvalue())


@contextlib.contextmanager
def _captured(fds: bool):
    """sys.stdout and sys.stderr captured (and with `fds`, file descriptors 1 and 2 as well);
    yields the two StringIO that hold the text once the block ends."""
    out, err = io.StringIO(), io.StringIO()
    if not fds:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            yield out, err
        return
    saved_streams = sys.stdout, sys.stderr
    with tempfile.TemporaryFile() as out_file, tempfile.TemporaryFile() as err_file:
        saved = [os.dup(1), os.dup(2)]
        sys.stdout.flush()
        sys.stderr.flush()
        os.dup2(out_file.fileno(), 1)
        os.dup2(err_file.fileno(), 2)
        sys.stdout = open(1, "w", encoding="utf-8", closefd=False)
        sys.stderr = open(2, "w", encoding="utf-8", closefd=False)
        try:
            yield out, err
        finally:
            sys.stdout.close()  # flushes; fds 1 and 2 stay open (closefd=False)
            sys.stderr.close()
            sys.stdout, sys.stderr = saved_streams
            os.dup2(saved[0], 1)
            os.dup2(saved[1], 2)
            os.close(saved[0])
            os.close(saved[1])
            for file, text in ((out_file, out), (err_file, err)):
                file.seek(0)
                text.write(file.read().decode("utf-8", "replace"))


def assert_one_clean_error(result: subprocess.CompletedProcess, *fragments: str) -> None:
    """Exit 2 with one error message containing every fragment, and no traceback."""
    assert result.returncode == 2, result.stdout + result.stderr
    assert "Traceback" not in result.stderr, result.stderr
    assert result.stderr.count("error:") == 1, result.stderr
    for fragment in fragments:
        assert fragment in result.stderr, result.stderr
