"""`request-quota`: the increases the stack needs, those already pending, and filing them
(Service Quotas RequestServiceQuotaIncrease).

AWS grants small increases of EC2 vCPU quotas often within minutes and large ones after a
review that can take days; a request for a quota is not filed again while one is pending.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping, Optional, Sequence

from ...errors import AwsError
from ...template import parameters as params
from ..clients.session import DENIED_CODES, aws_errors, check_credentials, error_code
from ..clients.stack import complete_stack, stack_parameters
from .check import ON_DEMAND_QUEUE, TRAIN, QuotaNeed, check_quotas, stack_kind_needs
from .codes import SERVICE_CODE

OPEN_STATUSES = ("PENDING", "CASE_OPENED")
REQUEST_PERMISSION = "servicequotas:RequestServiceQuotaIncrease"
HISTORY_PERMISSION = "servicequotas:ListRequestedServiceQuotaChangeHistoryByQuota"


@dataclass
class Increase:
    """One quota: its value, what is wanted, and what happened (or would)."""

    need: QuotaNeed
    desired: int
    pending: Optional[dict] = None  # an open request already filed (its Id, Status, value)
    filed: Optional[dict] = None  # the request filed now
    skipped: str = ""  # why nothing is to be filed: "enough" or "pending"

    @property
    def short(self) -> bool:
        """Whether the quota is below what is wanted."""
        value = self.need.applied
        return value is not None and value < self.desired

    @property
    def by(self) -> int:
        """How many vCPUs short."""
        return max(0, self.desired - int(self.need.applied or 0))

    def as_dict(self) -> dict:
        """Plain data for --output json."""
        def request(r: Optional[dict]) -> Optional[dict]:
            return None if r is None else {
                "id": r.get("Id"), "status": r.get("Status"),
                "desired_value": r.get("DesiredValue"), "case_id": r.get("CaseId")}
        return {**self.need.as_dict(), "desired_value": self.desired, "short": self.short,
                "short_by": self.by if self.short else 0, "pending": request(self.pending),
                "filed": request(self.filed), "skipped": self.skipped or None}


@dataclass(frozen=True)
class QuotaPlan:
    """The quotas of one stack's kinds, and what request-quota would file."""

    stack: str
    region: str
    increases: tuple[Increase, ...]
    # kind -> its instance types (or families) EC2 could not size: no quota is known for them
    unsized: Mapping[str, tuple[str, ...]] = field(default_factory=dict)

    @property
    def to_file(self) -> list[Increase]:
        """The increases to file: short, nothing pending, readable."""
        return [i for i in self.increases if i.short and not i.pending and not i.skipped]

    def as_dict(self) -> dict:
        """Plain data for --output json."""
        return {"stack": self.stack, "region": self.region,
                "quotas": [i.as_dict() for i in self.increases],
                "unsized_instance_types": {k: list(v) for k, v in self.unsized.items()}}


def plan(session: Any, stack_name: str, kinds: Sequence[str],
         vcpus: Optional[int] = None) -> QuotaPlan:
    """What `stack_name`'s kinds need: for each quota, `vcpus` (default: the MaximumVCPUs of
    the kinds drawing on it), and any request already open. Raises AwsError when the stack
    cannot be read."""
    check_credentials(session)
    cfn = session.client("cloudformation")
    stack = complete_stack(cfn, stack_name)
    values = stack_parameters(stack)
    if params.MAXIMUM_VCPUS not in values:
        raise AwsError(f"stack {stack_name!r} has no parameter {params.MAXIMUM_VCPUS}: was it "
                       "created from this project's cloudformation/template.yml?")
    # The GPU environment also runs the train size: its instance must fit the quota too.
    asked = list(kinds)
    kinds = [*kinds, TRAIN] if "gpu" in kinds else list(kinds)
    by_kind = stack_kind_needs(session, values, kinds)
    needs, _ = check_quotas(session, values, stack_name, kinds, by_kind)
    # The train kind and the on-demand GPU queue have the GPU kind's types: named once, as GPU.
    unsized = {k.kind: k.unsized for k in by_kind
               if k.unsized and k.kind not in (TRAIN, ON_DEMAND_QUEUE) and k.kind in asked}
    client = session.client("service-quotas")
    increases = []
    for n in needs:
        wanted = int(vcpus) if vcpus is not None else max(n.scale, n.one_instance)
        item = Increase(n, wanted)
        if n.applied is None:  # doctor makes this a note; here nothing can be decided without it
            raise AwsError(f"cannot read the quota {n.describe()}: the credentials lack "
                           f"{n.value.denied if n.value else 'servicequotas:GetServiceQuota'}")
        if not item.short:
            item.skipped = "enough"
        else:
            item.pending = open_request(client, n)
            if item.pending:
                item.skipped = "pending"
        increases.append(item)
    return QuotaPlan(stack_name, cfn.meta.region_name, tuple(increases), unsized)


def open_request(client: Any, need: QuotaNeed) -> Optional[dict]:
    """The newest open (PENDING or CASE_OPENED) request for the quota. AwsError when the
    history cannot be read: filing without it could file a second request."""
    found: list[dict] = []
    request = {"ServiceCode": SERVICE_CODE, "QuotaCode": need.quota.code}
    try:
        for status in OPEN_STATUSES:
            token = None
            while True:
                page = client.list_requested_service_quota_change_history_by_quota(
                    **request, Status=status, **({"NextToken": token} if token else {}))
                found += page.get("RequestedQuotas", [])
                token = page.get("NextToken")
                if not token:
                    break
    except Exception as e:  # botocore's ClientError
        if error_code(e) in DENIED_CODES:
            raise AwsError(f"cannot list the requests for the quota {need.describe()}: the "
                           f"credentials lack {HISTORY_PERMISSION}") from None
        with aws_errors(f"list the requests for the quota {need.quota.code}"):
            raise
    found = [r for r in found if r.get("Status") in OPEN_STATUSES]
    return max(found, key=lambda r: str(r.get("Created", ""))) if found else None


def file(session: Any, quota_plan: QuotaPlan) -> list[Increase]:
    """File RequestServiceQuotaIncrease for each increase to file; returns them, `filed` set.
    AwsError names the quota when AWS refuses one (those filed before it stay filed)."""
    client = session.client("service-quotas")
    done: list[Increase] = []
    for item in quota_plan.to_file:
        try:
            with aws_errors(f"request {item.desired} vCPUs for the quota {item.need.describe()} "
                            f"(needs {REQUEST_PERMISSION})"):
                reply = client.request_service_quota_increase(
                    ServiceCode=SERVICE_CODE, QuotaCode=item.need.quota.code,
                    DesiredValue=float(item.desired))
        except AwsError as e:
            raise AwsError(f"{str(e).rstrip('.')}. {_filed_so_far(done)}") from None
        item.filed = reply.get("RequestedQuota", {})
        done.append(item)
    return done


def _filed_so_far(done: Sequence[Increase]) -> str:
    """What a failure part-way through `file` left: the requests already filed, and that a
    second run files only the rest (an open request is not filed again)."""
    if not done:
        return "Nothing was requested"
    filed = ", ".join(f"{i.need.quota.code} (request {i.filed.get('Id') if i.filed else '?'})"
                      for i in done)
    return (f"Requested before it: {filed}, left open; run request-quota again to file the "
            "rest (an open request is not filed twice)")
