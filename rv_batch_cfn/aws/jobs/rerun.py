"""`rerun`: submit again the commands of a pipeline run that did not succeed.

When a job of a Raster Vision run fails (spot reclaims past its attempts, the queue's time
limit for capacity, a bug fixed since), Batch fails every job that depends on it, and the run
is dead. The jobs themselves say everything needed to resume it: their run and command (the
`batch_retry` runner's tags, else the job name `<run>-<command>-<uuid>`), job definition
revision, container command and overrides, array size, retry strategy, tags and `dependsOn`.

`plan()` reads the run's jobs from the stack's queues and decides; `submit()` submits the plan,
in the run's order, each new job depending on the new jobs of the commands the old one depended
on (a dependency on a command that succeeded is dropped: its output is there).

Idempotence. Every job submitted here carries the run's tags, an attempt number (ATTEMPT_TAG:
the run's first submission is attempt 1) and the id of the job it replaces (REPLACES_TAG).
Which commands attempt N submits follows from the jobs of the attempts before it, which have
all ended (a run with a job not ended is refused). So when attempt N is found with some of its
commands missing (a failure part-way, or an answer lost after Batch accepted the job), `plan()`
resumes attempt N: it submits only the missing commands, depending on the jobs attempt N has
already. A command is never submitted twice for one attempt.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Callable, Mapping, Optional, Sequence

from ...errors import AwsError, RvBatchError, quote
from ...template import outputs as out
from ...template import parameters as params
from ..clients.session import aws_errors
from ..clients.stack import complete_stack, stack_parameters
from .listing import (COMMAND_TAG, ENDED, JOB_NAME, ON_DEMAND_KIND, RUN_TAG, describe, list_queue,
                   queues_of, reason, run_and_command)

ATTEMPT_TAG = "rv-batch-cfn:run-attempt"
REPLACES_TAG = "rv-batch-cfn:replaces"
GPU_KINDS = ("gpu", ON_DEMAND_KIND)
# Job names: letters, digits, hyphens and underscores, at most 128 (Batch API, SubmitJob).
NAME_LIMIT = 128
_NAME_CHARS = re.compile(r"[^A-Za-z0-9_-]")
# A fixed namespace: the same replaced job and attempt always give the same new job name.
_NAMES = uuid.UUID("6c0e2a43-64f1-4c8b-9a43-0b7d3f2a5e11")
# Batch adds these to a job's environment itself; they are not the job's to override.
BATCH_VARIABLES = "AWS_BATCH_"
# Where Raster Vision's container command names the pipeline config: `run_command URI CMD`.
RUN_COMMAND = "run_command"
TRAIN = "train"


@dataclass(frozen=True)
class RunJob:
    """One job of the run, as DescribeJobs gave it."""

    job_id: str
    name: str
    command: str
    kind: str  # the stack queue it is in: gpu, cpu or gpu-on-demand
    queue: str
    status: str
    reason: str
    attempt: int  # the run's submission: 1, then one more per rerun
    created: int  # ms
    depends_on: tuple[tuple[str, str], ...]  # (job id, type or "")
    raw: Mapping[str, Any] = field(repr=False, compare=False, default_factory=dict)

    @property
    def ended(self) -> bool:
        return self.status in ENDED


@dataclass
class Step:
    """One command to submit: the job it replaces, where it goes, after which commands."""

    command: str
    replaces: RunJob
    kind: str
    queue: str
    name: str
    request: dict  # SubmitJob's arguments but jobName, jobQueue and dependsOn
    after: tuple[tuple[str, str], ...]  # (command, dependency type or "")
    resume_note: str = ""
    job_id: str = ""  # once submitted

    def as_dict(self) -> dict:
        return {"command": self.command, "kind": self.kind, "queue": self.queue,
                "job_name": self.name, "replaces": self.replaces.job_id,
                "replaced_status": self.replaces.status, "replaced_reason": self.replaces.reason,
                "after": [c for c, _ in self.after], "job_id": self.job_id or None,
                "array_size": (self.request.get("arrayProperties") or {}).get("size"),
                "resume_note": self.resume_note or None}


@dataclass
class RerunPlan:
    """What `rerun` does to one run: the attempt, the commands to submit, those kept."""

    stack: str
    region: str
    run: str
    attempt: int
    on_demand: bool
    steps: list[Step]
    succeeded: list[RunJob]  # commands whose latest job succeeded: not submitted again
    already: dict[str, str]  # command -> job id of this attempt found submitted (resumed)

    @property
    def resumed(self) -> bool:
        """This attempt was begun by an earlier rerun, which stopped part-way."""
        return bool(self.already)

    @property
    def submitted(self) -> list[Step]:
        return [s for s in self.steps if s.job_id]

    @property
    def not_submitted(self) -> list[Step]:
        return [s for s in self.steps if not s.job_id]

    def as_dict(self) -> dict:
        return {"stack": self.stack, "region": self.region, "run": self.run,
                "attempt": self.attempt, "on_demand": self.on_demand,
                "resumed": self.resumed, "already_submitted": dict(self.already),
                "skipped_succeeded": [{"command": j.command, "job_id": j.job_id}
                                      for j in self.succeeded],
                "steps": [s.as_dict() for s in self.steps]}


class RunStillRunning(RvBatchError):
    """The run has jobs that have not ended: rerunning now would run commands twice."""


class RerunFailed(AwsError):
    """A call failed part-way through `submit`: the message says what was submitted and what
    was not; running the same command again submits the rest."""


def stack_queues(session: Any, stack_name: str) -> tuple[dict[str, str], Mapping[str, str]]:
    """kind -> queue name (the on-demand GPU queue when the stack has one), and the stack's
    parameter values."""
    with aws_errors(f"read stack {stack_name!r}"):
        stack = complete_stack(session.client("cloudformation"), stack_name)
    return queues_of(stack), stack_parameters(stack)


def read_run(session: Any, queues: Mapping[str, str], run: str, since: datetime
             ) -> list[RunJob]:
    """Every job of `run` in the queues, created since `since`, oldest first."""
    batch = session.client("batch")
    found: list[RunJob] = []
    for kind, queue in queues.items():
        ids = [s["jobId"] for s in list_queue(batch, queue, since)]
        for job in describe(batch, ids):
            job_run, command = run_and_command(job)
            if job_run != run:
                continue
            tags = job.get("tags") or {}
            attempt = tags.get(ATTEMPT_TAG, "1")
            found.append(RunJob(
                job["jobId"], job["jobName"], command, kind, queue, job["status"], reason(job),
                int(attempt) if attempt.isdigit() else 1, int(job.get("createdAt") or 0),
                tuple((d["jobId"], d.get("type") or "") for d in job.get("dependsOn") or ()),
                job))
    return sorted(found, key=lambda j: (j.created, j.attempt, j.name))


def command_order(jobs: Sequence[RunJob]) -> tuple[list[str], dict[str, list[tuple[str, str]]]]:
    """The run's commands in the order they were first submitted (dependencies first), and
    each command's dependencies as (command, type), read from every job's dependsOn."""
    by_id = {j.job_id: j.command for j in jobs}
    first: dict[str, tuple[int, int, str]] = {}
    deps: dict[str, list[tuple[str, str]]] = {}
    for j in jobs:
        first.setdefault(j.command, (j.attempt, j.created, j.name))
        for job_id, kind in j.depends_on:
            parent = by_id.get(job_id)
            if parent and parent != j.command and parent not in [c for c, _ in
                                                                  deps.get(j.command, [])]:
                deps.setdefault(j.command, []).append((parent, kind))
    pending = sorted(first, key=lambda c: first[c])
    order: list[str] = []
    while pending:  # dependencies first, else submission order (a cycle cannot be: Batch's ids)
        ready = next((c for c in pending if all(d in order for d, _ in deps.get(c, ()))),
                     pending[0])
        order.append(ready)
        pending.remove(ready)
    return order, deps


def latest(jobs: Sequence[RunJob], before: Optional[int] = None) -> dict[str, RunJob]:
    """Each command's latest job (the newest), among those created before `before` (ms)."""
    found: dict[str, RunJob] = {}
    for j in jobs:
        if before is None or j.created < before:
            found[j.command] = j  # jobs are sorted by creation
    return found


