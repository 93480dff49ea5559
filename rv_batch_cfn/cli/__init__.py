"""The command layer: `rv-batch-cfn COMMAND ...`. Each module here parses one group of commands'
arguments, calls the library (rv_batch_cfn.template, rv_batch_cfn.aws), prints, and returns an
exit code (rv_batch_cfn.errors). Library errors become one message and exit 2, never a traceback.
"""

from __future__ import annotations

import argparse
import os
import sys
import traceback
from typing import Callable, Optional, Sequence

from ..errors import EXIT_BROKEN_PIPE, EXIT_ERROR, EXIT_INTERRUPTED, Interrupted, RvBatchError
from . import (ami, costs, deploy, doctor, generate, global_options, jobs, permissions, publish,
               request_quota, rerun, resume, rv_config, smoke, subnets, teardown)
from .common import stderr

# Each module registers its subcommands; `rv-batch-cfn --help` lists them in this order.
REGISTRARS: list[Callable[[argparse._SubParsersAction], None]] = [
    generate.register, rv_config.register, deploy.register, publish.register, ami.register,
    doctor.register, request_quota.register, subnets.register, jobs.register, rerun.register,
    costs.register,
    teardown.register, resume.register,
    smoke.register, permissions.register]


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of every subcommand; each accepts the global options
    (cli/global_options.py) before or after its name."""
    parser = argparse.ArgumentParser(
        prog="rv-batch-cfn",
        description="Set up AWS Batch for Raster Vision: generate the CloudFormation template "
                    "and work with the deployed stack.")
    global_options.add_to_top(parser)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True,
                                parser_class=global_options.CommandParser)
    for register in REGISTRARS:
        register(sub)
    return parser


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Entry point of the console script; returns the exit code (also for --help, --version
    and usage errors, which argparse ends with SystemExit)."""
    try:
        try:
            args = build_parser().parse_args(argv)
        except SystemExit as e:
            return e.code if isinstance(e.code, int) else (0 if e.code is None else EXIT_ERROR)
        with global_options.applied(args):
            code = _run(args)
        sys.stdout.flush()  # here, where a closed pipe can still be handled
        return code
    except BrokenPipeError:
        # The reader went away (`doctor --json | head`): stop quietly, as `yes | head` does.
        _discard_stdout()
        return EXIT_BROKEN_PIPE


def _run(args: argparse.Namespace) -> int:
    """Run the command; library errors become one message and exit 2, never a traceback
    (unless --debug asks for it)."""
    from ..aws.clients.timeouts import report_slow_calls

    report_slow_calls(stderr)  # a line every few seconds while an AWS call hangs or retries
    try:
        return args.func(args)
    except Interrupted as e:
        print(f"rv-batch-cfn {args.command}: interrupted: {e}", file=sys.stderr)
        return EXIT_INTERRUPTED
    except RvBatchError as e:
        if args.debug:
            traceback.print_exc()
        print(f"rv-batch-cfn {args.command}: error: {e}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        print(f"rv-batch-cfn {args.command}: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        raise
    except Exception as e:
        # A safety net: an AWS failure a command did not anticipate (a dropped connection, a
        # throttled call) is still one message, not a traceback. Anything else is a bug.
        if not type(e).__module__.startswith("botocore"):
            raise
        from ..aws.clients.session import aws_error

        if args.debug:
            traceback.print_exc()
        print(f"rv-batch-cfn {args.command}: error: {aws_error('call AWS', e)}", file=sys.stderr)
        return EXIT_ERROR


def _discard_stdout() -> None:
    """Point standard output at /dev/null, so the interpreter's last flush at exit does not
    fail on the closed pipe again."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):
        pass  # not a real file (a test's captured output): nothing will be flushed to a pipe
