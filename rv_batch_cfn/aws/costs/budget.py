"""A stack's monthly budget (template/budget.py) as Budgets reports it: its limit, the month's
actual and forecast spend, its notifications; whether the cost allocation tag it filters on is
active; and `resume` after the hard stop disabled the stack's queues and compute environments.

Budgets is one endpoint per partition (us-east-1 for the commercial one), whatever the stack's
region; the budget is found by the stack's output BudgetName, present only with a budget.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Optional

from ...template import budget as template_budget
from ...template import compute
from ...template import parameters as params
from ..clients.session import DENIED_CODES, aws_error, aws_errors, error_code
from ..clients.stack import stack_outputs, stack_parameters

BUDGETS_REGION = "us-east-1"
CE_REGION = "us-east-1"
ACTIVATE_TAG = (f"activate {compute.STACK_TAG} as a cost allocation tag (Billing and Cost "
                "Management console, Cost allocation tags; or `aws ce "
                "update-cost-allocation-tags-status --cost-allocation-tags-status "
                f"TagKey={compute.STACK_TAG},Status=Active`): until then the budget counts "
                "nothing of the stack")


@dataclass(frozen=True)
class StackBudget:
    """The stack's budget for this month, in its currency (USD)."""

    name: str
    limit: float
    actual: float  # spent so far this month, as Budgets last computed it
    forecast: Optional[float]  # Budgets' forecast for the month (None before it has one)
    notifications: tuple[str, ...]  # "ACTUAL > 100%", "FORECASTED > 80%"
    hard_stop: bool
    unit: str = "USD"

    @property
    def percent(self) -> float:
        """The month's actual spend as a percentage of the limit."""
        return 100 * self.actual / self.limit if self.limit else 0.0

    def as_dict(self) -> dict:
        return {"name": self.name, "limit": self.limit, "actual": round(self.actual, 6),
                "forecast": None if self.forecast is None else round(self.forecast, 6),
                "percent": round(self.percent, 2), "unit": self.unit,
                "notifications": list(self.notifications), "hard_stop": self.hard_stop}


def budget_name(stack: dict) -> Optional[str]:
    """The name of the stack's budget, None when it has none."""
    return stack_outputs(stack).get(template_budget.BUDGET_OUTPUT) or None


def _amount(spend: Optional[dict]) -> Optional[float]:
    return float(spend["Amount"]) if spend and spend.get("Amount") is not None else None


def read_budget(session: Any, stack: dict) -> Optional[StackBudget]:
    """The stack's budget as Budgets reports it; None when the stack has none. AwsError when
    Budgets cannot be read (budgets:ViewBudget)."""
    name = budget_name(stack)
    if name is None:
        return None
    account = stack["StackId"].split(":")[4]
    budgets = session.client("budgets", region_name=BUDGETS_REGION)
    with aws_errors(f"read budget {name} (budgets:ViewBudget)"):
        found = budgets.describe_budget(AccountId=account, BudgetName=name)["Budget"]
        notes = budgets.describe_notifications_for_budget(
            AccountId=account, BudgetName=name).get("Notifications", [])
    spend = found.get("CalculatedSpend") or {}
    said = tuple(sorted(f"{n['NotificationType']} > {float(n['Threshold']):g}"
                 + ("%" if n.get("ThresholdType", "PERCENTAGE") == "PERCENTAGE" else "")
                 for n in notes))
    return StackBudget(
        name=name, limit=float(found["BudgetLimit"]["Amount"]),
        actual=_amount(spend.get("ActualSpend")) or 0.0,
        forecast=_amount(spend.get("ForecastedSpend")),
        notifications=said, unit=found["BudgetLimit"].get("Unit", "USD"),
        hard_stop=stack_parameters(stack).get(params.BUDGET_HARD_STOP) == "true")


def stack_budget(session: Any, stack_name: str) -> Optional[StackBudget]:
    """The budget of the stack named, None when the stack has none or no longer exists (its
    costs can still be asked for). AwsError when the stack or Budgets cannot be read."""
    from ..clients.stack import describe_stack

    cfn = session.client("cloudformation")
    try:
        stack = describe_stack(cfn, stack_name)
    except Exception as e:  # noqa: BLE001 - a stack gone has no budget; others are raised
        if "not found in region" in str(e):
            return None
        raise
    return read_budget(session, stack)


def tag_state(session: Any) -> Optional[str]:
    """What Cost Explorer says of the stack's cost allocation tag: 'Active', 'Inactive', '' when
    it does not know the tag (no tagged resource has existed yet), or None when it cannot be
    asked (no ce:ListCostAllocationTags, or an endpoint without it)."""
    ce = session.client("ce", region_name=CE_REGION)
    try:
        found = ce.list_cost_allocation_tags(TagKeys=[compute.STACK_TAG])
    except Exception as e:  # noqa: BLE001 - sorted below
        if error_code(e) in (*DENIED_CODES, "UnrecognizedClientException"):
            return None
        raise aws_error("read Cost Explorer's cost allocation tags "
                        "(ce:ListCostAllocationTags)", e) from None
    states = {t["TagKey"]: t.get("Status", "") for t in found.get("CostAllocationTags") or ()}
    return states.get(compute.STACK_TAG, "")


@dataclass(frozen=True)
class Resumed:
    """What `resume` enabled (names), and what was already enabled."""

    enabled: tuple[str, ...]
    already: tuple[str, ...]

    def as_dict(self) -> dict:
        return {"enabled": list(self.enabled), "already_enabled": list(self.already)}


def resume(session: Any, queues: dict[str, str],
           say: Callable[[str], None] = lambda _: None, dry_run: bool = False) -> Resumed:
    """Enable the compute environments of the stack's queues, then the queues (kind -> queue
    name): what the hard stop disabled. Idempotent."""
    from ..clients.batch import read_queue

    batch = session.client("batch")
    enabled: list[str] = []
    already: list[str] = []

    def enable(what: str, name: str, state: Optional[str], update: Callable[[], Any]) -> None:
        if state == "ENABLED":
            already.append(name)
            return
        say(f"enabling {what} {name}")
        if not dry_run:
            with aws_errors(f"enable {what} {name}"):
                update()
        enabled.append(name)

    for queue_name in queues.values():
        queue, environments = read_queue(batch, queue_name)
        for env in environments:
            name = env["computeEnvironmentName"]
            enable("compute environment", name, env.get("state"),
                   lambda name=name: batch.update_compute_environment(
                       computeEnvironment=name, state="ENABLED"))
        enable("job queue", queue_name, (queue or {}).get("state"),
               lambda: batch.update_job_queue(jobQueue=queue_name, state="ENABLED"))
    return Resumed(tuple(enabled), tuple(already))