def job_name(replaced: RunJob, run: str, attempt: int) -> str:
    """`<run>-<command>-<uuid>` as Raster Vision names jobs, the uuid derived from the replaced
    job and the attempt (the same every time), within Batch's 128 characters."""
    match = JOB_NAME.match(replaced.name)
    head = (f"{match.group('run')}-{match.group('command')}" if match
            else _NAME_CHARS.sub("-", f"{run}-{replaced.command}"))
    tail = str(uuid.uuid5(_NAMES, f"{replaced.job_id}/{attempt}"))
    return f"{head[:NAME_LIMIT - len(tail) - 1]}-{tail}"


def submit_request(replaced: RunJob, run: str, attempt: int) -> dict:
    """SubmitJob's arguments (but name, queue and dependsOn) that run `replaced` again: its job
    definition revision, command, environment and resource requirements, array size, retry
    strategy, timeout, parameters and tags, with the attempt tags."""
    job = replaced.raw
    container = job.get("container") or {}
    overrides: dict[str, Any] = {}
    if container.get("command"):
        overrides["command"] = list(container["command"])
    environment = [e for e in container.get("environment") or ()
                   if not str(e.get("name", "")).startswith(BATCH_VARIABLES)]
    if environment:
        overrides["environment"] = environment
    if container.get("resourceRequirements"):
        overrides["resourceRequirements"] = list(container["resourceRequirements"])
    request: dict[str, Any] = {"jobDefinition": job["jobDefinition"]}
    if overrides:
        request["containerOverrides"] = overrides
    size = (job.get("arrayProperties") or {}).get("size")
    if size:
        request["arrayProperties"] = {"size": size}
    for key in ("retryStrategy", "timeout", "parameters", "propagateTags"):
        if job.get(key) not in (None, {}, []):
            request[key] = job[key]
    tags = {k: v for k, v in (job.get("tags") or {}).items() if not k.startswith("aws:")}
    tags.update({RUN_TAG: run, COMMAND_TAG: replaced.command, ATTEMPT_TAG: str(attempt),
                 REPLACES_TAG: replaced.job_id})
    request["tags"] = tags
    return request


