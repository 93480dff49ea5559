"""`permissions`: the IAM policy a person needs to deploy the stack, or only to operate it."""

from __future__ import annotations

import argparse

from ..errors import EXIT_OK
from .common import print_json
from .global_options import wants_json

AUDIENCE_HELP = {
    "deploy": "create, update and delete the stack (its resources, the service-linked role "
              "of Batch, passing its roles), and everything `operate` allows",
    "operate": "run and watch jobs on a deployed stack: rv-config, doctor, jobs, logs, costs, "
               "smoke-test and Raster Vision's batch_retry runner",
}


def format_policy(policy) -> str:
    """What a person reads: each action and what needs it, then how to get the document."""
    from ..aws.permissions import NOT_COVERED

    width = max(len(a) for a in policy.actions)
    lines = [f"The {policy.audience} policy: {len(policy.actions)} actions "
             f"({AUDIENCE_HELP[policy.audience]}).", ""]
    lines.append(f"{'ACTION'.ljust(width)}  NEEDED BY")
    for action in policy.actions:
        lines.append(f"{action.ljust(width)}  {', '.join(policy.reasons[action])}")
    lines += ["",
              "iam:PassRole is allowed only to " + ", ".join(_passed_to()) + "; "
              "iam:CreateServiceLinkedRole only for Batch's role." if policy.audience == "deploy"
              else "No IAM action: operating passes no role.",
              "Not covered (no AWS call, or Packer's own policy): " + ", ".join(NOT_COVERED) + ".",
              f"The policy document: rv-batch-cfn permissions --for {policy.audience} "
              "--output json > policy.json, then aws iam create-policy --policy-name NAME "
              "--policy-document file://policy.json"]
    return "\n".join(lines)


def _passed_to() -> tuple[str, ...]:
    from ..aws.permissions import PASSED_TO

    return PASSED_TO


def cmd_permissions(args: argparse.Namespace) -> int:
    """`rv-batch-cfn permissions`: the policy as a table, or with --output json the document."""
    from ..aws.permissions import build_policy, templates_from_files

    templates = templates_from_files(args.template) if args.template else None
    policy = build_policy(args.audience, templates)
    if wants_json(args):
        print_json(policy.as_json())
    else:
        print(format_policy(policy))
    return EXIT_OK


def register(sub: argparse._SubParsersAction) -> None:
    """Add `permissions`."""
    from pathlib import Path

    p = sub.add_parser(
        "permissions", help="the IAM policy a person needs to deploy or to operate the stack",
        description="Print the IAM policy a person needs: --for deploy to create, update and "
                    "delete the stack (every resource type of the template, the calls of "
                    "deploy, teardown, choose-subnets, request-quota and publish-container, "
                    "iam:PassRole for the stack's roles and iam:CreateServiceLinkedRole for "
                    "Batch on a new account), --for operate to run and watch jobs. A table of "
                    "each action and what needs it; --output json prints the policy document "
                    "for `aws iam create-policy`. Reaches no AWS service.",
        epilog="Example: rv-batch-cfn permissions --for operate --output json > operate.json")
    p.add_argument("--for", dest="audience", choices=tuple(AUDIENCE_HELP), default="deploy",
                   help="whose policy: " + "; ".join(f"{k}: {v}" for k, v in
                                                     AUDIENCE_HELP.items())
                        + " (default: deploy)")
    p.add_argument("--template", action="append", type=Path, metavar="PATH",
                   help="read the resource types from this template instead of the built ones "
                        "(repeat for several, e.g. the per-project job definitions)")
    p.set_defaults(func=cmd_permissions)
