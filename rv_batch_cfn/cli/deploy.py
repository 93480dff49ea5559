"""`deploy`: create or update a stack through a change set, from a terminal."""

from __future__ import annotations

import argparse
from pathlib import Path

from ..errors import EXIT_FINDINGS, EXIT_OK
from ..template import TEMPLATE_PATH
from .common import ask_terminal, print_json, progress
from .global_options import wants_json


def cmd_deploy(args: argparse.Namespace) -> int:
    """`rv-batch-cfn deploy`: every value is checked before the first call to AWS; exit 1 when
    the change set was declined."""
    from ..account import parameters as checks
    from ..account.deploy import DECLINED, deploy, load_template
    from ..account.session import aws_errors, connect

    given = checks.parse_assignments(args.param or [])
    template = load_template(args.template)
    checks.check_values(template[1], given)
    session = connect(args.profile, args.region)
    with aws_errors(f"deploy stack {args.stack!r}"):
        outcome = deploy(session, args.stack, args.template, given, assume_yes=args.yes,
                         ask=ask_terminal, say=progress(args), template=template)
    if wants_json(args):
        print_json({"stack": args.stack, "outcome": outcome})
    return EXIT_FINDINGS if outcome == DECLINED else EXIT_OK


def register(sub: argparse._SubParsersAction) -> None:
    """Add the `deploy` subcommand."""
    p = sub.add_parser(
        "deploy", help="create or update the stack through a change set",
        description="Create or update a stack from the template through a change set: show "
                    "the planned changes, ask before executing them (unless --yes), follow the "
                    "events until the stack settles, and print its outputs. Parameters not "
                    "given keep their current values on update (defaults on create). Values "
                    "are checked against the template before anything is sent to AWS.")
    p.add_argument("--stack", required=True, help="stack name")
    p.add_argument("--template", type=Path, default=TEMPLATE_PATH,
                   help=f"template file (default {TEMPLATE_PATH})")
    p.add_argument("--param", action="append", metavar="KEY=VALUE",
                   help="a parameter value, e.g. --param VPC=vpc-0abc --param "
                        "SubnetIds=subnet-1,subnet-2 (repeatable)")
    p.add_argument("--yes", "-y", action="store_true",
                   help="execute the change set without asking")
    p.set_defaults(func=cmd_deploy)
