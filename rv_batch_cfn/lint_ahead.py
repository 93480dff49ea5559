"""cfn-lint made ready in a child process while this one builds and renders the template.

Linting the generated template is most of what `rv-batch-cfn template` does: importing cfn-lint
and loading its rules takes about 0.6 s, the lint itself about 0.8 s, against about 0.2 s to
import the generator, build and render. Those need not wait for each other. `LintAhead` forks a
child at once; the child imports cfn-lint and loads its rules while the parent builds and
renders, then lints the text the parent sends it through a pipe and answers with the findings
(JSON). The findings are those of `lint_template` in this process: the child runs that very
function.

    with LintAhead(regions) as ahead:
        text = render_yaml(build_template(config))
        check_template(text, regions, cache=True, linter=ahead.lint)

Forking is safe only where no other thread runs (a child gets a copy of locks other threads may
hold), so the child is started only on Linux, in a process with one thread; anywhere else, and
whenever the child fails, `lint` simply lints in this process. A child that is not needed (the
lint cache knew the text, or an error came first) is killed when the block ends. Ctrl-C reaches
the child as it reaches the parent, and the parent's end closes the pipe the child waits on: no
child outlives the command.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import threading
from dataclasses import asdict
from typing import Any, Optional, Sequence

from .errors import InputError
from .lint import DEFAULT_REGIONS, LintFinding, lint_template, load_rules


def can_fork() -> bool:
    """Whether this process may fork a child that runs Python code: Linux, one thread."""
    return (sys.platform.startswith("linux") and hasattr(os, "fork")
            and threading.active_count() == 1)


class LintAhead:
    """A child process loading cfn-lint for `regions`, to lint one text; see the module's notes.
    With `fork=False` (or where `can_fork()` is false) no child is started."""

    def __init__(self, regions: Sequence[str] = DEFAULT_REGIONS, fork: bool = True):
        self.regions = list(regions)
        self.pid: Optional[int] = None
        self._text: Optional[int] = None  # the parent's end of the pipe to the child
        self._reply: Optional[int] = None  # and of the pipe back
        if fork and can_fork():
            self._start()

    def __enter__(self) -> "LintAhead":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def lint(self, text: str, regions: Sequence[str]) -> list[LintFinding]:
        """lint_template(text, regions), in the child when there is one for these regions."""
        reply = self._exchange(text) if list(regions) == self.regions else None
        if reply is None:  # no child, or it failed: lint here
            return lint_template(text, regions)
        if "input_error" in reply:
            raise InputError(reply["input_error"])
        return [LintFinding(**finding) for finding in reply["findings"]]

    def close(self) -> None:
        """End the child if it still runs (a lint that was not needed)."""
        for fd in (self._text, self._reply):
            if fd is not None:
                os.close(fd)
        self._text = self._reply = None
        if self.pid is not None:
            try:
                os.kill(self.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self._reap()

    def _start(self) -> None:
        text_in, text_out = os.pipe()
        reply_in, reply_out = os.pipe()
        sys.stdout.flush()  # nothing buffered before the fork may be written twice
        sys.stderr.flush()
        pid = os.fork()
        if pid == 0:
            os.close(text_out)
            os.close(reply_in)
            self._serve(text_in, reply_out)  # never returns
        os.close(text_in)
        os.close(reply_out)
        self.pid, self._text, self._reply = pid, text_out, reply_in

    def _serve(self, text_in: int, reply_out: int) -> None:
        """The child: load cfn-lint, lint what arrives, answer, exit. Any failure ends it
        without an answer (the parent then lints itself); it never returns to the caller's code,
        nor runs the parent's exit handlers."""
        status = 1
        try:
            signal.signal(signal.SIGINT, signal.SIG_DFL)
            load_rules()  # the import and the rules: the part that overlaps the parent's work
            with os.fdopen(text_in, "rb") as pipe:
                data = pipe.read()
            if data:  # nothing: the parent did not need a lint
                try:
                    reply: dict = {"findings": [asdict(f) for f in lint_template(
                        data.decode("utf-8"), self.regions)]}
                except InputError as e:
                    reply = {"input_error": str(e)}
                with os.fdopen(reply_out, "wb") as pipe:
                    pipe.write(json.dumps(reply).encode("utf-8"))
            status = 0
        finally:
            os._exit(status)

    def _exchange(self, text: str) -> Optional[dict]:
        """The child's answer for `text`; None without a child or when it failed."""
        if self._text is None or self._reply is None:
            return None
        data = memoryview(text.encode("utf-8"))
        try:
            while data:
                data = data[os.write(self._text, data):]
        except BrokenPipeError:
            pass  # the child is gone: no answer below
        finally:
            os.close(self._text)
            self._text = None
        with os.fdopen(self._reply, "rb") as pipe:
            self._reply = None
            answer = pipe.read()
        self._reap()
        try:
            reply = json.loads(answer) if answer else None
        except ValueError:
            return None
        return reply if isinstance(reply, dict) else None

    def _reap(self) -> None:
        if self.pid is not None:
            try:
                os.waitpid(self.pid, 0)
            except ChildProcessError:
                pass
            self.pid = None
