"""`request-quota`: the EC2 vCPU quotas a deployed stack is short of, and the increases filed."""

from __future__ import annotations

import argparse

from ..errors import EXIT_FINDINGS, EXIT_OK, AwsError
from ..text import plural
from .common import (KIND_CHOICES, add_stack_argument, ask_terminal, print_json, progress,
                     require_terminal_or_yes, whole_number)
from .global_options import wants_json

HOW_LONG = ("AWS often grants a small increase within minutes; a large one goes through a review "
            "that can take days. `rv-batch-cfn doctor --stack {stack}` shows the values in use.")


def describe(item) -> str:
    """One quota's line: its value, what is wanted, and what request-quota does about it."""
    need = item.need
    head = (f"{need.describe()}, {need.quota.capacity_text}, {need.kinds_text}: "
            f"{'?' if need.applied is None else f'{need.applied:g}'} vCPUs, "
            f"{item.desired} wanted")
    if item.pending:
        asked = item.pending.get("DesiredValue")
        return (f"{head}: a request is already open ({item.pending.get('Id')}, "
                f"{item.pending.get('Status')}"
                + (f", {asked:g} vCPUs" if isinstance(asked, (int, float)) else "")
                + "); not requested again")
    if item.skipped == "enough":
        return f"{head}: enough"
    return f"{head}: short by {item.by}"


def cmd_request_quota(args: argparse.Namespace) -> int:
    """`rv-batch-cfn request-quota`: exit 0 when done (or nothing to request), 1 when the
    question was declined or a type could not be sized."""
    from ..aws.quotas import requests
    from ..aws.clients.session import make_session
    from ..template import parameters as params

    if not (args.yes or args.dry_run):
        require_terminal_or_yes("request-quota", "requesting quota increases",
                                "--dry-run to see them only")
    session = make_session(args.profile, args.region, args.endpoint_url)
    try:
        plan = requests.plan(session, args.stack, KIND_CHOICES[args.kind], args.vcpus)
    except AwsError as e:  # before any request: say so, as other commands do
        if "Nothing was" in str(e):
            raise
        raise AwsError(f"{str(e).rstrip('.')}. Nothing was requested") from None
    say = progress(args)
    say(f"request-quota: stack {plan.stack} ({plan.region}); EC2 vCPU quotas are per region "
        "and per account, spot and on-demand apart")
    for item in plan.increases:
        say(f"  {describe(item)}")
    to_file = plan.to_file
    outcome = "nothing to request"
    if to_file and args.dry_run:
        outcome = "dry run: nothing requested"
        say(f"Dry run: {plural(len(to_file), 'increase')} would be requested.")
    elif to_file:
        question = (f"Request {plural(len(to_file), 'increase')} ("
                    + ", ".join(f"{i.need.quota.code} to {i.desired} vCPUs" for i in to_file)
                    + ")? [y/N] ")
        if args.yes or ask_terminal(question):
            for item in requests.file(session, plan):
                say(f"  requested {item.need.quota.code} to {item.desired} vCPUs: request "
                    f"{item.filed.get('Id')}, {item.filed.get('Status')}")
            outcome = "requested"
            say(HOW_LONG.format(stack=plan.stack))
        else:
            outcome = "declined"
            say("Nothing requested.")
    elif not plan.unsized:
        say("Nothing to request.")
    for kind, names in plan.unsized.items():
        say(f"Not sized, so nothing requested for them: the {kind.upper()} instance types "
            f"{', '.join(names)} (EC2 in {plan.region} describes no such type). Check the "
            f"stack's {params.KINDS[kind].instance_types} (`rv-batch-cfn doctor --stack "
            f"{plan.stack}`), then run request-quota again.")
    if wants_json(args):
        print_json({**plan.as_dict(), "outcome": outcome, "dry_run": args.dry_run})
    # Types it could not size are a finding: their quotas may be short, unseen.
    return EXIT_FINDINGS if outcome == "declined" or plan.unsized else EXIT_OK



def register(sub: argparse._SubParsersAction) -> None:
    """Add `request-quota`."""
    p = sub.add_parser(
        "request-quota", help="request the EC2 vCPU quota increases a stack needs",
        description="Read the EC2 vCPU quotas a deployed stack's compute environments draw on "
                    "(spot or on-demand, as the stack's GpuCapacity and CpuCapacity say; per "
                    "region and per account), show those below what is wanted and by how "
                    "much, ask, then file a Service Quotas increase request for each and print "
                    "its id and status. A quota with a request already open (PENDING or "
                    "CASE_OPENED) is not requested again. Without a terminal to ask on, it "
                    "refuses unless --yes (or --dry-run) is given. Needs "
                    "servicequotas:GetServiceQuota, GetAWSDefaultServiceQuota, "
                    "ListRequestedServiceQuotaChangeHistoryByQuota and "
                    "RequestServiceQuotaIncrease. Exit 1 when an instance type of the stack "
                    "could not be sized (its quota is then unknown), or the question was "
                    "declined.")
    add_stack_argument(p, "the stack's name")
    p.add_argument("--kind", choices=sorted(KIND_CHOICES), default="all",
                   help="the quotas of which compute environment(s) (default: all)")
    p.add_argument("--vcpus", type=whole_number("vCPUs"), metavar="N",
                   help="vCPUs to request for each quota (default: MaximumVCPUs of the "
                        "environments drawing on it, summed when both do)")
    p.add_argument("--dry-run", action="store_true",
                   help="show what would be requested; request nothing")
    p.add_argument("--yes", "-y", action="store_true",
                   help="request without asking (required without a terminal)")
    p.set_defaults(func=cmd_request_quota)
