"""What the stack needs of each EC2 vCPU quota, what the account has, and what to say about it.

A kind (GPU, CPU) can start a job only when its quota holds at least the vCPUs of the smallest
instance type of its environment that fits the job; it scales to MaximumVCPUs only when the
quota holds that much too. Quotas are per region and per account: another region, or another
account of the same organisation, has its own values.

The needs are read from the stack's parameter values (deployed, or about to be deployed), so
`doctor`, `deploy` and `request-quota` judge the same thing the same way.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping, Optional, Sequence

from ...instance_types import InstanceType
from ...template import outputs as out
from ...template import parameters as params
from ..clients import ec2
from ..clients.findings import NOTE, OK, PROBLEM
from ..clients.session import DENIED_CODES, aws_error, error_code
from .codes import ON_DEMAND, SERVICE_CODE, SPOT, VcpuQuota, quota_for

# The optional on-demand GPU queue's environment (GpuOnDemandMaximumVCPUs above 0): the GPU
# kind's types, on-demand, its own MaximumVCPUs; checked with the GPU kind.
ON_DEMAND_QUEUE = out.GPU_ON_DEMAND_KIND
GET_QUOTA = "servicequotas:GetServiceQuota"
GET_DEFAULT = "servicequotas:GetAWSDefaultServiceQuota"
# Batch's "optimal" picks from the C, M and R families: the Standard quota.
OPTIMAL_STANDS_FOR = "m5.large"
# Raster Vision's train jobs: on the GPU environment, with the stack's train size (TrainGPUs,
# ...), a need of their own when that size is not the GPU job's. ALL_KINDS: what doctor,
# deploy and request-quota judge (smoke-test's jobs have the kinds' own sizes).
TRAIN = "train"
ALL_KINDS = ("gpu", "cpu", TRAIN)


@dataclass(frozen=True)
class KindNeed:
    """What one kind's environment needs of EC2: its capacity, the instance types that fit its
    job (smallest first) and its MaximumVCPUs."""

    kind: str
    capacity: str
    fitting: tuple[InstanceType, ...]
    max_vcpus: int
    gpus: int = 0
    unsized: tuple[str, ...] = ()  # the kind's types (or families) EC2 could not size

    @property
    def label(self) -> str:
        """'GPU', 'CPU', 'on-demand GPU queue', or 'train (4 GPUs)' for the train size."""
        return kind_label(self.kind, self.gpus)


def kind_label(kind: str, gpus: int = 0) -> str:
    """A kind as messages name it: GPU, CPU, the on-demand GPU queue, train (4 GPUs)."""
    if kind == TRAIN:
        return f"train ({gpus} GPUs)"
    return "on-demand GPU queue" if kind == ON_DEMAND_QUEUE else kind.upper()


@dataclass(frozen=True)
class QuotaValue:
    """A quota's value in a region: applied to the account, else AWS's default; `denied` names
    the permission missing when it could not be read (value None)."""

    value: Optional[float]
    source: str = "applied"  # "applied" or "default"
    denied: str = ""
    name: str = ""  # as Service Quotas names it, when it answered


@dataclass
class QuotaNeed:
    """One quota as the stack needs it: the kinds drawing on it, the vCPUs of one instance that
    fits (the largest of the kinds' smallest), and the vCPUs to scale fully (the sum of their
    MaximumVCPUs)."""

    quota: VcpuQuota
    region: str
    kinds: list[str] = field(default_factory=list)
    one_instance: int = 0
    smallest: str = ""
    scale: int = 0
    # kind -> (vCPUs, name) of its smallest fitting type counting against this quota
    per_kind: dict[str, tuple[int, str]] = field(default_factory=dict)
    value: Optional[QuotaValue] = None
    # kind -> how messages name it (KindNeed.label)
    labels: dict[str, str] = field(default_factory=dict)

    @property
    def name(self) -> str:
        """The quota's name, as Service Quotas gave it when it answered."""
        return (self.value.name if self.value and self.value.name else self.quota.name)

    @property
    def kinds_text(self) -> str:
        """'GPU', 'CPU', 'GPU and CPU', 'GPU and train (4 GPUs)', ..."""
        return " and ".join(self.label(k) for k in self.kinds)

    def label(self, kind: str) -> str:
        """How messages name `kind`: 'GPU', 'CPU', 'train (4 GPUs)'."""
        return self.labels.get(kind, kind_label(kind))

    @property
    def applied(self) -> Optional[float]:
        """The quota's value in vCPUs; None when it could not be read."""
        return self.value.value if self.value else None

    def describe(self) -> str:
        """"'All G and VT Spot Instance Requests' (L-3819A6DF, us-east-1)"."""
        return f"'{self.name}' ({self.quota.code}, {self.region})"

    def as_dict(self) -> dict:
        """Plain data for --output json."""
        return {"code": self.quota.code, "name": self.name, "capacity": self.quota.capacity,
                "region": self.region, "kinds": list(self.kinds),
                "value": self.applied, "source": self.value.source if self.value else None,
                "one_instance_vcpus": self.one_instance, "smallest_instance_type": self.smallest,
                "maximum_vcpus": self.scale}


