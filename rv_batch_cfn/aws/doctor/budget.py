"""The stack's monthly budget: whether there is one, whether its cost allocation tag is active
(else it counts nothing), how much of it the month has spent, and who hears of it."""

from __future__ import annotations

from typing import Any

from ...errors import AwsError
from ...template import compute
from ...template import parameters as params
from ..costs.budget import ACTIVATE_TAG, read_budget, tag_state
from .findings import BUDGET, NOTE, OK, WARNING, Finding


def budget_findings(session: Any, stack: dict) -> list[Finding]:
    """No budget (a note), the tag not active (a warning), else the month so far."""
    name = stack["StackName"]
    try:
        budget = read_budget(session, stack)
    except AwsError as e:
        return [Finding(BUDGET, NOTE, f"the stack's budget could not be read: {e}")]
    if budget is None:
        return [Finding(BUDGET, NOTE,
                        "no monthly budget: nothing warns while a run gone wrong spends",
                        f"Update the stack with {params.MONTHLY_BUDGET}=<USD a month> (and "
                        f"{params.NOTIFICATION_EMAIL}; {params.BUDGET_HARD_STOP}=true stops new "
                        f"jobs at 100%): rv-batch-cfn deploy --stack {name} --param "
                        f"{params.MONTHLY_BUDGET}=500.")]
    findings = [Finding(BUDGET, OK, f"budget {budget.name}: {budget.actual:.2f} of "
                                    f"{budget.limit:.2f} {budget.unit} spent this month "
                                    f"({budget.percent:.0f}%)"
                                    + ("; the hard stop disables the queues at 100%"
                                       if budget.hard_stop else ""))]
    if not budget.notifications:
        findings.append(Finding(BUDGET, NOTE, "nobody hears of the budget: it has no "
                                              "notifications",
                                f"Update the stack with {params.NOTIFICATION_EMAIL}="
                                "you@example.com."))
    try:
        state = tag_state(session)
    except AwsError as e:
        state, why = None, str(e)
    else:
        why = "the caller may not call ce:ListCostAllocationTags"
    if state is None:
        findings.append(Finding(BUDGET, NOTE, f"whether {compute.STACK_TAG} is an active cost "
                                              f"allocation tag was not checked: {why}"))
    elif state != "Active":
        said = state.lower() if state else "not yet known to Billing"
        findings.append(Finding(BUDGET, WARNING,
                                f"the cost allocation tag {compute.STACK_TAG} is {said}: the "
                                "budget's filter matches nothing", ACTIVATE_TAG[0].upper()
                                + ACTIVATE_TAG[1:] + "."))
    return findings
