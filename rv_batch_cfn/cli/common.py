"""What every command shares: the AWS options, the config-file option, and where lines go."""

from __future__ import annotations

import argparse
import re
import sys
from typing import Optional, TextIO

from ..config import StackConfig
from ..errors import quote
from ..config_file import load_config_file


def add_aws_arguments(parser: argparse.ArgumentParser) -> None:
    """--profile and --region for a command that calls AWS; they override AWS_PROFILE and
    AWS_REGION / AWS_DEFAULT_REGION, as in the AWS CLI."""
    parser.add_argument("--profile",
                        help="AWS profile (default: AWS_PROFILE, else the default profile)")
    parser.add_argument("--region", type=region_argument,
                        help="AWS region (default: AWS_REGION / AWS_DEFAULT_REGION, else the "
                             "profile's)")


def region_argument(value: str) -> str:
    """argparse type of --region: a well-formed region name ('' for the default)."""
    from ..account.session import region_problem

    problem = value and region_problem(value)
    if problem:
        raise argparse.ArgumentTypeError(problem)
    return value


# CloudFormation's rules for a stack name; a stack id (its ARN) names a stack too.
_STACK_NAME = re.compile(r"[A-Za-z][-A-Za-z0-9]{0,127}")
_STACK_ARN = re.compile(r"arn:[-a-z]+:cloudformation:[-a-z0-9]+:\d{12}:stack/[-A-Za-z0-9/]{1,300}")


def stack_argument(value: str) -> str:
    """argparse type of --stack: a stack name (or a stack's ARN)."""
    if _STACK_NAME.fullmatch(value) or _STACK_ARN.fullmatch(value):
        return value
    raise argparse.ArgumentTypeError(
        f"got {quote(value)}; allowed: a stack name (a letter, then letters, digits and "
        "hyphens, at most 128 characters) or a stack's ARN")


def add_json_argument(parser: argparse.ArgumentParser, what: str) -> None:
    """--json for a command that prints results."""
    parser.add_argument("--json", action="store_true", help=f"print {what} as JSON")


def load_config(path: Optional[str]) -> StackConfig:
    """StackConfig from the --config file; the console defaults when none is given."""
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
