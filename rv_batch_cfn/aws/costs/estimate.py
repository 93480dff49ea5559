"""What a job cost: an estimate per attempt, from its running time, its share of the instance it
ran on, and that instance's price at the time.

- The instance: the attempt's container instance (ECS DescribeContainerInstances: attributes
  `ecs.instance-type` and `ecs.availability-zone`), as long as ECS still knows it ("observed");
  otherwise the cheapest type of the job's compute environments that fits the job ("assumed"):
  each family's smallest fitting size, then (on-demand environments) the lowest price from the
  Pricing API, then the fewest vCPUs and memory.
- The share (`SHARE_RULE`): the largest of the job's vCPUs, GPUs and memory as a fraction of the
  instance's. A job alone on an instance larger than it needs is charged its share only: what
  is left was free for other jobs, and Batch chose the type.
- The price: spot environments, EC2's spot price history for the type and zone, time-weighted
  over the attempt; on-demand environments, the on-demand price (pricing.py).
- Every attempt counts, a spot reclaim's included; an attempt still running counts to now.

This module reads DescribeJobs' answers as they come (it does not import jobs/listing.py, which
imports it); `estimate_jobs` is the one entry point. What ran (attempts), where (container
instances, compute environments, the assumed type) and at what share are read together, once
per command, into one context that every estimate reads; prices are pricing.py's.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Iterable, Optional, Sequence

from ...instance_types import InstanceType
from ...instance_types import lookup as catalogue_lookup
from ..clients import ec2
from ..clients.batch import JobSize, job_size, read_queue
from .pricing import PriceBook, Price
from ..clients.session import aws_errors, error_code

NOT_COUNTED = ("not counted: instance start-up and idle time before scale-in, EBS volumes, "
               "data transfer, CloudWatch Logs")
SHARE_RULE = ("share of an instance: the largest of the job's vCPUs, GPUs and memory as a "
              "fraction of the instance's")
OBSERVED, ASSUMED = "observed", "assumed"
SPOT, ON_DEMAND = "spot", "on-demand"
DESCRIBE_BATCH = 100  # DescribeJobs and DescribeContainerInstances take at most 100 each


@dataclass(frozen=True)
class Estimate:
    """The estimated cost of one attempt of one job (or array child)."""

    job_id: str
    attempt: int  # from 1
    seconds: float
    instance_type: Optional[str]
    zone: Optional[str]
    lifecycle: str  # SPOT or ON_DEMAND
    basis: str  # OBSERVED (ECS said) or ASSUMED (the cheapest fitting type)
    share: float
    share_by: str  # "vCPUs", "GPUs", "memory" or "whole instance"
    price: Optional[Price]
    running: bool = False  # counted to now
    note: str = ""
    started: Optional[datetime] = None

    @property
    def usd(self) -> Optional[float]:
        """seconds / 3600 × share × price per hour; None when no price is known."""
        if self.price is None:
            return None
        return self.seconds / 3600 * self.share * self.price.usd_per_hour

    def as_dict(self) -> dict:
        """The estimate and every input it was made from."""
        return {"job_id": self.job_id, "attempt": self.attempt,
                "started": self.started.strftime("%Y-%m-%dT%H:%M:%SZ") if self.started else None,
                "seconds": round(self.seconds, 3), "instance_type": self.instance_type,
                "zone": self.zone, "lifecycle": self.lifecycle, "basis": self.basis,
                "share": round(self.share, 6), "share_by": self.share_by,
                "usd_per_hour": None if self.price is None else self.price.usd_per_hour,
                "price_source": None if self.price is None else self.price.source,
                "price_note": "" if self.price is None else self.price.note,
                "running": self.running, "note": self.note,
                "usd": None if self.usd is None else round(self.usd, 6)}


@dataclass(frozen=True)
class JobCost:
    """Every attempt of one job (an array job: every attempt of every child)."""

    estimates: tuple[Estimate, ...] = ()

    @property
    def usd(self) -> float:
        """The sum of the attempts whose price is known."""
        return sum(e.usd for e in self.estimates if e.usd is not None)

    @property
    def unpriced(self) -> int:
        """Attempts that ran but whose price is unknown (left out of `usd`)."""
        return sum(1 for e in self.estimates if e.usd is None)

    @property
    def assumed(self) -> bool:
        return any(e.basis == ASSUMED for e in self.estimates)

    @property
    def running(self) -> bool:
        return any(e.running for e in self.estimates)

    @property
    def usd_per_hour_now(self) -> float:
        """What its attempts running now cost per hour: share × price of each (0 when none
        runs, or its price is unknown)."""
        return sum(e.share * e.price.usd_per_hour for e in self.estimates
                   if e.running and e.price is not None)

    def as_dict(self) -> dict:
        return {"usd": round(self.usd, 6), "unpriced_attempts": self.unpriced,
                "assumed": self.assumed, "running": self.running,
                "usd_per_hour_now": round(self.usd_per_hour_now, 6),
                "attempts": [e.as_dict() for e in self.estimates]}


def total(costs: Iterable[Optional[JobCost]]) -> float:
    """The sum of the jobs' costs (USD)."""
    return sum(c.usd for c in costs if c is not None)


