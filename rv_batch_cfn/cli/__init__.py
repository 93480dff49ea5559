"""The command layer: `rv-batch-cfn COMMAND ...`. Each module here parses one group of commands'
arguments, calls the library (rv_batch_cfn.template, rv_batch_cfn.account), prints, and returns an
exit code (rv_batch_cfn.errors). Library errors become one message and exit 2, never a traceback.
"""

from __future__ import annotations

import argparse
import sys
from typing import Callable, Optional, Sequence

from ..errors import EXIT_ERROR, EXIT_INTERRUPTED, Interrupted, RvBatchError
from . import ami, deploy, doctor, generate, jobs, publish, rvconfig, smoke, subnets
from .common import stderr

# Each module registers its subcommands; `rv-batch-cfn --help` lists them in this order.
REGISTRARS: list[Callable[[argparse._SubParsersAction], None]] = [
    generate.register, rvconfig.register, deploy.register, publish.register, ami.register,
    doctor.register, subnets.register, jobs.register, smoke.register]


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of every subcommand."""
    parser = argparse.ArgumentParser(
        prog="rv-batch-cfn",
        description="Set up AWS Batch for Raster Vision: generate the CloudFormation template "
                    "and work with the deployed stack.")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for register in REGISTRARS:
        register(sub)
    return parser


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Entry point of the console script; returns the exit code."""
    args = build_parser().parse_args(argv)
    from ..account.waits import report_slow_calls

    report_slow_calls(stderr)  # a line every few seconds while an AWS call hangs or retries
    try:
        return args.func(args)
    except Interrupted as e:
        print(f"rv-batch-cfn {args.command}: interrupted: {e}", file=sys.stderr)
        return EXIT_INTERRUPTED
    except RvBatchError as e:
        print(f"rv-batch-cfn {args.command}: error: {e}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        print(f"rv-batch-cfn {args.command}: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except Exception as e:
        # A safety net: an AWS failure a command did not anticipate (a dropped connection, a
        # throttled call) is still one message, not a traceback. Anything else is a bug.
        if not type(e).__module__.startswith("botocore"):
            raise
        from ..account.session import aws_error

        print(f"rv-batch-cfn {args.command}: error: {aws_error('call AWS', e)}", file=sys.stderr)
        return EXIT_ERROR
