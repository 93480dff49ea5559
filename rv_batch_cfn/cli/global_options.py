"""The options every command accepts, before or after its name, as in the AWS CLI:
`rv-batch-cfn --region eu-west-1 doctor --stack rv` and `rv-batch-cfn doctor --stack rv
--region eu-west-1` are the same command.

They are added to the top-level parser and, after every command has registered, to each
command's parser too, so a command added later gets them without doing anything. The copy on a
command's parser defaults to argparse.SUPPRESS: an option given before the command is not
overwritten by the command's default. A command may define an option of the same name for its
own meaning (`template -o/--output FILE`, `lint --region` to check against): its own then wins,
after the command name.
"""

from __future__ import annotations

import argparse
import logging
import platform
import sys
from contextlib import contextmanager
from typing import Any, Iterator

from .. import __version__

TEXT, JSON = "text", "json"
OUTPUT_FORMATS = (TEXT, JSON)
TITLE = "global options (accepted before or after the command)"
EXIT_STATUS = (
    "Exit status, the same for every command: 0 done; 1 the command worked and found problems "
    "(lint findings, doctor problems, no subnet to recommend, a change set declined); 2 an error "
    "to fix (bad arguments or input, credentials, a missing stack, AWS refused or a deployment "
    "failed); 130 interrupted (Ctrl-C); 141 standard output was closed early (| head).")
VERSION = f"rv-batch-cfn {__version__} Python/{platform.python_version()}"
# The loggers --debug shows: the AWS SDK's requests and responses, and this package's own.
DEBUG_LOGGERS = ("botocore", "boto3", "urllib3", "rv_batch_cfn")


def _options() -> list[tuple[tuple[str, ...], dict[str, Any]]]:
    return [
        (("--profile",), dict(dest="profile", metavar="NAME",
                              help="AWS profile (default: AWS_PROFILE, else the default "
                                   "credentials)")),
        (("--region",), dict(dest="region", metavar="REGION", type=region_argument,
                             help="AWS region (default: AWS_REGION / AWS_DEFAULT_REGION, else the "
                                  "profile's)")),
        (("--endpoint-url",), dict(dest="endpoint_url", metavar="URL",
                                   help="send every AWS request to URL (a VPC endpoint, an "
                                        "emulator), ahead of AWS_ENDPOINT_URL")),
        (("--output",), dict(dest="output_format", choices=OUTPUT_FORMATS,
                             help="format of the result on standard output: text (default) or "
                                  "json; progress and messages go to standard error")),
        (("--json",), dict(dest="output_format", action="store_const", const=JSON,
                           help="same as --output json")),
        (("--debug",), dict(dest="debug", action="store_true",
                            help="log every AWS request and response (botocore's debug log) on "
                                 "standard error, and show the traceback of an error")),
    ]


def region_argument(value: str) -> str:
    """argparse type of --region: a well-formed region name ('' for the default)."""
    from ..aws.clients.session import region_problem

    problem = value and region_problem(value)
    if problem:
        raise argparse.ArgumentTypeError(problem)
    return value


def add_to_top(parser: argparse.ArgumentParser) -> None:
    """The global options on the top-level parser, with their real defaults, and --version."""
    group = parser.add_argument_group(TITLE)
    for flags, spec in _options():
        group.add_argument(*flags, **spec)
    group.add_argument("--version", action="version", version=VERSION,
                       help="print the version and exit")
    parser.set_defaults(profile=None, region=None, endpoint_url=None, output_format=None,
                        debug=False)
    parser.epilog = ((parser.epilog + " ") if parser.epilog else "") + EXIT_STATUS


def add_to_command(parser: argparse.ArgumentParser) -> None:
    """The global options on one command's parser, defaulting to SUPPRESS; the exit status in
    its help. An option the command already has keeps the command's meaning; if it stores to
    the same place as the global one (an older `--json`), only its default is suppressed."""
    group = parser.add_argument_group(TITLE)
    taken = parser._option_string_actions  # argparse's own table: option string -> action
    for flags, spec in _options():
        existing = [taken[f] for f in flags if f in taken]
        if existing:
            for action in existing:
                if action.dest == spec["dest"]:
                    action.default = argparse.SUPPRESS
            continue
        group.add_argument(*flags, **spec, default=argparse.SUPPRESS)
    if "--version" not in taken:
        group.add_argument("--version", action="version", version=VERSION,
                           help=argparse.SUPPRESS)
    parser.epilog = ((parser.epilog + " ") if parser.epilog else "") + EXIT_STATUS


def add_to_commands(sub: argparse._SubParsersAction) -> None:
    """add_to_command for every command registered on `sub` (aliases share one parser)."""
    seen: set[int] = set()
    for parser in sub.choices.values():
        if id(parser) not in seen:
            seen.add(id(parser))
            add_to_command(parser)


def wants_json(args: argparse.Namespace) -> bool:
    """Whether the result is to be printed as JSON (--output json, or --json, the global one or
    a command's own)."""
    return getattr(args, "output_format", None) == JSON or getattr(args, "json", False) is True


@contextmanager
def applied(args: argparse.Namespace) -> Iterator[None]:
    """Apply the global options for the duration of one command: the debug log on standard
    error. Everything is put back afterwards, so a caller running several commands in one
    process (tests) sees no trace of the previous. (--endpoint-url is passed to the session
    factory by each command, not set in the environment.)"""
    # Commands written before the global --output read args.json; one with a --json of its own
    # keeps what it parsed.
    args.json = wants_json(args)
    handler, levels = None, {}
    if args.debug:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(asctime)s %(name)s [%(levelname)s] "
                                               "%(message)s"))
        for name in DEBUG_LOGGERS:
            logger = logging.getLogger(name)
            levels[name] = logger.level
            logger.setLevel(logging.DEBUG)
            logger.addHandler(handler)
        logging.getLogger("rv_batch_cfn").debug("%s; arguments %s", VERSION, vars(args))
    try:
        yield
    finally:
        if handler is not None:
            for name, level in levels.items():
                logging.getLogger(name).removeHandler(handler)
                logging.getLogger(name).setLevel(level)
