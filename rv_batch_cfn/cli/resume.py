"""`resume`: enable a stack's compute environments and job queues again, after the budget's
hard stop (or anyone) disabled them."""

from __future__ import annotations

import argparse

from ..errors import EXIT_OK
from .common import add_stack_argument, print_json, progress
from .global_options import wants_json


def cmd_resume(args: argparse.Namespace) -> int:
    """`rv-batch-cfn resume`: 0 when everything is enabled (or would be, with --dry-run)."""
    from ..aws.clients.session import connect
    from ..aws.costs.budget import resume
    from ..aws.jobs.listing import stack_queues

    session = connect(args.profile, args.region, args.endpoint_url)
    say = progress(args)
    done = resume(session, stack_queues(session, args.stack), say=say, dry_run=args.dry_run)
    if args.dry_run:
        say("Dry run: nothing was changed.")
    elif done.enabled:
        say(f"Enabled {len(done.enabled)}: jobs of stack {args.stack} start again. The hard "
            "stop acts again at the budget's next 100% alert (next month, or a higher budget).")
    else:
        say(f"Everything of stack {args.stack} was enabled already.")
    if wants_json(args):
        print_json({"stack": args.stack, "dry_run": args.dry_run, **done.as_dict()})
    return EXIT_OK


def register(sub: argparse._SubParsersAction) -> None:
    """Add `resume`."""
    p = sub.add_parser(
        "resume", help="enable a stack's queues and compute environments again (after the "
                       "budget's hard stop)",
        description="Enable the stack's compute environments, then its job queues, where they "
                    "are DISABLED: what the budget's hard stop (BudgetHardStop) does at 100% of "
                    "the month's actual spend. Jobs left RUNNABLE then start. Raise the "
                    "budget first (deploy --param MonthlyBudget=...) if the month is not over, "
                    "or the next alert stops them again.")
    add_stack_argument(p, "the stack to resume")
    p.add_argument("--dry-run", action="store_true", help="say what would be enabled; change "
                                                         "nothing")
    p.set_defaults(func=cmd_resume)