def resume_note(replaced: RunJob, writable_buckets: Sequence[str]) -> str:
    """For a train job: whether it resumes from its last synced epoch. Raster Vision's learner
    syncs its output to `<root_uri>/train` and syncs it back when a train job starts, which
    needs root_uri in a bucket the job role may write (S3Buckets)."""
    if replaced.command != TRAIN:
        return ""
    command = list((replaced.raw.get("container") or {}).get("command") or ())
    uri = command[command.index(RUN_COMMAND) + 1] if RUN_COMMAND in command[:-1] else ""
    match = re.match(r"^s3://([^/]+)/", uri)
    if match and match.group(1) in writable_buckets:
        return (f"resumes from its last synced epoch: root_uri is in s3://{match.group(1)}, "
                f"which {params.S3_BUCKETS} lets jobs write")
    if match:
        return (f"s3://{match.group(1)} is not in {params.S3_BUCKETS}: the job cannot write its "
                "checkpoints there, and training starts from epoch 0")
    where = uri or "its pipeline config"
    return (f"{where} is not in S3: no checkpoint outlives an instance, training starts from "
            "epoch 0")


def plan(session: Any, stack_name: str, run: str, since: datetime,
         on_demand: bool = False) -> RerunPlan:
    """What `rerun` submits for `run`. RvBatchError when the run has no jobs, has jobs still
    running, or `on_demand` is asked of a stack without the on-demand GPU queue."""
    try:
        return _plan(session, stack_name, run, since, on_demand)
    except AwsError as e:  # before any submission
        raise AwsError(f"{str(e).rstrip('.')}. Nothing was submitted") from None


