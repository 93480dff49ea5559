"""The jobs of a stack's queues, grouped by Raster Vision pipeline run: what `jobs` shows.

A job belongs to a run by the tags the `batch_retry` runner sets, or else by the name every
Raster Vision runner gives it, `<pipeline run>-<command>-<uuid>`. Times are UTC. Each job can
carry its estimated cost (costs/estimate.py). The report serves `jobs`, `costs` (its fallback)
and `--watch`.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta, timezone
from typing import Any, Callable, Iterable, Iterator, Optional, Sequence

from ...errors import AwsError, Problem, RvBatchError
from ...template import outputs as out
from ..costs import estimate as job_costs
from ..clients.session import aws_errors
from ..clients.stack import complete_stack, require_outputs, stack_outputs
from . import capacity as job_capacity

STATES = ("SUBMITTED", "PENDING", "RUNNABLE", "STARTING", "RUNNING", "SUCCEEDED", "FAILED")
ENDED = ("SUCCEEDED", "FAILED")
# The tags of rastervision/batch_retry (which imports nothing of this package, nor it of that).
RUN_TAG, COMMAND_TAG = "rastervision:pipeline-run", "rastervision:command"
JOB_NAME = re.compile(r"^(?P<run>.+)-(?P<command>[^-]+)-"
                      r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
# A job RUNNABLE this long (scaling from zero takes a few minutes) is worth a look with doctor.
STUCK_AFTER = timedelta(minutes=10)
DESCRIBE_BATCH = 100  # DescribeJobs takes at most 100 ids
_SINCE = re.compile(r"^(\d+)\s*([mhdw])$")
_UNITS = {"m": "minutes", "h": "hours", "d": "days", "w": "weeks"}
SINCE_ALLOWED = ("allowed: a duration such as 30m, 12h, 1d or 2w, or a UTC date or time such "
                 "as 2025-01-31 or 2025-01-31T08:00")


def parse_since(text: str, now: datetime) -> datetime:
    """The earliest creation time `--since` allows: `now` minus a duration, or a UTC date."""
    value = text.strip()
    match = _SINCE.match(value.lower())
    if match:
        return now - timedelta(**{_UNITS[match.group(2)]: int(match.group(1))})
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise RvBatchError(str(Problem("--since", text, SINCE_ALLOWED))) from None
    return moment.replace(tzinfo=timezone.utc) if moment.tzinfo is None else moment


def parse_statuses(values: Iterable[str]) -> tuple[str, ...]:
    """Job states from --status (repeatable, comma-separated, any case)."""
    found = [v.strip().upper() for value in values for v in value.split(",") if v.strip()]
    wrong = [v for v in found if v not in STATES]
    if wrong:
        raise RvBatchError(str(Problem("--status", ",".join(wrong),
                                       f"allowed: {', '.join(STATES)}")))
    return tuple(dict.fromkeys(found))


def _time(ms: Optional[int]) -> Optional[datetime]:
    return datetime.fromtimestamp(ms / 1000, timezone.utc) if ms else None


@dataclass(frozen=True)
class Job:
    """One job (an array job counts once), as `jobs` reports it."""

    job_id: str
    name: str
    run: str  # "" when neither its tags nor its name say
    command: str
    kind: str  # "gpu", "cpu" or "gpu-on-demand": the stack queue it was found in
    queue: str
    status: str
    reason: str
    attempts: int
    created: datetime
    started: Optional[datetime] = None
    stopped: Optional[datetime] = None
    array_size: Optional[int] = None
    array_states: dict[str, int] = field(default_factory=dict)
    cost: Optional[job_costs.JobCost] = None  # with read_jobs(costs=True)

    @property
    def ended(self) -> bool:
        return self.status in ENDED

    def duration(self, now: datetime) -> Optional[timedelta]:
        """Run time so far (to `now` while it runs); None before it starts."""
        if self.started is None:
            return None
        return (self.stopped or now) - self.started

    @property
    def capacity(self) -> str:
        """"waiting" for instance capacity, "cancelled" by the queue's time limit for it, or ""."""
        return job_capacity.state(self.status, self.reason)

    def stuck(self, now: datetime) -> bool:
        """RUNNABLE with a reason from Batch, or for longer than STUCK_AFTER."""
        return self.status == "RUNNABLE" and (bool(self.reason) or now - self.created > STUCK_AFTER)

    def as_dict(self, now: datetime) -> dict:
        duration = self.duration(now)
        return {"job_id": self.job_id, "name": self.name, "run": self.run,
                "command": self.command, "kind": self.kind, "queue": self.queue,
                "status": self.status, "reason": self.reason, "attempts": self.attempts,
                "created": _iso(self.created), "started": _iso(self.started),
                "stopped": _iso(self.stopped),
                "duration_seconds": None if duration is None else int(duration.total_seconds()),
                "array_size": self.array_size, "array_states": self.array_states,
                "stuck": self.stuck(now), "capacity": self.capacity or None,
                **({"cost": self.cost.as_dict()} if self.cost is not None else {})}