def rate_now(costs: Iterable[Optional[JobCost]]) -> float:
    """What the jobs running now cost per hour, together (USD)."""
    return sum(c.usd_per_hour_now for c in costs if c is not None)


# -- what ran: attempts ------------------------------------------------------------------------

@dataclass(frozen=True)
class _Attempt:
    job_id: str
    number: int
    started: datetime
    stopped: Optional[datetime]  # None: still running
    instance_arn: Optional[str]


def _time(ms: Optional[int]) -> Optional[datetime]:
    return datetime.fromtimestamp(ms / 1000, timezone.utc) if ms else None


def attempts_of(job: dict) -> list[_Attempt]:
    """The attempts of one DescribeJobs entry that started: the finished ones (`attempts`),
    then the current one while the job runs (its `container`), or the job's own times when
    Batch lists no attempt with times."""
    found: list[_Attempt] = []
    for attempt in job.get("attempts") or ():
        started = _time(attempt.get("startedAt"))
        if started is None:
            continue  # the instance never started the container: nothing ran
        found.append(_Attempt(job["jobId"], len(found) + 1, started,
                              _time(attempt.get("stoppedAt")) or started,
                              (attempt.get("container") or {}).get("containerInstanceArn")))
    started = _time(job.get("startedAt"))
    container = job.get("container") or {}
    running = job.get("status") == "RUNNING"
    if started is not None and (running or not found) and all(a.started != started
                                                               for a in found):
        stopped = None if running else _time(job.get("stoppedAt")) or started
        found.append(_Attempt(job["jobId"], len(found) + 1, started, stopped,
                              container.get("containerInstanceArn")))
    return found


# -- where it ran: compute environments and container instances --------------------------------

@dataclass
class _Environment:
    arn: str
    lifecycle: str
    type_names: list[str]
    subnets: list[str]
    cluster: str  # the ECS cluster's ARN


@dataclass
class _Instance:
    instance_type: str
    zone: str
    environment: Optional[_Environment]


@dataclass
class _Context:
    session: Any
    book: PriceBook
    now: datetime
    environments: dict[str, list[_Environment]]  # queue -> its environments, in order
    sizes: dict[str, InstanceType] = field(default_factory=dict)
    lookup: Optional[ec2.TypeLookup] = None
    instances: dict[str, _Instance] = field(default_factory=dict)  # container instance id ->
    zones: dict[str, str] = field(default_factory=dict)  # subnet -> zone


def _environments(batch: Any, queue: str) -> list[_Environment]:
    result = []
    for env in read_queue(batch, queue)[1]:
        resources = env.get("computeResources") or {}
        lifecycle = SPOT if resources.get("type") in ("SPOT", "FARGATE_SPOT") else ON_DEMAND
        result.append(_Environment(env["computeEnvironmentArn"], lifecycle,
                                   list(resources.get("instanceTypes") or ()),
                                   list(resources.get("subnets") or ()),
                                   env.get("ecsClusterArn") or ""))
    return result


def _instance_id(arn: str) -> str:
    return arn.rsplit("/", 1)[-1]