@dataclass(frozen=True)
class QuotaFinding:
    """What to say about one quota: a problem (no job of a kind can start), a note (scaling
    stops at the quota, or the quota could not be read), or ok."""

    status: str
    need: QuotaNeed
    message: str
    fix: str = ""

    def as_dict(self) -> dict:
        """Plain data for --output json."""
        return {"status": self.status, "message": self.message, "fix": self.fix,
                "quota": self.need.as_dict()}


def _size(kind: str, values: Mapping[str, str]) -> Optional[tuple[int, int, int]]:
    """(vCPUs, memory, GPUs) of the kind's jobs; None for a train size that is the GPU job's
    (or a stack without one): no need of its own."""
    if kind != TRAIN:
        kp = params.KINDS[kind]
        return (_int(values.get(kp.vcpus)), _int(values.get(kp.memory)),
                1 if kind == "gpu" else 0)
    if params.TRAIN_GPUS not in values:
        return None
    train = (_int(values.get(params.TRAIN_VCPUS)), _int(values.get(params.TRAIN_MEMORY)),
             _int(values.get(params.TRAIN_GPUS)))
    return None if train == _size("gpu", values) else train


def kind_needs(values: Mapping[str, str], lookup: Callable[[list[str]], ec2.TypeLookup],
               kinds: Sequence[str] = ALL_KINDS) -> list[KindNeed]:
    """Each kind's needs from the stack's parameter values (as DescribeStacks reports them or
    deploy will send them); `lookup` sizes instance types and families (describe_types). The
    train kind runs on the GPU kind's types and capacity, with the train size."""
    sizes = {k: _size(k, values) for k in kinds}
    kinds = [k for k in kinds if sizes[k] is not None]
    environment = {k: params.KINDS["gpu" if k == TRAIN else k] for k in kinds}
    names = {k: [n.strip() for n in values.get(environment[k].instance_types, "").split(",")
                 if n.strip()] for k in kinds}
    found = lookup(sorted({n for ns in names.values() for n in ns if n != ec2.OPTIMAL}))
    needs = []
    for kind in kinds:
        kp = environment[kind]
        concrete = [t for n in names[kind] for t in found.types.get(n, ())]
        if ec2.OPTIMAL in names[kind]:
            concrete.append(InstanceType(OPTIMAL_STANDS_FOR, 2, 8192))
        vcpus, memory, gpus = sizes[kind] or (0, 0, 0)
        fitting = [t for t in concrete if t.fits(vcpus, memory, gpus)] or concrete
        fitting = sorted(dict.fromkeys(fitting), key=lambda t: (t.vcpus, t.name))
        unsized = tuple(n for n in names[kind]
                        if n != ec2.OPTIMAL and not found.types.get(n))
        # The train kind draws on the GPU environment, whose MaximumVCPUs the GPU kind counts.
        max_vcpus = 0 if kind == TRAIN else _int(values.get(params.MAXIMUM_VCPUS))
        needs.append(KindNeed(kind, values.get(kp.capacity, SPOT) or SPOT, tuple(fitting),
                              max_vcpus, gpus, unsized))
        on_demand = _int(values.get(params.GPU_ON_DEMAND_MAX_VCPUS))
        if kind == "gpu" and on_demand > 0:
            needs.append(KindNeed(ON_DEMAND_QUEUE, ON_DEMAND, tuple(fitting), on_demand, gpus,
                                  unsized))
    return needs


def _int(text: Optional[str]) -> int:
    try:
        return int(float(text or 0))
    except ValueError:
        return 0


