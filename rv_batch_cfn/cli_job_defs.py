"""`rv-batch-cfn job-def-template`: the per-project job-definitions template, generated, linted
and written atomically like the main one."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

DEFAULT_OUTPUT = Path("cloudformation/job-definitions.yml")


def cmd_job_def_template(args: argparse.Namespace) -> int:
    """Generate the job-definitions template; lint it unless --no-lint; write or print it."""
    from .cli import load_config  # here: cli imports this module to register the command
    from .lint import check_template
    from .render import render_yaml, write_atomic
    from .template import build_job_definitions_template

    text = render_yaml(build_job_definitions_template(load_config(args.config)))
    if not args.no_lint:
        check_template(text)
    if args.output == "-":
        sys.stdout.write(text)
    else:
        write_atomic(args.output, text)
        print(f"wrote {args.output}" + ("" if args.no_lint else " (cfn-lint: clean)"),
              file=sys.stderr)
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    """Add the `job-def-template` subcommand."""
    p = sub.add_parser(
        "job-def-template", help="generate (and lint) the per-project job-definitions template",
        description="Generate the CloudFormation template of per-project job definitions: a "
                    "GPU and a CPU job definition named after a Namespace, pulling an image "
                    "from an ECR repository, for the queues of a shared main stack whose job "
                    "role and log group they import (MainStackName).")
    p.add_argument("-o", "--output", default=str(DEFAULT_OUTPUT),
                   help=f"where to write it ('-' for standard output; default {DEFAULT_OUTPUT})")
    p.add_argument("--config", metavar="FILE",
                   help="YAML or JSON file whose keys mirror StackConfig; its job sizes, "
                        "shared memory, attempts, timeout and repository become the defaults")
    p.add_argument("--no-lint", action="store_true", help="skip cfn-lint")
    p.set_defaults(func=cmd_job_def_template)