def _cluster_of(arn: str) -> Optional[str]:
    """The cluster name in a long container-instance ARN (`container-instance/cluster/id`)."""
    parts = arn.split(":", 5)[-1].split("/")
    return parts[1] if len(parts) == 3 else None


def _resolve_instances(ctx: _Context, arns: Iterable[str]) -> None:
    """Instance type and zone of every container instance ECS still knows, in ctx.instances."""
    wanted = sorted({a for a in arns if a and a.startswith("arn:") and ":container-instance/"
                     in a and _instance_id(a) not in ctx.instances})
    if not wanted:
        return
    environments = {e.cluster: e for envs in ctx.environments.values() for e in envs if e.cluster}
    ecs = ctx.session.client("ecs")
    for cluster, env in environments.items():
        name = cluster.rsplit("/", 1)[-1]
        # A long ARN names its cluster; a short one may be in any of the stack's clusters.
        mine = [a for a in wanted if _cluster_of(a) in (None, name)
                and _instance_id(a) not in ctx.instances]
        for start in range(0, len(mine), DESCRIBE_BATCH):
            try:
                answer = ecs.describe_container_instances(
                    cluster=cluster, containerInstances=mine[start:start + DESCRIBE_BATCH])
            except Exception as e:  # noqa: BLE001 - a cluster gone with its environment
                if error_code(e) in ("ClusterNotFoundException", "ClientException",
                                     "InvalidParameterException"):
                    continue
                with aws_errors(f"describe the container instances of {name}"):
                    raise
            for found in answer.get("containerInstances") or ():
                attributes = {a["name"]: a.get("value") for a in found.get("attributes") or ()}
                kind, zone = attributes.get("ecs.instance-type"), attributes.get(
                    "ecs.availability-zone")
                if kind and zone:
                    ctx.instances[_instance_id(found["containerInstanceArn"])] = _Instance(
                        kind, zone, env)


def _sizes(ctx: _Context, names: Iterable[str]) -> None:
    """Sizes of instance types and families (EC2, else the project's catalogue), in ctx.sizes."""
    missing = sorted({n for n in names if n and n not in ctx.sizes})
    if not missing:
        return
    lookup = ec2.describe_types(ctx.session.client("ec2"), missing)
    for name, types in lookup.types.items():
        for t in types:
            ctx.sizes.setdefault(t.name, t)
        ctx.sizes.setdefault(name, types[0])
    for name in lookup.unknown:
        known = catalogue_lookup(name)
        if known is not None:
            ctx.sizes[name] = known
    ctx.lookup = lookup if ctx.lookup is None else ec2.TypeLookup(
        {**ctx.lookup.types, **lookup.types}, ctx.lookup.unknown + lookup.unknown)


def _family_members(ctx: _Context, names: Sequence[str]) -> list[InstanceType]:
    members: dict[str, InstanceType] = {}
    for name in names:
        if ec2.is_family(name):
            for t in (ctx.lookup.types.get(name, ()) if ctx.lookup else ()):
                members[t.name] = t
        elif name in ctx.sizes:
            members[name] = ctx.sizes[name]
    return list(members.values())


def _cheapest_fit(ctx: _Context, queue: str, size: JobSize
                  ) -> tuple[Optional[InstanceType], Optional[_Environment]]:
    """The cheapest type of the queue's environments (in the queue's order) that fits the job,
    as Batch's allocation prefers: of each family its smallest fitting size; then, in an
    on-demand environment, the lowest price from the Pricing API (unknown prices last; the
    estimate asks it for that price anyway); then fewest vCPUs, memory, name. A spot
    environment's candidates are not priced in advance: spot prices differ by zone and hour."""
    for env in ctx.environments.get(queue, ()):
        fitting = sorted((t for t in _family_members(ctx, env.type_names)
                          if t.fits(size.vcpus, size.memory_mib, size.gpus)),
                         key=lambda t: (t.vcpus, t.memory_mib, t.name))
        smallest: dict[str, InstanceType] = {}
        for t in fitting:
            smallest.setdefault(t.name.split(".")[0], t)
        if smallest:
            best = min(smallest.values(), key=lambda t: (
                _list_price(ctx, t.name) if env.lifecycle == ON_DEMAND else 0.0, t.vcpus,
                t.memory_mib, t.name))
            return best, env
    return None, None