def quota_needs(needs: Sequence[KindNeed], region: str) -> list[QuotaNeed]:
    """The quotas the kinds draw on, each once: a quota shared by both kinds (both on Standard
    types, say) is one need holding both."""
    by_code: dict[str, QuotaNeed] = {}
    for k in needs:
        seen_here: set[str] = set()
        for t in k.fitting:
            quota = quota_for(t.name, k.capacity)
            if quota is None:
                continue
            need = by_code.setdefault(quota.code, QuotaNeed(quota, region))
            if quota.code in seen_here:
                continue  # the kind's smallest type of this quota came first
            seen_here.add(quota.code)
            need.kinds.append(k.kind)
            need.labels[k.kind] = k.label
            need.per_kind[k.kind] = (t.vcpus, t.name)
            if t.vcpus > need.one_instance:
                need.one_instance, need.smallest = t.vcpus, t.name
            need.scale += k.max_vcpus
    return list(by_code.values())


def read_value(client: Any, quota: VcpuQuota) -> QuotaValue:
    """The quota's value in the client's region: GetServiceQuota, else (no value applied to the
    account) GetAWSDefaultServiceQuota. A refused permission is a QuotaValue naming it, never
    an error; other failures raise AwsError."""
    key = {"ServiceCode": SERVICE_CODE, "QuotaCode": quota.code}
    try:
        got = client.get_service_quota(**key)["Quota"]
        return QuotaValue(got.get("Value"), "applied", name=got.get("QuotaName", ""))
    except Exception as e:  # botocore's ClientError; error_code tells the expected ones apart
        code = error_code(e)
        if code in DENIED_CODES:
            return QuotaValue(None, denied=GET_QUOTA)
        if code != "NoSuchResourceException":
            raise aws_error(f"read the quota {quota.code}", e) from None
    try:
        got = client.get_aws_default_service_quota(**key)["Quota"]
        return QuotaValue(got.get("Value"), "default", name=got.get("QuotaName", ""))
    except Exception as e:
        if error_code(e) in DENIED_CODES:
            return QuotaValue(None, denied=GET_DEFAULT)
        raise aws_error(f"read AWS's default of the quota {quota.code}", e) from None


def request_command(stack: str, region: str, kinds: Sequence[str]) -> str:
    """The command that requests what the stack needs (train jobs use the GPU environment;
    the on-demand GPU queue's quota comes with the GPU kind's, request-quota --kind gpu)."""
    named = list(dict.fromkeys("gpu" if k in (TRAIN, ON_DEMAND_QUEUE) else k for k in kinds))
    kind = named[0] if len(named) == 1 else "all"
    return (f"rv-batch-cfn request-quota --stack {shlex.quote(stack)} --region {region}"
            f" --kind {kind}")


def _maximum(need: QuotaNeed) -> str:
    """The parameters that bound the vCPUs the need's environments scale to."""
    names = [params.GPU_ON_DEMAND_MAX_VCPUS if k == ON_DEMAND_QUEUE else params.MAXIMUM_VCPUS
             for k in need.kinds]
    return " and ".join(dict.fromkeys(names))


