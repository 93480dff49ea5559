"""`rv-config`: Raster Vision's Batch configuration from the deployed stack."""

from __future__ import annotations

import argparse
import sys

from ..errors import EXIT_OK, RvBatchError
from .common import add_stack_argument, print_json, stack_argument, stderr
from .global_options import wants_json

# Raster Vision 0.12+ only: the plugin is a runner of current Raster Vision.
RUNNER_HINT = ("hint: run pipelines with `rastervision run batch_retry ...` (the runner installed "
               "with rv-batch-cfn): it retries spot reclaims up to `attempts` times; Raster "
               "Vision's own `batch` runner submits every job with 1 attempt")


def cmd_rv_config(args: argparse.Namespace) -> int:
    """`rv-batch-cfn rv-config`: print (and with --write, save) the Batch configuration."""
    from ..aws.rv_config.profile import (AWS_BATCH, BATCH, ENV, WRITE_NEEDS_INI, check_config_file,
                                    read_settings, render, section, write_config)
    from ..aws.clients.session import aws_errors, connect

    if args.write and args.format == ENV:
        raise RvBatchError(WRITE_NEEDS_INI)
    if args.write:
        check_config_file(args.format)  # a file it cannot write is refused before AWS is called
    session = connect(args.profile, args.region, args.endpoint_url)
    with aws_errors(f"read stack {args.stack!r}"):
        settings = read_settings(session, args.stack, args.job_def_stack)
    result = write_config(settings, args.format) if args.write else None
    if wants_json(args):
        name, values = section(settings, AWS_BATCH if args.format == AWS_BATCH else BATCH)
        print_json({"stack": args.stack, "job_def_stack": args.job_def_stack,
                    "section": name, "values": values,
                    "environment": {f"BATCH_{k.upper()}": v for k, v in values.items()},
                    "written": None if result is None else _written(result)})
    else:
        sys.stdout.write(render(settings, args.format))
    if result is not None:
        _report_write(result)
    if args.format != AWS_BATCH:
        stderr(RUNNER_HINT)
    stderr(f"notifications: on (failed jobs and blocked queues are e-mailed through "
           f"{settings.notification_topic})" if settings.notification_topic else
           "notifications: off (set the stack's NotificationEmail to hear of failed jobs and "
           "blocked queues)")
    return EXIT_OK


def _written(result) -> dict:
    return {"path": str(result.path), "changed": result.changed,
            "backup": str(result.backup) if result.backup else None,
            "changes": [{"key": k, "old": old, "new": new} for k, old, new in result.changes]}


def _report_write(result) -> None:
    """Where the section went, and each key it changed, old -> new."""
    if not result.changed:
        stderr(f"{result.path} already holds this configuration; left unchanged")
        return
    through = f" (a link to {result.target})" if result.target else ""
    kept = f" (previous file kept as {result.backup})" if result.backup else ""
    stderr(f"wrote the section to {result.path}{through}{kept}")
    for key, old, new in result.changes:
        # A value continued over several lines is shown on one, its line breaks as \n.
        shown = "(missing)" if old is None else old.replace("\n", "\\n")
        stderr(f"  {key}: {shown} -> {new}")


def register(sub: argparse._SubParsersAction) -> None:
    """Add the `rv-config` subcommand."""
    from ..aws.rv_config import BATCH, ENV, FORMATS

    p = sub.add_parser(
        "rv-config", help="print or write Raster Vision's Batch configuration from the stack",
        description="Read the deployed stack's outputs and print the Raster Vision Batch "
                    "configuration: the [BATCH] section of current Raster Vision (default), "
                    "the [AWS_BATCH] section of Raster Vision 0.9/0.10, or export lines. "
                    "--write merges the section into $RV_CONFIG, else $RV_CONFIG_DIR/<profile> "
                    "or ~/.rastervision/<profile> (profile: $RV_PROFILE, default 'default'), "
                    "keeping every other section and a backup of the previous file.")
    add_stack_argument(p, "name of the main stack (queues)")
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
    p.set_defaults(func=cmd_rv_config)
