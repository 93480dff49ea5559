"""`rv-config`: Raster Vision's Batch configuration from the deployed stack."""

from __future__ import annotations

import argparse
import sys

from ..errors import EXIT_OK, RvBatchError
from .common import add_aws_arguments, stack_argument, stderr

# Raster Vision 0.12+ only: the plugin is a runner of current Raster Vision.
RUNNER_HINT = ("hint: run pipelines with `rastervision run batch_retry ...` (the runner installed "
               "with rv-batch-cfn): it retries spot reclaims up to `attempts` times; Raster "
               "Vision's own `batch` runner submits every job with 1 attempt")


def cmd_rv_config(args: argparse.Namespace) -> int:
    """`rv-batch-cfn rv-config`: print (and with --write, save) the Batch configuration."""
    from ..account.rvconfig import (AWS_BATCH, ENV, WRITE_NEEDS_INI, check_config_file,
                                    read_settings, render, write_config)
    from ..account.session import aws_errors, connect

    if args.write and args.format == ENV:
        raise RvBatchError(WRITE_NEEDS_INI)
    if args.write:
        check_config_file(args.format)  # a file it cannot write is refused before AWS is called
    session = connect(args.profile, args.region)
    with aws_errors(f"read stack {args.stack!r}"):
        settings = read_settings(session, args.stack, args.job_def_stack)
    sys.stdout.write(render(settings, args.format))
    if args.write:
        result = write_config(settings, args.format)
        if not result.changed:
            stderr(f"{result.path} already holds this configuration; left unchanged")
        else:
            through = f" (a link to {result.target})" if result.target else ""
            kept = f" (previous file kept as {result.backup})" if result.backup else ""
            stderr(f"wrote the section to {result.path}{through}{kept}")
    if args.format != AWS_BATCH:
        stderr(RUNNER_HINT)
    stderr(f"notifications: on (failed jobs and blocked queues are e-mailed through "
           f"{settings.notification_topic})" if settings.notification_topic else
           "notifications: off (set the stack's NotificationEmail to hear of failed jobs and "
           "blocked queues)")
    return EXIT_OK


def register(sub: argparse._SubParsersAction) -> None:
    """Add the `rv-config` subcommand."""
    from ..account.rvconfig import BATCH, ENV, FORMATS

    p = sub.add_parser(
        "rv-config", help="print or write Raster Vision's Batch configuration from the stack",
        description="Read the deployed stack's outputs and print the Raster Vision Batch "
                    "configuration: the [BATCH] section of current Raster Vision (default), "
                    "the [AWS_BATCH] section of Raster Vision 0.9/0.10, or export lines. "
                    "--write merges the section into $RV_CONFIG, else $RV_CONFIG_DIR/<profile> "
                    "or ~/.rastervision/<profile> (profile: $RV_PROFILE, default 'default'), "
                    "keeping every other section and a backup of the previous file.")
    p.add_argument("--stack", required=True, type=stack_argument,
                   help="name of the main stack (queues)")
    p.add_argument("--job-def-stack", metavar="NAME", type=stack_argument,
                   help="a per-project job-definitions stack to take the job definitions and "
                        "attempts from (queues still come from --stack)")
    p.add_argument("--format", choices=FORMATS, default=BATCH,
                   help="batch: [BATCH] (Raster Vision 0.12+); aws_batch: [AWS_BATCH] (0.9/0.10); "
                        "env: export lines")
    p.add_argument("--env", dest="format", action="store_const", const=ENV,
                   help="same as --format env")
    p.add_argument("--write", action="store_true",
                   help="merge the section into the Raster Vision profile file")
    add_aws_arguments(p)
    p.set_defaults(func=cmd_rv_config)