def _iso(moment: Optional[datetime]) -> Optional[str]:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ") if moment else None


@dataclass(frozen=True)
class Run:
    """The jobs of one pipeline run, in the order they were submitted."""

    name: str
    jobs: tuple[Job, ...]

    @property
    def latest(self) -> datetime:
        return max(j.created for j in self.jobs)

    @property
    def cost_usd(self) -> float:
        """The sum of its jobs' estimated costs (0 when costs were not read)."""
        return job_costs.total(j.cost for j in self.jobs)

    @property
    def usd_per_hour_now(self) -> float:
        """What its jobs running now cost per hour (0 when none runs or costs were not read)."""
        return job_costs.rate_now(j.cost for j in self.jobs)


@dataclass(frozen=True)
class JobsReport:
    """The jobs of a stack's queues created since `since`, grouped by run, most recent first."""

    stack: str
    region: str
    queues: dict[str, str]  # kind -> queue name
    since: datetime
    now: datetime
    runs: tuple[Run, ...]
    run: Optional[str] = None  # the --run and --status the jobs were narrowed to
    statuses: tuple[str, ...] = ()
    costed: bool = False  # each job carries its estimated cost
    pricing_problem: Optional[str] = None  # why on-demand prices are unknown
    cost_problem: Optional[str] = None  # why no cost could be estimated at all
    # queue name -> seconds its time limit lets a job wait for capacity (None: no limit); read
    # only when a job waits for capacity or was cancelled for it.
    capacity_limits: dict[str, Optional[int]] = field(default_factory=dict)

    @property
    def on_demand_queue(self) -> bool:
        """The stack has the on-demand GPU queue (`rerun --on-demand` can use it)."""
        return ON_DEMAND_KIND in self.queues

    @property
    def capacity_jobs(self) -> tuple[Job, ...]:
        """The jobs waiting for instance capacity, or cancelled for want of it."""
        return tuple(j for j in self.jobs if j.capacity)

    def capacity_advice(self, job: Job) -> str:
        """What to say of a job of `capacity_jobs`: the time limit, what to do."""
        return job_capacity.advice(self.stack, job.run, job.kind, job.capacity,
                                   self.capacity_limits.get(job.queue), self.on_demand_queue)

    @property
    def cost_notes(self) -> tuple[str, ...]:
        """What every total leaves out, the share rule, and where on-demand prices came from."""
        notes = [job_costs.NOT_COUNTED, job_costs.SHARE_RULE]
        if self.cost_problem:
            notes.insert(0, f"no estimate: {self.cost_problem}")
        if self.pricing_problem:
            notes.append(f"the Pricing API could not be used ({self.pricing_problem}): "
                         "on-demand prices are unknown, and left out of the totals (allow "
                         "pricing:GetProducts to have them)")
        return tuple(notes)

    @property
    def jobs(self) -> tuple[Job, ...]:
        return tuple(j for r in self.runs for j in r.jobs)

    @property
    def all_ended(self) -> bool:
        return all(j.ended for j in self.jobs)

    @property
    def stuck(self) -> tuple[Job, ...]:
        return tuple(j for j in self.jobs if j.stuck(self.now))

    @property
    def usd_per_hour_now(self) -> float:
        """The spend rate now: what the jobs running at `now` cost per hour, together."""
        return job_costs.rate_now(j.cost for j in self.jobs)

    @property
    def running_now(self) -> int:
        """The jobs (an array job once) with an attempt running at `now`."""
        return sum(1 for j in self.jobs if j.cost is not None and j.cost.running)

    def as_dict(self) -> dict:
        costed = ({"cost_usd": round(job_costs.total(j.cost for j in self.jobs), 6),
                   "usd_per_hour_now": round(self.usd_per_hour_now, 6),
                   "running_now": self.running_now,
                   "cost_notes": list(self.cost_notes)} if self.costed else {})
        return {"stack": self.stack, "region": self.region, "queues": self.queues,
                "since": _iso(self.since), "now": _iso(self.now), "run": self.run,
                "statuses": list(self.statuses), **costed,
                "capacity": [{"job_id": j.job_id, "run": j.run, "command": j.command,
                              "state": j.capacity, "advice": self.capacity_advice(j)}
                             for j in self.capacity_jobs],
                "runs": [{"run": r.name, "jobs": [j.as_dict(self.now) for j in r.jobs],
                          **({"cost_usd": round(r.cost_usd, 6),
                              "usd_per_hour_now": round(r.usd_per_hour_now, 6)}
                             if self.costed else {})}
                         for r in self.runs]}