def judge(needs: Sequence[QuotaNeed], kinds: Sequence[KindNeed], stack: str
          ) -> list[QuotaFinding]:
    """The findings about the quotas, their values read (QuotaNeed.value).

    A problem when no quota of a kind holds one instance that fits its job (no job of that
    kind can ever start); a note when a quota holds that but less than MaximumVCPUs, or when
    it could not be read."""
    found: list[QuotaFinding] = []
    # A kind can start a job when any of its quotas holds its own smallest fitting type.
    startable = {k.kind: any(n.applied is not None and n.applied >= n.per_kind[k.kind][0]
                             for n in needs if k.kind in n.kinds) for k in kinds}
    for n in needs:
        command = request_command(stack, n.region, n.kinds)
        environments = {"gpu" if k == TRAIN else k for k in n.kinds}
        shared = " (both environments draw on it)" if len(environments) > 1 else ""
        if n.value is None or n.value.denied:
            missing = n.value.denied if n.value else GET_QUOTA
            found.append(QuotaFinding(
                NOTE, n, f"{n.kinds_text} {n.quota.capacity_text} vCPU quota {n.describe()} "
                f"not checked: the credentials lack {missing}",
                f"Allow {GET_QUOTA} and {GET_DEFAULT} to check it, or look it up in the "
                "Service Quotas console (quotas are per region and per account)."))
            continue
        value = n.applied or 0
        what = (f"{n.kinds_text} {n.quota.capacity_text} vCPU quota {n.describe()} is "
                f"{value:g} vCPUs{shared}")
        short_here = [k for k in n.kinds if value < n.per_kind[k][0]]
        if short_here:
            blocked = [k for k in short_here if not startable.get(k, True)]
            vcpus, name = n.per_kind[(blocked or short_here)[0]]
            found.append(QuotaFinding(
                PROBLEM if blocked else NOTE, n,
                f"{what}, fewer than the {vcpus} of one {name}: "
                + (f"no {' or '.join(n.label(k) for k in blocked)} job can start (Batch "
                   "leaves it RUNNABLE)" if blocked else
                   f"{' and '.join(n.label(k) for k in short_here)} jobs can use only the "
                   "types of their other quotas"),
                f"Request at least {n.one_instance} vCPUs ({n.scale} to scale to "
                f"{_maximum(n)}): {command} (quotas are per region and per account)."))
        elif value < n.scale:
            found.append(QuotaFinding(
                NOTE, n, f"{what}, below the {n.scale} vCPUs of {_maximum(n)}: "
                f"scaling stops at {value:g} vCPUs",
                f"To scale fully: {command}"))
        else:
            found.append(QuotaFinding(OK, n, f"{what}: enough for {_maximum(n)} "
                                             f"({n.scale})"))
    return found


def stack_kind_needs(session: Any, values: Mapping[str, str],
                     kinds: Sequence[str] = ALL_KINDS,
                     known: Optional[ec2.TypeLookup] = None) -> list[KindNeed]:
    """kind_needs, the types sized by EC2 in the session's region; `known`: the types a caller
    has described already (doctor), used when it holds every name."""
    def lookup(names: list[str]) -> ec2.TypeLookup:
        if known is not None and set(names) <= set(known.types) | set(known.unknown):
            return known
        return ec2.describe_types(session.client("ec2"), names)

    return kind_needs(values, lookup, kinds)


def check_quotas(session: Any, values: Mapping[str, str], stack: str,
                 kinds: Sequence[str] = ALL_KINDS,
                 needs_by_kind: Optional[Sequence[KindNeed]] = None
                 ) -> tuple[list[QuotaNeed], list[QuotaFinding]]:
    """The quotas the stack with these parameter values needs, their values in the session's
    region, and the findings about them (`needs_by_kind`: stack_kind_needs, when already
    read)."""
    if needs_by_kind is None:
        needs_by_kind = stack_kind_needs(session, values, kinds)
    client = session.client("service-quotas")
    needs = quota_needs(needs_by_kind, client.meta.region_name)
    for n in needs:
        n.value = read_value(client, n.quota)
    return needs, judge(needs, needs_by_kind, stack)


# The warning when the quotas could not be read at all.
NOT_CHECKED = "EC2 vCPU quotas not checked: {}"


def warnings(session: Any, values: Mapping[str, str], stack: str,
             needs_by_kind: Optional[Sequence[KindNeed]] = None) -> list[str]:
    """The problems and notes about the quotas as warning lines (`deploy` shows them before
    the change set and goes on: a quota can be raised after deploying). Nothing for a template
    without this project's compute parameters; a failure to read is itself a warning.
    `needs_by_kind`: stack_kind_needs, when already read."""
    from ...errors import RvBatchError

    if params.MAXIMUM_VCPUS not in values or params.GPU.instance_types not in values:
        return []
    try:
        _, found = check_quotas(session, values, stack, needs_by_kind=needs_by_kind)
    except RvBatchError as e:
        return [NOT_CHECKED.format(e)]
    return [f"{f.message}. {f.fix}".rstrip(". ") for f in found if f.status != OK]


def kind_findings(session: Any, stack_name: str, kind: str) -> list[QuotaFinding]:
    """The quota findings of one kind of a deployed stack (`smoke-test`, when its job waits in
    RUNNABLE). AwsError when the stack cannot be read."""
    from ..clients.stack import complete_stack, stack_parameters

    stack = complete_stack(session.client("cloudformation"), stack_name)
    _, found = check_quotas(session, stack_parameters(stack), stack_name, (kind,))
    return found
