"""`costs`: where a stack's money went, per day, from Cost Explorer; else the estimate of `jobs`.

Cost Explorer (GetCostAndUsage) splits the bill by a tag only once the tag is activated as a
cost allocation tag, and only from then on. The stack's instances and their root volumes carry
`STACK_TAG` (the compute resources' and launch templates' tags, template/compute.py); its log
group carries CloudFormation's own `aws:cloudformation:stack-name`. Both are asked for.

When Cost Explorer cannot answer (no permission, the tags not activated, no data yet), `read`
says why and returns the estimate of `jobs` for the same days instead (estimate.py).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any, Optional

from ...template.compute import STACK_TAG
from ..clients.session import DENIED_CODES, aws_error, error_code

CLOUDFORMATION_TAG = "aws:cloudformation:stack-name"
# Cost Explorer's endpoint is in us-east-1 whatever the stack's region.
CE_REGION = "us-east-1"
METRIC = "UnblendedCost"
# Cost Explorer's SERVICE dimension -> what it is for this stack.
SERVICES = {"Amazon Elastic Compute Cloud - Compute": "instances",
            "EC2 - Other": "volumes",  # EBS volumes and snapshots, data transfer of EC2
            "AmazonCloudWatch": "logs"}
PARTS = ("instances", "volumes", "logs", "other")
ACTIVATE = (f"activate the tags {STACK_TAG} and {CLOUDFORMATION_TAG} as cost allocation tags: "
            "Billing and Cost Management console, Cost allocation tags (a tag is listed there "
            "once a tagged resource has existed), or `aws ce update-cost-allocation-tags-status "
            f"--cost-allocation-tags-status TagKey={STACK_TAG},Status=Active "
            f"TagKey={CLOUDFORMATION_TAG},Status=Active`; Cost Explorer splits costs by a tag "
            "from its activation on (up to 24 hours later), never for the days before")
PERMISSION = ("the caller may not read Cost Explorer: allow ce:GetCostAndUsage (and "
              "ce:ListCostAllocationTags, to say whether the tags are active)")
# Refused, or credentials Cost Explorer does not know: either way, no figures for this caller.
DENIED = (*DENIED_CODES, "UnrecognizedClientException")


@dataclass(frozen=True)
class Day:
    """One day's cost of the stack (UTC), split as PARTS."""

    day: str  # YYYY-MM-DD
    parts: dict[str, float]
    estimated: bool = False  # Cost Explorer's figure for a day not yet final

    @property
    def total(self) -> float:
        return sum(self.parts.values())

    def as_dict(self) -> dict:
        # A part the figure does not count (the estimate's volumes, logs) is None, not 0.
        return {"day": self.day, **{p: round(self.parts[p], 6) if p in self.parts else None
                                    for p in PARTS},
                "total": round(self.total, 6), "estimated": self.estimated}


@dataclass(frozen=True)
class Bill:
    """The stack's cost per day from Cost Explorer, or, when `problem` is set, why Cost Explorer
    could not say and the estimate of `jobs` per day instead (`report`)."""

    stack: str
    start: date
    end: date  # exclusive, as Cost Explorer takes it
    days: tuple[Day, ...]
    currency: str = "USD"
    problem: Optional[str] = None  # set: the figures are the estimate of `jobs`
    report: Any = None  # the jobs.JobsReport the estimate comes from
    notes: tuple[str, ...] = field(default_factory=tuple)

    @property
    def source(self) -> str:
        return "estimate" if self.problem else "cost-explorer"

    @property
    def total(self) -> float:
        return sum(d.total for d in self.days)

    def as_dict(self) -> dict:
        data = {"stack": self.stack, "source": self.source, "tags": [STACK_TAG,
                                                                       CLOUDFORMATION_TAG],
                "start": self.start.isoformat(), "end": self.end.isoformat(),
                "currency": self.currency, "metric": METRIC if not self.problem else None,
                "days": [d.as_dict() for d in self.days], "total": round(self.total, 6),
                "problem": self.problem, "notes": list(self.notes)}
        if self.report is not None:
            data["runs"] = [{"run": r.name, "cost_usd": round(r.cost_usd, 6)}
                            for r in self.report.runs]
        return data


def request(stack: str, start: date, end: date) -> dict:
    """The GetCostAndUsage request: daily, unblended, by service, for either tag naming the
    stack."""
    tags = [{"Tags": {"Key": key, "Values": [stack], "MatchOptions": ["EQUALS"]}}
            for key in (STACK_TAG, CLOUDFORMATION_TAG)]
    return {"TimePeriod": {"Start": start.isoformat(), "End": end.isoformat()},
            "Granularity": "DAILY", "Metrics": [METRIC], "Filter": {"Or": tags},
            "GroupBy": [{"Type": "DIMENSION", "Key": "SERVICE"}]}