# The kind of the optional on-demand GPU queue (GpuOnDemandMaximumVCPUs above 0).
ON_DEMAND_KIND = out.GPU_ON_DEMAND_KIND


def stack_queues(session: Any, stack_name: str) -> dict[str, str]:
    """kind -> job queue name, from the stack's outputs."""
    with aws_errors(f"read stack {stack_name!r}"):
        stack = complete_stack(session.client("cloudformation"), stack_name)
    return queues_of(stack)


def queues_of(stack: dict) -> dict[str, str]:
    """kind -> job queue name, from a stack's description: GPU, CPU, and the on-demand GPU
    queue when the stack has one."""
    names = require_outputs(stack, list(out.QUEUE_OUTPUTS))
    queues = {kind: names[queue] for kind, (queue, _) in out.KIND_OUTPUTS.items()}
    on_demand = stack_outputs(stack).get(out.GPU_ON_DEMAND_JOB_QUEUE)
    if on_demand:
        queues[ON_DEMAND_KIND] = on_demand
    return queues


def list_queue(batch: Any, queue: str, since: datetime) -> list[dict]:
    """Summaries of the queue's jobs created since `since`, in every state (every page)."""
    since_ms = int(since.timestamp() * 1000)
    # With a filter, ListJobs returns jobs in every state (jobStatus is ignored).
    pages = batch.get_paginator("list_jobs").paginate(
        jobQueue=queue, filters=[{"name": "AFTER_CREATED_AT", "values": [str(since_ms)]}])
    with aws_errors(f"list the jobs of queue {queue}"):
        summaries = [s for page in pages for s in page["jobSummaryList"]]
    # Array children ("<parent id>:<index>") are listed by their parent's id, not by queue,
    # in AWS; moto lists them by queue too. The filter on creation time is moto's to ignore.
    return [s for s in summaries if ":" not in s["jobId"] and s.get("createdAt", 0) >= since_ms]


def describe(batch: Any, job_ids: Sequence[str]) -> list[dict]:
    """The full descriptions (tags, attempts, reasons) of the jobs, 100 per call."""
    found: list[dict] = []
    for start in range(0, len(job_ids), DESCRIBE_BATCH):
        with aws_errors("describe jobs"):
            found += batch.describe_jobs(jobs=list(job_ids[start:start + DESCRIBE_BATCH]))["jobs"]
    return found


def run_and_command(job: dict) -> tuple[str, str]:
    """The pipeline run and command of a job: its tags, else its name, else ("", name)."""
    tags = job.get("tags") or {}
    if tags.get(RUN_TAG) and tags.get(COMMAND_TAG):
        return tags[RUN_TAG], tags[COMMAND_TAG]
    match = JOB_NAME.match(job["jobName"])
    return (match.group("run"), match.group("command")) if match else ("", job["jobName"])


