"""Run `rv-batch-cfn ARGS` inside the test process, the way a subprocess would see it.

Starting a Python process costs about half a second (most of it importing boto3 and cfn-lint),
and most CLI tests check what needs no process of its own: arguments, output, exit codes, files.
`run` calls `rv_batch_cfn.cli.main(argv)` with the environment, working directory and standard
input given, captures what it prints, and returns a `subprocess.CompletedProcess` like
`subprocess.run(..., capture_output=True, text=True)` would: an argparse error is exit 2 with its
usage message, and an exception that escapes `main` is exit 1 with its traceback on standard
error, as the interpreter would print it. Tests of what does need a process (the entry point,
signals, output of child processes such as docker) keep using subprocess.
"""

from __future__ import annotations

import contextlib
import io
import os
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
        cwd: Optional[Union[str, Path]] = None,
        input: Optional[str] = None) -> subprocess.CompletedProcess:
    """`rv-batch-cfn ARGS` in this process; see the module's notes."""
    from rv_batch_cfn.cli import main

    out, err = io.StringIO(), io.StringIO()
    saved_stdin = sys.stdin
    sys.stdin = io.StringIO(input or "")
    try:
        with _environment(env), _directory(cwd), contextlib.redirect_stdout(out), \
                contextlib.redirect_stderr(err):
            try:
                code = main(list(args))
            except SystemExit as e:  # argparse: --help (0) and usage errors (2)
                code = e.code if isinstance(e.code, int) else (0 if e.code is None else 1)
            except Exception:  # noqa: BLE001 - what the interpreter would print and exit with
                traceback.print_exc(file=err)
                code = 1
    finally:
        sys.stdin = saved_stdin
    return subprocess.CompletedProcess(["rv-batch-cfn", *args], code, out.getvalue(),
                                       err.getvalue())