def _list_price(ctx: _Context, instance_type: str) -> float:
    price = ctx.book.on_demand(instance_type)
    return price.usd_per_hour if price is not None else float("inf")


def share_of(size: JobSize, instance: InstanceType) -> tuple[float, str]:
    """`SHARE_RULE`: the largest fraction of the instance's vCPUs, GPUs and memory that the job
    reserves, at most 1; the whole instance when the job's size is unknown."""
    parts = []
    if instance.vcpus and size.vcpus:
        parts.append((size.vcpus / instance.vcpus, "vCPUs"))
    if instance.gpus and size.gpus:
        parts.append((size.gpus / instance.gpus, "GPUs"))
    if instance.memory_mib and size.memory_mib:
        parts.append((size.memory_mib / instance.memory_mib, "memory"))
    if not parts:
        return 1.0, "whole instance"
    share, by = max(parts)
    return min(share, 1.0), by


# -- the estimate --------------------------------------------------------------------------------

def _zones(ctx: _Context, env: _Environment) -> list[str]:
    missing = [s for s in env.subnets if s not in ctx.zones]
    if missing:
        zones, _ = ec2.subnet_zones(ctx.session.client("ec2"), missing)
        ctx.zones.update(zones)
    return sorted({ctx.zones[s] for s in env.subnets if s in ctx.zones})


def _price(ctx: _Context, lifecycle: str, instance_type: str, zones: Sequence[str],
           start: datetime, end: datetime) -> tuple[Optional[Price], Optional[str]]:
    """(price, zone): spot in the given zone (the cheapest of several), else on-demand."""
    if lifecycle == SPOT:
        priced = [(p, z) for z in zones
                  for p in [ctx.book.spot(instance_type, z, start, end)] if p is not None]
        if priced:
            return min(priced, key=lambda pz: pz[0].usd_per_hour)
        fallback = ctx.book.on_demand(instance_type)
        if fallback is not None:
            fallback = Price(fallback.usd_per_hour, fallback.source,
                             "no spot price history: the on-demand price, an upper bound")
        return fallback, (zones[0] if len(zones) == 1 else None)
    return ctx.book.on_demand(instance_type), (zones[0] if len(zones) == 1 else None)


def _estimate(ctx: _Context, queue: str, size: JobSize, attempt: _Attempt) -> Estimate:
    end = attempt.stopped or ctx.now
    seconds = max(0.0, (end - attempt.started).total_seconds())
    running = attempt.stopped is None
    observed = ctx.instances.get(_instance_id(attempt.instance_arn or ""))
    envs = ctx.environments.get(queue, [])
    if observed is not None and observed.instance_type in ctx.sizes:
        env = observed.environment or (envs[0] if envs else None)
        kind = ctx.sizes[observed.instance_type]
        lifecycle = env.lifecycle if env else ON_DEMAND
        price, _ = _price(ctx, lifecycle, kind.name, [observed.zone], attempt.started, end)
        share, by = share_of(size, kind)
        return Estimate(attempt.job_id, attempt.number, seconds, kind.name, observed.zone,
                        lifecycle, OBSERVED, share, by, price, running, "", attempt.started)
    kind, env = _cheapest_fit(ctx, queue, size)
    if kind is None or env is None:
        lifecycle = envs[0].lifecycle if envs else ON_DEMAND
        return Estimate(attempt.job_id, attempt.number, seconds, None, None, lifecycle, ASSUMED,
                        1.0, "whole instance", None, running,
                        "no instance type of the queue's compute environments fits the job "
                        "(or they are 'optimal'): no price", attempt.started)
    zones = _zones(ctx, env) if env.lifecycle == SPOT else []
    price, zone = _price(ctx, env.lifecycle, kind.name, zones, attempt.started, end)
    share, by = share_of(size, kind)
    return Estimate(attempt.job_id, attempt.number, seconds, kind.name, zone, env.lifecycle,
                    ASSUMED, share, by, price, running,
                    "ECS no longer knows the instance: the cheapest fitting type of the compute "
                    "environment" + (", in its cheapest zone" if len(zones) > 1 else ""),
                    attempt.started)


