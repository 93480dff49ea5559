"""What every command shares: the config-file option, where lines go (results, progress, JSON),
and asking before acting."""

from __future__ import annotations

import argparse
import json
import re
import sys
from typing import TYPE_CHECKING, Any, Callable, Optional, TextIO

from ..errors import RvBatchError, quote
from .global_options import wants_json

if TYPE_CHECKING:
    from ..config import StackConfig


def stack_argument(value: str) -> str:
    """argparse type of --stack: a stack name (or a stack's ARN)."""
    from ..config.limits import STACK_ARN_PATTERN, STACK_NAME_PATTERN

    if re.fullmatch(STACK_NAME_PATTERN, value) or re.fullmatch(STACK_ARN_PATTERN, value):
        return value
    raise argparse.ArgumentTypeError(
        f"got {quote(value)}; allowed: a stack name (a letter, then letters, digits and "
        "hyphens, at most 128 characters) or a stack's ARN")


# --kind of the commands that act on one compute environment or both: the kinds each choice means.
KIND_CHOICES = {"gpu": ("gpu",), "cpu": ("cpu",), "all": ("gpu", "cpu")}


def whole_number(unit: str) -> Callable[[str], int]:
    """argparse type: a whole number of `unit` (minutes, vCPUs, ...), at least 1."""
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            value = 0
        if value < 1:
            raise argparse.ArgumentTypeError(f"got {text!r}; allowed: a whole number of {unit}, "
                                             "at least 1")
        return value
    return parse


def seconds_above_zero(text: str) -> float:
    """argparse type: a number of seconds above 0 (a polling interval)."""
    try:
        value = float(text)
    except ValueError:
        value = 0.0
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"got {text!r}; allowed: a number of seconds above 0")
    return value


def add_stack_argument(parser: argparse.ArgumentParser, help: str,
                       required: bool = True) -> None:
    """--stack NAME (alias --stack-name, as in `aws cloudformation`), checked by stack_argument:
    every command that reads a stack takes it the same way."""
    parser.add_argument("--stack", "--stack-name", dest="stack", required=required,
                        metavar="NAME", type=stack_argument, help=help)


def print_json(data: Any) -> None:
    """A command's result as JSON on standard output (sorted as given, indented, one document)."""
    print(json.dumps(data, indent=2, default=str))


def progress(args: argparse.Namespace) -> "Printer":
    """Where a command's progress lines go: standard output, unless the result is JSON, which
    then has standard output to itself."""
    return Printer(sys.stderr if wants_json(args) else None)


def stdin_is_terminal() -> bool:
    """Whether a question can be asked: standard input is a terminal."""
    try:
        return sys.stdin is not None and sys.stdin.isatty()
    except (ValueError, AttributeError):  # closed, or replaced by something without isatty
        return False


def require_terminal_or_yes(command: str, action: str, alternative: str = "") -> None:
    """RvBatchError (exit 2) when a question would be needed but standard input is not a
    terminal: a command run by a script never reads its answer from a pipe, and never goes ahead
    unasked; --yes says go ahead."""
    if not stdin_is_terminal():
        raise RvBatchError(f"standard input is not a terminal, so {command} cannot ask before "
                           f"{action}; nothing was done. Pass --yes to go ahead without asking"
                           + (f", or {alternative}" if alternative else ""))


def load_config(path: Optional[str]) -> StackConfig:
    """StackConfig from the --config file; the console defaults when none is given."""
    from ..config import StackConfig
    from ..config.file import load_config_file

    return StackConfig() if path is None else load_config_file(path)


class Printer:
    """A callable that prints one line to `stream` at once (progress a library reports)."""

    def __init__(self, stream: Optional[TextIO] = None):
        self.stream = stream

    def __call__(self, line: str = "") -> None:
        print(line, file=self.stream or sys.stdout, flush=True)


def stderr(line: str = "") -> None:
    """Print a line to standard error (notes, hints and progress beside a command's result)."""
    print(line, file=sys.stderr, flush=True)


def ask_terminal(question: str) -> bool:
    """Ask a yes/no question on the terminal; no answer (end of input) is no."""
    try:
        answer = input(question)
    except EOFError:
        return False
    return answer.strip().lower() in ("y", "yes")