def _plan(session: Any, stack_name: str, run: str, since: datetime, on_demand: bool
          ) -> RerunPlan:
    queues, values = stack_queues(session, stack_name)
    if on_demand and ON_DEMAND_KIND not in queues:
        raise RvBatchError(
            f"--on-demand: stack {stack_name!r} has no on-demand GPU queue (its parameter "
            f"{params.GPU_ON_DEMAND_MAX_VCPUS} is 0). Update the stack with "
            f"{params.GPU_ON_DEMAND_MAX_VCPUS} set to the vCPUs it may use, or rerun without "
            "--on-demand. Nothing was submitted")
    jobs = read_run(session, queues, run, since)
    region = session.client("batch").meta.region_name
    if not jobs:
        raise RvBatchError(f"no jobs of run {quote(run)} in the queues of stack {stack_name!r} "
                           f"created since {since:%Y-%m-%d %H:%M} UTC (`rv-batch-cfn jobs "
                           f"--stack {stack_name} --since 2w` lists the runs). Nothing was "
                           "submitted")
    order, deps = command_order(jobs)
    top = max(j.attempt for j in jobs)
    attempt_jobs = {j.command: j for j in jobs if j.attempt == top}
    began = min(j.created for j in jobs if j.attempt == top)
    # The commands attempt `top` was to submit: those whose latest job before it began had not
    # succeeded. A job of another attempt submitted since (Raster Vision run again under the
    # same name) means the attempt is over, whatever it lacks.
    before = latest(jobs, began)
    owed = [c for c, j in before.items() if j.status != "SUCCEEDED"]
    superseded = any(j.attempt != top and j.created >= began for j in jobs)
    missing = [c for c in owed if c not in attempt_jobs] if top > 1 and not superseded else []
    if missing:  # an earlier rerun stopped part-way: finish its attempt
        attempt, already = top, {c: attempt_jobs[c].job_id for c in owed if c in attempt_jobs}
        todo, base = missing, before
    else:
        now = latest(jobs)
        running = [j for j in now.values() if not j.ended]
        if running:
            listed = ", ".join(f"{j.command} ({j.job_id}, {j.status})" for j in running)
            raise RunStillRunning(
                f"run {quote(run)} is still running: {listed}. Rerun it once they have ended "
                f"(`rv-batch-cfn jobs --stack {stack_name} --run {run} --watch`), or terminate "
                "them first. Nothing was submitted")
        attempt, already, base = top + 1, {}, now
        todo = [c for c in order if now[c].status != "SUCCEEDED"]
    writable = [b for b in values.get(params.S3_BUCKETS, "").split(",") if b]
    steps: list[Step] = []
    for command in [c for c in order if c in todo]:
        replaced = base[command]
        first_kind = next(j.kind for j in sorted(jobs, key=lambda j: j.attempt)
                          if j.command == command)
        kind = ON_DEMAND_KIND if on_demand and first_kind in GPU_KINDS else first_kind
        after = tuple((d, t) for d, t in deps.get(command, ())
                      if d in todo or d in already)
        steps.append(Step(command, replaced, kind, queues[kind],
                          job_name(replaced, run, attempt),
                          submit_request(replaced, run, attempt), after,
                          resume_note(replaced, writable)))
    succeeded = [j for c, j in latest(jobs).items() if j.status == "SUCCEEDED"
                 and c not in already]
    return RerunPlan(stack_name, region, run, attempt, on_demand, steps,
                     [j for c in order for j in succeeded if j.command == c], already)


def submit(session: Any, rerun: RerunPlan, say: Callable[[str], None] = lambda line: None
           ) -> RerunPlan:
    """Submit the plan's steps in order, each depending on the new jobs of its commands; `say`
    hears of each job submitted. RerunFailed names what was and was not submitted."""
    batch = session.client("batch")
    new_ids = dict(rerun.already)
    for step in rerun.steps:
        depends = [{"jobId": new_ids[c], **({"type": t} if t else {})} for c, t in step.after]
        try:
            with aws_errors(f"submit {step.command} of run {rerun.run} to queue {step.queue}"):
                reply = batch.submit_job(jobName=step.name, jobQueue=step.queue,
                                         **({"dependsOn": depends} if depends else {}),
                                         **step.request)
        except AwsError as e:
            raise RerunFailed(f"{str(e).rstrip('.')}. {_so_far(rerun, step)}") from None
        step.job_id = new_ids[step.command] = reply["jobId"]
        say(f"submitted {step.command}: job {step.job_id} on {step.queue}")
    return rerun


def _so_far(rerun: RerunPlan, failed: Step) -> str:
    """What a failure part-way through `submit` left, and how to finish."""
    done = [f"{s.command} ({s.job_id})" for s in rerun.submitted]
    left = [s.command for s in rerun.not_submitted]
    again = (f"`rv-batch-cfn rerun {rerun.run} --stack {rerun.stack}"
             + (" --on-demand" if rerun.on_demand else "") + "`")
    if not done:
        head = f"Nothing was submitted (attempt {rerun.attempt} of run {rerun.run})"
        if rerun.already:
            head += "; submitted before: " + ", ".join(f"{c} ({i})" for c, i in
                                                      rerun.already.items())
    else:
        head = f"Submitted before it (attempt {rerun.attempt}): {', '.join(done)}, left to run"
    return (f"{head}; not submitted: {', '.join(left)}. Run {again} again to submit the rest "
            f"(a job Batch may have accepted as {failed.command} is found by its tags, not "
            "submitted twice)")
