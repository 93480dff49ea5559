"""`deploy`: create or update a stack through a change set, from a terminal, with the options of
`aws cloudformation deploy` (--parameter-overrides, --no-execute-changeset, --tags, --role-arn,
--s3-bucket, --disable-rollback)."""

from __future__ import annotations

import argparse
import shlex
from pathlib import Path

from ..errors import EXIT_FINDINGS, EXIT_OK
from ..template import TEMPLATE_PATH
from .common import (add_stack_argument, ask_terminal, print_json, progress,
                     require_terminal_or_yes)
from .global_options import wants_json


def cmd_deploy(args: argparse.Namespace) -> int:
    """`rv-batch-cfn deploy`: every value is checked before the first call to AWS; exit 1 when
    the change set was declined."""
    from ..account.deploy import (CHANGE_SET_CREATED, DECLINED, DeployOptions, deploy,
                                  load_template, parse_tags)
    from ..account.deploy import parameter_values as checks
    from ..account.session import aws_errors, connect

    given = checks.parse_assignments([*(args.param or []), *(args.parameter_overrides or [])])
    options = DeployOptions(tags=parse_tags(args.tags or []), role_arn=args.role_arn or "",
                            s3_bucket=args.s3_bucket or "", s3_prefix=args.s3_prefix or "",
                            disable_rollback=args.disable_rollback,
                            execute=not args.no_execute_changeset)
    template = load_template(args.template)
    checks.check_values(template[1], given)  # deploy() checks too; here, before any question
    options.check(template[0], args.template)
    if not args.yes and options.execute:
        require_terminal_or_yes("deploy", "executing the change set",
                                "--no-execute-changeset to create it for review only")
    session = connect(args.profile, args.region, args.endpoint_url)
    say = progress(args)
    with aws_errors(f"deploy stack {args.stack!r}"):
        done = deploy(session, args.stack, args.template, given, assume_yes=args.yes,
                      ask=ask_terminal, say=say, template=template, options=options)
    commands = []
    if done.outcome == CHANGE_SET_CREATED:
        commands = review_commands(done, session, args)
        say("")
        say(f"Change set {done.change_set_name} is created and NOT executed; stack "
            f"{args.stack} is unchanged" + (" (REVIEW_IN_PROGRESS until then)"
                                            if done.status == "REVIEW_IN_PROGRESS" else "")
            + ". To review it, then execute it:")
        for command in commands:
            say(f"  {command}")
    if wants_json(args):
        print_json({**done.as_dict(), "commands": commands})
    return EXIT_FINDINGS if done.outcome == DECLINED else EXIT_OK


def review_commands(done, session, args: argparse.Namespace) -> list[str]:
    """The AWS CLI commands that show and execute a change set left for review."""
    import os

    where = f" --region {session.region_name}"
    profile = args.profile or os.environ.get("AWS_PROFILE")
    if profile:
        where += f" --profile {shlex.quote(profile)}"
    if args.endpoint_url:
        where += f" --endpoint-url {shlex.quote(args.endpoint_url)}"
    name = shlex.quote(done.change_set_id or done.change_set_name)
    stack = "" if done.change_set_id else f" --stack-name {shlex.quote(args.stack)}"
    rollback = " --disable-rollback" if args.disable_rollback else ""
    return [f"aws cloudformation describe-change-set{where}{stack} --change-set-name {name}",
            f"aws cloudformation execute-change-set{where}{stack} --change-set-name {name}"
            f"{rollback}"]


def _pairs(metavar: str) -> dict:
    return dict(nargs="+", action="extend", metavar=metavar)


def register(sub: argparse._SubParsersAction) -> None:
    """Add the `deploy` subcommand."""
    p = sub.add_parser(
        "deploy", help="create or update the stack through a change set",
        description="Create or update a stack from the template through a change set: show "
                    "the planned changes, ask before executing them (unless --yes), follow the "
                    "events until the stack settles, and print its outputs. Parameters not "
                    "given keep their current values on update (defaults on create). Values "
                    "are checked against the template before anything is sent to AWS. Without "
                    "a terminal to ask on (a script, CI), it refuses to execute unless --yes "
                    "is given; --no-execute-changeset needs no answer.")
    add_stack_argument(p, "stack name")
    p.add_argument("--template", "--template-file", dest="template", type=Path,
                   default=TEMPLATE_PATH, metavar="FILE",
                   help=f"template file (default {TEMPLATE_PATH})")
    p.add_argument("--param", action="append", metavar="KEY=VALUE",
                   help="a parameter value, e.g. --param VPC=vpc-0abc --param "
                        "SubnetIds=subnet-1,subnet-2 (repeatable)")
    p.add_argument("--parameter-overrides", **_pairs("KEY=VALUE"),
                   help="parameter values as aws cloudformation deploy takes them: "
                        "--parameter-overrides VPC=vpc-0abc Prefix=team (with --param, each "
                        "name once)")
    p.add_argument("--tags", **_pairs("KEY=VALUE"),
                   help="tags for the stack and its resources: --tags team=geo cost-center=42")
    p.add_argument("--role-arn", metavar="ARN",
                   help="IAM role CloudFormation uses for the deployment (default: your "
                        "credentials)")
    p.add_argument("--s3-bucket", metavar="BUCKET",
                   help="upload the template to this bucket and deploy it from there "
                        "(TemplateURL); without it, a template over 51,200 bytes goes "
                        "to the CloudFormation console's bucket (cf-templates-...-REGION), "
                        "created as the console does when missing")
    p.add_argument("--s3-prefix", metavar="PREFIX",
                   help="key prefix of the uploaded template in --s3-bucket")
    p.add_argument("--disable-rollback", action="store_true",
                   help="keep what was created when the deployment fails (for inspection), "
                        "instead of rolling back")
    p.add_argument("--no-execute-changeset", action="store_true",
                   help="create the change set and show it, without executing it; prints the "
                        "aws commands that review and execute it")
    p.add_argument("--yes", "-y", action="store_true",
                   help="execute the change set without asking (required without a terminal)")
    p.set_defaults(func=cmd_deploy)