def _children(batch: Any, job: dict) -> list[dict]:
    size = (job.get("arrayProperties") or {}).get("size") or 0
    ids = [f"{job['jobId']}:{i}" for i in range(size)]
    found: list[dict] = []
    for start in range(0, len(ids), DESCRIBE_BATCH):
        with aws_errors(f"describe the children of array job {job['jobId']}"):
            found += batch.describe_jobs(jobs=ids[start:start + DESCRIBE_BATCH])["jobs"]
    return found


def _definitions(batch: Any, jobs: Iterable[dict]) -> dict[str, dict]:
    """Job definition ARN -> definition, for the jobs whose description lacks the container's
    resourceRequirements (which DescribeJobs reports with any submit-time override applied)."""
    arns = sorted({j["jobDefinition"] for j in jobs if j.get("jobDefinition")
                   and not (j.get("container") or {}).get("resourceRequirements")})
    found: dict[str, dict] = {}
    for start in range(0, len(arns), DESCRIBE_BATCH):
        with aws_errors("describe job definitions"):
            for page in batch.get_paginator("describe_job_definitions").paginate(
                    jobDefinitions=arns[start:start + DESCRIBE_BATCH]):
                found.update({d["jobDefinitionArn"]: d for d in page["jobDefinitions"]})
    return found


def _size(job: dict, definitions: dict[str, dict]) -> JobSize:
    """What the job reserves: its container's resourceRequirements, else its job definition's,
    else the container's vcpus and memory."""
    container = job.get("container") or {}
    if not container.get("resourceRequirements") and job.get("jobDefinition") in definitions:
        return job_size(definitions[job["jobDefinition"]])
    return job_size({"containerProperties": container})


def estimate_jobs(session: Any, jobs: Sequence[tuple[str, dict]], now: datetime,
                  book: Optional[PriceBook] = None) -> dict[str, JobCost]:
    """job id -> its estimated cost, for (queue name, DescribeJobs entry) pairs. An array job's
    cost is its children's (asked of Batch here). `book` keeps prices between calls (--watch)."""
    batch = session.client("batch")
    region = batch.meta.region_name
    ctx = _Context(session, book or PriceBook(session, region), now,
                   {q: _environments(batch, q) for q in sorted({q for q, _ in jobs})})
    definitions = _definitions(batch, [job for _, job in jobs])
    runs: list[tuple[str, str, JobSize, list[_Attempt]]] = []  # (job id, queue, size, attempts)
    for queue, job in jobs:
        members = _children(batch, job) if (job.get("arrayProperties") or {}).get("size") \
            else [job]
        size = _size(job, definitions)
        for member in members:
            runs.append((job["jobId"], queue, size, attempts_of(member)))
    _resolve_instances(ctx, [a.instance_arn or "" for *_, tried in runs for a in tried])
    _sizes(ctx, [i.instance_type for i in ctx.instances.values()]
           + [n for envs in ctx.environments.values() for e in envs for n in e.type_names])
    # One spot-history query per (type, zone) covering every attempt that needs it.
    for _, queue, size, tried in runs:
        for attempt in tried:
            seen = ctx.instances.get(_instance_id(attempt.instance_arn or ""))
            if seen is not None and seen.environment and seen.environment.lifecycle == SPOT:
                ctx.book.want_spot(seen.instance_type, seen.zone, attempt.started,
                                   attempt.stopped or now)
            elif seen is None:
                kind, env = _cheapest_fit(ctx, queue, size)
                if kind is not None and env is not None and env.lifecycle == SPOT:
                    for zone in _zones(ctx, env):
                        ctx.book.want_spot(kind.name, zone, attempt.started,
                                           attempt.stopped or now)
    costs: dict[str, list[Estimate]] = {job["jobId"]: [] for _, job in jobs}
    for job_id, queue, size, tried in runs:
        costs[job_id] += [_estimate(ctx, queue, size, a) for a in tried]
    return {job_id: JobCost(tuple(found)) for job_id, found in costs.items()}
