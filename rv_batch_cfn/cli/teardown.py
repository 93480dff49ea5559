"""`teardown`: show what deleting a stack involves, ask, do it, and list what is left."""

from __future__ import annotations

import argparse

from ..errors import EXIT_FINDINGS, EXIT_OK, RvBatchError
from .common import (add_stack_argument, ask_terminal, print_json, progress,
                     require_terminal_or_yes, stderr)
from .global_options import wants_json


def format_plan(plan) -> list[str]:
    """The plan a person reads: importing stacks first (they block the deletion), then what
    happens in order."""
    lines = [f"Teardown of stack {plan.stack_name} ({plan.status}, {plan.region}):"]
    for export, stacks in plan.importers.items():
        lines.append(f"  ! {', '.join(stacks)} import{'s' if len(stacks) == 1 else ''} its "
                     f"export {export}: tear {'it' if len(stacks) == 1 else 'them'} down first")
    enabled = [q.rsplit("/", 1)[-1] for q, state in plan.queues.items() if state != "DISABLED"]
    lines.append(f"  1. disable job queues: {', '.join(enabled) or 'none enabled'}")
    lines.append(f"  2. cancel {len(plan.to_cancel)} queued job(s) and terminate "
                 f"{len(plan.to_terminate)} running job(s), then wait for them to end")
    for job in plan.jobs:
        lines.append(f"       {job.status:<9} {job.name} ({job.job_id})")
    lines.append(f"  3. delete the stack and its {len(plan.resources)} resource(s)")
    if plan.budget:
        lines.append(f"     among them the monthly budget {plan.budget} (its alerts and hard "
                     "stop end with it)")
    if plan.retained:
        lines.append(f"     kept by their DeletionPolicy: {', '.join(plan.retained)}")
    lines.append("  4. list what is left behind, with the commands that remove it")
    return lines


def cmd_teardown(args: argparse.Namespace) -> int:
    """`rv-batch-cfn teardown`: exit 0 when the stack is deleted, 1 when declined."""
    from ..aws.clients.session import connect
    from ..aws.teardown import AlreadyDeleted, plan_teardown, teardown

    if not args.yes and not args.dry_run:
        require_terminal_or_yes("teardown", "deleting the stack",
                                "--dry-run to only show what it would do")
    session = connect(args.profile, args.region, args.endpoint_url)
    try:
        plan = plan_teardown(session, args.stack)
    except AlreadyDeleted as done:  # a run cut off after the deletion, run again
        stderr(str(done))
        if wants_json(args):
            print_json({"plan": None, "deleted": True, "leftovers": []})
        return EXIT_OK
    say = progress(args)
    for line in format_plan(plan):
        say(line)
    result = {"plan": plan.as_dict(), "deleted": False, "leftovers": []}
    if plan.importers:
        stacks = sorted({s for names in plan.importers.values() for s in names})
        raise RvBatchError(
            f"CloudFormation refuses to delete stack {args.stack!r} while "
            f"{', '.join(stacks)} import its exports; tear them down first: "
            + "; ".join(f"rv-batch-cfn teardown --stack {s}" for s in stacks)
            + ". Nothing was changed")
    if args.dry_run:
        say("Dry run: nothing was changed.")
        if wants_json(args):
            print_json(result)
        return EXIT_OK
    if not args.yes and not ask_terminal(f"Delete stack {args.stack} as above? [y/N] "):
        say("Cancelled: nothing was changed.")
        if wants_json(args):
            print_json(result)
        return EXIT_FINDINGS
    left = teardown(session, plan, say=say, jobs_timeout=args.jobs_timeout)
    say("")
    if left:
        say("Left behind (they keep costing until removed):")
        for item in left:
            say(f"  {item.kind} {item.name}: {item.detail}")
            for command in item.commands:
                say(f"    {command}")
    else:
        say("Nothing is left behind.")
    if wants_json(args):
        print_json({**result, "deleted": True,
                    "leftovers": [item.__dict__ | {"commands": list(item.commands)}
                                  for item in left]})
    return EXIT_OK


def register(sub: argparse._SubParsersAction) -> None:
    """Add `teardown`."""
    from ..aws.teardown import JOBS_TIMEOUT

    p = sub.add_parser(
        "teardown", help="delete a stack without hanging, and list what is left behind",
        description="Delete a stack: show the plan and ask (or --yes); refuse while other "
                    "stacks import its exports (per-project job definitions, named first); "
                    "disable its job queues, cancel its queued jobs and terminate its running "
                    "ones, delete the stack following its events, then list what is left "
                    "behind (retained ECR repositories and their size, the log group if kept, "
                    "the AMI create-ami recorded and its snapshots) with the commands that "
                    "remove it. Without a terminal to ask on, it refuses unless --yes.")
    add_stack_argument(p, "the stack to delete")
    p.add_argument("--yes", "-y", action="store_true", help="delete without asking")
    p.add_argument("--dry-run", action="store_true",
                   help="show the plan only; change nothing")
    p.add_argument("--jobs-timeout", type=float, default=JOBS_TIMEOUT, metavar="SECONDS",
                   help=f"how long to wait for cancelled and terminated jobs to end before "
                        f"deleting (default {JOBS_TIMEOUT:.0f})")
    p.set_defaults(func=cmd_teardown)