def days_from(answer_pages: list[dict]) -> tuple[tuple[Day, ...], str, bool]:
    """(days, currency, any data) from GetCostAndUsage's pages."""
    days: list[Day] = []
    currency, seen = "USD", False
    for page in answer_pages:
        for period in page.get("ResultsByTime") or ():
            parts = {p: 0.0 for p in PARTS}
            for group in period.get("Groups") or ():
                seen = True
                metric = (group.get("Metrics") or {}).get(METRIC) or {}
                currency = metric.get("Unit") or currency
                part = SERVICES.get((group.get("Keys") or [""])[0], "other")
                parts[part] += float(metric.get("Amount") or 0)
            if not period.get("Groups"):
                metric = (period.get("Total") or {}).get(METRIC) or {}
                amount = float(metric.get("Amount") or 0)
                seen = seen or amount > 0
                parts["other"] += amount
            days.append(Day(period["TimePeriod"]["Start"], parts,
                            bool(period.get("Estimated"))))
    return tuple(days), currency, seen


def _tags_state(ce: Any) -> Optional[str]:
    """What ListCostAllocationTags says of the two tags ('' when both are active), or None when
    it cannot be asked."""
    try:
        found = ce.list_cost_allocation_tags(TagKeys=[STACK_TAG, CLOUDFORMATION_TAG])
    except Exception:  # noqa: BLE001 - optional: the message is vaguer without it
        return None
    states = {t["TagKey"]: t.get("Status") for t in found.get("CostAllocationTags") or ()}
    said = [f"{key} is {states[key].lower() if key in states else 'unknown to Cost Explorer'}"
            for key in (STACK_TAG, CLOUDFORMATION_TAG) if states.get(key) != "Active"]
    return "; ".join(said)


def read(session: Any, stack: str, since: datetime, now: datetime,
         estimate: Any) -> Bill:
    """The stack's cost per UTC day from `since` to today. When Cost Explorer refuses or has no
    data for the tags, the Bill says why and holds `estimate()` (a jobs.JobsReport with costs)
    summed per day of each attempt's start."""
    start, end = since.date(), now.date() + timedelta(days=1)
    ce = session.client("ce", region_name=CE_REGION)
    pages: list[dict] = []
    problem = None
    query = request(stack, start, end)
    try:
        token = None
        while True:
            answer = ce.get_cost_and_usage(**query, **({"NextPageToken": token} if token else {}))
            pages.append(answer)
            token = answer.get("NextPageToken")
            if not token:
                break
    except Exception as e:  # noqa: BLE001 - sorted below; each is the reason for the estimate
        if error_code(e) in DENIED:
            problem = PERMISSION
        elif error_code(e) == "DataUnavailableException":
            problem = "Cost Explorer has no data for this account yet (it starts a day after " \
                      "it is enabled)"
        else:  # an optional extra: the estimate of the jobs answers instead
            error = aws_error("read Cost Explorer (GetCostAndUsage)", e)
            if error is e:  # not botocore's: a programming error keeps its traceback
                raise
            problem = str(error)
    if problem is None:
        days, currency, seen = days_from(pages)
        if seen:
            notes = ("Cost Explorer's costs of a day are estimated until the month is billed; "
                     "they include every instance hour, idle ones too, and the volumes",)
            return Bill(stack, start, end, days, currency, notes=notes)
        state = _tags_state(ce)
        problem = (f"Cost Explorer has no cost for the tags {STACK_TAG}={stack} or "
                   f"{CLOUDFORMATION_TAG}={stack} in these days"
                   + (f" ({state})" if state else "") + f": {ACTIVATE}")
    report = estimate()
    return Bill(stack, start, end, estimate_days(report, start, end), "USD", problem, report,
                tuple(report.cost_notes))


def estimate_days(report: Any, start: date, end: date) -> tuple[Day, ...]:
    """The estimate of `jobs` per UTC day of each attempt's start (all as instances)."""
    totals: dict[str, float] = {}
    for job in report.jobs:
        for estimate in (job.cost.estimates if job.cost else ()):
            if estimate.usd is None or estimate.started is None:
                continue
            day = estimate.started.date().isoformat()
            totals[day] = totals.get(day, 0.0) + estimate.usd
    days = []
    moment = start
    while moment < end:
        key = moment.isoformat()
        days.append(Day(key, {"instances": totals.get(key, 0.0)}, True))
        moment += timedelta(days=1)
    return tuple(days)
