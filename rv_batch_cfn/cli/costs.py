"""`costs`: a stack's cost per day from Cost Explorer, or the estimate of `jobs` when it cannot."""

from __future__ import annotations

import argparse
from datetime import datetime, timezone

from ..errors import EXIT_FINDINGS, EXIT_OK, AwsError
from ..text import table
from .common import add_stack_argument, print_json, stderr
from .global_options import wants_json
from .jobs import usd

# The tags aws/costs/cost_explorer.py asks for, named here so that the parser loads no template
# code (tests/aws/test_cost_explorer.py holds them equal).
STACK_TAG, CLOUDFORMATION_TAG = "rv-batch-cfn:stack", "aws:cloudformation:stack-name"
HEADERS = ("DAY (UTC)", "INSTANCES", "VOLUMES", "LOGS", "OTHER", "TOTAL")


def format_bill(bill, budget=None, with_budget: bool = False) -> str:
    """The table a person reads: one line per day, the total, where the figures come from, and
    (with_budget) the month so far against the stack's budget."""
    from ..aws.costs.cost_explorer import METRIC, PARTS

    if bill.problem:
        title = (f"stack {bill.stack}: estimate from the jobs' running time (not the bill), "
                 f"{bill.start} to {bill.end} (exclusive)")
    else:
        title = (f"stack {bill.stack}: Cost Explorer ({METRIC}, {bill.currency}), tags "
                 f"{STACK_TAG} or {CLOUDFORMATION_TAG} = {bill.stack}, {bill.start} to "
                 f"{bill.end} (exclusive)")
    # The estimate has instances only: volumes, logs and the rest are not counted, not zero.
    shown = [p for p in PARTS if not bill.problem or p == "instances"]

    def cells(amounts: dict) -> list[str]:
        return [usd(amounts.get(p, 0.0)) if p in shown else "-" for p in PARTS]

    rows = [[d.day + ("*" if d.estimated and not bill.problem else ""), *cells(d.parts),
             usd(d.total)] for d in bill.days]
    rows.append(["total", *cells({p: sum(d.parts.get(p, 0.0) for d in bill.days)
                                  for p in PARTS}), usd(bill.total)])
    lines = [title, "", *table([list(HEADERS), *rows], indent="  ",
                               right=range(1, len(HEADERS)))]
    if bill.problem:
        lines += ["", "by run:"]
        lines += [f"  {r.name or '(no run)'}: {usd(r.cost_usd)}" for r in bill.report.runs] \
            or ["  no jobs in these days"]
    elif any(d.estimated for d in bill.days):
        lines += ["", "* Cost Explorer's figure is still an estimate for that day"]
    if with_budget:
        lines += ["", format_budget(budget)]
    lines += ["", *[f"note: {n}" for n in bill.notes]]
    return "\n".join(lines)


def format_budget(budget) -> str:
    """The month so far against the stack's budget, as Budgets last computed it."""
    if budget is None:
        return ("budget: none (the stack's MonthlyBudget parameter sets one; "
                "rv-batch-cfn doctor says more)")
    forecast = (f", forecast {usd(budget.forecast)} for the month"
                if budget.forecast is not None else "")
    return (f"budget {budget.name}: month so far {usd(budget.actual)} of {usd(budget.limit)} "
            f"({budget.percent:.0f}%){forecast}, as Budgets last computed it (it updates a few "
            "times a day)" + ("; new jobs stop at 100%" if budget.hard_stop else ""))


def cmd_costs(args: argparse.Namespace) -> int:
    """`rv-batch-cfn costs`: 0 with Cost Explorer's figures; 1 when it could not give them and
    the estimate of `jobs` is shown instead."""
    from ..aws.costs import cost_explorer
    from ..aws.costs.budget import stack_budget
    from ..aws.jobs.listing import parse_since, read_jobs
    from ..aws.clients.session import connect

    now = datetime.now(timezone.utc)
    since = parse_since(args.since, now)
    session = connect(args.profile, args.region, args.endpoint_url)

    def estimate():
        return read_jobs(session, args.stack, since, costs=True, now=now)

    bill = cost_explorer.read(session, args.stack, since, now, estimate)
    try:
        budget = stack_budget(session, args.stack)
    except AwsError as e:  # the bill stands without it
        stderr(f"rv-batch-cfn costs: the stack's budget was not read: {e}")
        budget = None
    if bill.problem:
        stderr(f"rv-batch-cfn costs: {bill.problem}")
        stderr("rv-batch-cfn costs: showing the estimate of `rv-batch-cfn jobs` instead")
    if wants_json(args):
        print_json({**bill.as_dict(), "budget": budget.as_dict() if budget else None})
    else:
        print(format_bill(bill, budget, with_budget=True))
    return EXIT_FINDINGS if bill.problem else EXIT_OK


def register(sub: argparse._SubParsersAction) -> None:
    """Add `costs`."""
    p = sub.add_parser(
        "costs", help="a stack's cost per day (Cost Explorer), or the jobs' estimate",
        description=f"Print the stack's cost per UTC day from Cost Explorer (GetCostAndUsage, "
                    f"unblended): its instances, volumes and logs, found by the tags "
                    f"{STACK_TAG} (instances and volumes) and {CLOUDFORMATION_TAG} (the log "
                    "group), which must be activated as cost allocation tags. When Cost "
                    "Explorer refuses (no ce:GetCostAndUsage) or has no cost for the tags, it "
                    "says why and how to fix it, and shows the estimate of `rv-batch-cfn jobs` "
                    "instead. Exit 0 with Cost Explorer's figures; 1 with the estimate; 2 when "
                    "the stack cannot be read. With a budget (MonthlyBudget), it also shows "
                    "the month so far against it, as AWS Budgets reports it.")
    add_stack_argument(p, "the stack's name")
    p.add_argument("--since", default="7d", metavar="WHEN",
                   help="from this UTC day: a duration (12h, 7d, 2w) or a date (2025-01-31); "
                        "default 7d")
    p.set_defaults(func=cmd_costs)