def reason(job: dict) -> str:
    """What Batch says about the job's state, with the container's reason and exit code (the
    job's, else its last attempt's)."""
    parts = [job.get("statusReason") or ""]
    tried = job.get("attempts") or [{}]
    container = {**(tried[-1].get("container") or {}),
                 **{k: v for k, v in (job.get("container") or {}).items() if v is not None}}
    if container.get("reason") and container["reason"] not in parts[0]:
        parts.append(container["reason"])
    if job.get("status") == "FAILED" and container.get("exitCode") not in (None, 0):
        parts.append(f"exit code {container['exitCode']}")
    return "; ".join(p for p in parts if p)


def streams(job: dict) -> list[str]:
    """The log stream of every attempt so far, in order: the finished attempts' (DescribeJobs'
    `attempts`), then the current one's (the job's container) when it is not among them."""
    names = [(a.get("container") or {}).get("logStreamName") for a in job.get("attempts") or ()]
    names = [n for n in names if n]
    current = (job.get("container") or {}).get("logStreamName")
    if current and current not in names:
        names.append(current)
    return names


def attempts_so_far(job: dict) -> int:
    """Attempts made, the one running included."""
    return max(len(job.get("attempts") or ()), len(streams(job)))


def to_job(job: dict, kind: str, queue: str) -> Job:
    run, command = run_and_command(job)
    array = job.get("arrayProperties") or {}
    summary = array.get("statusSummary") or {}
    return Job(job["jobId"], job["jobName"], run, command, kind, queue, job["status"],
               reason(job), attempts_so_far(job), _time(job["createdAt"]),
               _time(job.get("startedAt")), _time(job.get("stoppedAt")),
               array.get("size"), {s: summary[s] for s in STATES if summary.get(s)})


def group(jobs: Iterable[Job]) -> tuple[Run, ...]:
    """Runs, the most recent first; each run's jobs in the order they were submitted."""
    runs: dict[str, list[Job]] = {}
    for job in jobs:
        runs.setdefault(job.run, []).append(job)
    grouped = [Run(name, tuple(sorted(members, key=lambda j: (j.created, j.name))))
               for name, members in runs.items()]
    return tuple(sorted(grouped, key=lambda r: (r.latest, r.name), reverse=True))


def read_jobs(session: Any, stack_name: str, since: datetime, run: Optional[str] = None,
              statuses: Sequence[str] = (), now: Optional[datetime] = None,
              costs: bool = False, book: Optional[Any] = None) -> JobsReport:
    """The jobs of the stack's GPU and CPU queues created since `since`, narrowed to one `run`
    and to `statuses` when given; with `costs`, each with its estimated cost (costs/estimate.py;
    `book`, a pricing.PriceBook, keeps prices from one call to the next)."""
    queues = stack_queues(session, stack_name)
    batch = session.client("batch")
    now = now or datetime.now(timezone.utc)
    found: list[tuple[Job, dict]] = []
    for kind, queue in queues.items():
        ids = [s["jobId"] for s in list_queue(batch, queue, since)]
        found += [(to_job(j, kind, queue), j) for j in describe(batch, ids)]
    found = [(j, raw) for j, raw in found if (run is None or j.run == run)
             and (not statuses or j.status in statuses)]
    problem = failure = None
    if costs:
        from ..costs.pricing import PriceBook

        book = book or PriceBook(session, batch.meta.region_name)
        try:
            estimates = job_costs.estimate_jobs(session, [(j.queue, raw) for j, raw in found],
                                                now, book)
        except AwsError as e:  # a missing permission costs the estimate, not the listing
            failure = str(e)
        else:
            found = [(replace(j, cost=estimates.get(j.job_id)), raw) for j, raw in found]
        problem = book.pricing_problem
    limits = (job_capacity.wait_limits(batch, queues) if any(j.capacity for j, _ in found)
              else {})
    return JobsReport(stack_name, batch.meta.region_name, queues, since, now,
                      group(j for j, _ in found), run, tuple(statuses), costs, problem, failure,
                      limits)


def watch(read: Callable[[], JobsReport], interval: float,
          sleep: Callable[[float], None] = time.sleep) -> Iterator[JobsReport]:
    """Reports from `read()` every `interval` seconds, until every job shown has ended."""
    while True:
        report = read()
        yield report
        if report.all_ended:
            return
        sleep(interval)
