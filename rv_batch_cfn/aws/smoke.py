"""The library behind `smoke-test`: one tiny job per kind on a deployed stack, followed to its end.

Each job runs on the stack's own queue with its own job definition, so it takes the path a Raster
Vision job takes (instance type, AMI, image pull, job role, log group); only the command is
replaced: `nvidia-smi` shows that the GPU is visible in the container, and a Python one-liner
with boto3 (which every Raster Vision image has) lists the first bucket the stack names (to
write, else to read), which shows that the job role reaches S3 (skipped when it names none).

`plan()` reads the stack, `submit()` submits, `follow()` yields what happens as it happens,
`read_log()` reads a job's log, `stop()` terminates jobs. Nothing here prints.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator, Optional, Sequence

from ..errors import AwsError
from ..template import outputs as out
from ..template import parameters as params
from .jobs.logs import LogSource, NoLogsYet, read_events
from .clients.session import aws_errors
from .clients.stack import complete_stack, require_outputs, stack_parameters

KINDS = ("gpu", "cpu")
DONE = ("SUCCEEDED", "FAILED")
GPU_COMMAND = ["nvidia-smi"]
S3_CHECK = ("import sys, boto3; bucket = sys.argv[1]; "
            "listed = boto3.client('s3').list_objects_v2(Bucket=bucket, MaxKeys=5); "
            "print('the job role can list s3://%s: %d object(s) shown' "
            "% (bucket, listed.get('KeyCount', 0)))")
NO_BUCKET = ("echo 'no bucket named in S3Buckets or S3ReadOnlyBuckets: S3 access is not "
             "checked'")
# How long a job may sit in RUNNABLE before it is worth explaining: Batch needs a minute or two
# to launch an instance when the environment has scaled to zero.
RUNNABLE_EXPLAIN_AFTER = 90.0
CANCEL_REASON = "cancelled by rv-batch-cfn smoke-test"


@dataclass(frozen=True)
class SmokeJob:
    """One job to submit: which kind, where, and the command that replaces the definition's."""

    kind: str
    queue: str
    definition: str
    command: tuple[str, ...]
    checks: str  # what the command shows, for the person reading

    @property
    def label(self) -> str:
        return self.kind.upper()


@dataclass(frozen=True)
class Plan:
    """The jobs of one smoke test and where their logs go."""

    stack: str
    region: str
    log_group: str
    jobs: tuple[SmokeJob, ...]


@dataclass(frozen=True)
class Submitted:
    """A job Batch accepted."""

    job: SmokeJob
    job_id: str
    name: str


@dataclass(frozen=True)
class Event:
    """Something that happened to a submitted job, `elapsed` seconds after submission.

    kind: "status" (a new status), "stuck" (RUNNABLE for `waited` seconds, longer than the
    explain threshold; once per job), "done" (SUCCEEDED or FAILED; `log_stream` names its
    log) or "timeout" (still not done when the time ran out; the job was terminated).
    """

    kind: str
    submitted: Submitted
    status: str
    elapsed: float
    reason: str = ""
    log_stream: str = ""
    exit_code: Optional[int] = None
    waited: float = 0.0


@dataclass
class _State:
    status: str = ""
    runnable_since: Optional[float] = None
    explained: bool = False
    detail: dict = field(default_factory=dict)


def plan(session: Any, stack_name: str, kinds: Sequence[str] = KINDS) -> Plan:
    """The jobs to submit to `stack_name`; AwsError when the stack cannot be used."""
    cfn = session.client("cloudformation")
    try:
        stack = complete_stack(cfn, stack_name)
    except AwsError as e:
        raise AwsError(f"{str(e).rstrip('.')}. Nothing was submitted") from None
    wanted = [name for kind in kinds for name in out.KIND_OUTPUTS[kind]]
    names = require_outputs(stack, [*wanted, out.JOB_LOG_GROUP])
    values = stack_parameters(stack)
    # The buckets jobs may write, then those they may only read: both may be listed.
    buckets = [b for name in (params.S3_BUCKETS, params.S3_READ_ONLY_BUCKETS)
               for b in values.get(name, "").split(",") if b and b != "*"]
    jobs = []
    for kind in kinds:
        queue, definition = (names[o] for o in out.KIND_OUTPUTS[kind])
        if kind == "gpu":
            command, checks = GPU_COMMAND, "the GPU is visible in the container"
        elif buckets:
            command = ["python", "-c", S3_CHECK, buckets[0]]
            checks = f"the job role can list s3://{buckets[0]}"
        else:
            command = ["sh", "-c", NO_BUCKET]
            checks = "the job runs (S3 not checked: no bucket named)"
        jobs.append(SmokeJob(kind, queue, definition, tuple(command), checks))
    return Plan(stack_name, cfn.meta.region_name, names[out.JOB_LOG_GROUP], tuple(jobs))


def submit(session: Any, smoke: Plan, timeout_minutes: int,
           now: Callable[[], float] = time.time) -> list[Submitted]:
    """Submit every job of the plan; when one is refused, terminate those already submitted
    and raise AwsError (nothing is left running)."""
    batch = session.client("batch")
    stamp = time.strftime("%Y%m%dT%H%M%S", time.gmtime(now()))
    submitted: list[Submitted] = []
    for job in smoke.jobs:
        name = f"rv-smoke-test-{job.kind}-{stamp}"
        try:
            with aws_errors(f"submit a {job.label} job to queue {job.queue}"):
                reply = batch.submit_job(
                    jobName=name, jobQueue=job.queue, jobDefinition=job.definition,
                    containerOverrides={"command": list(job.command)},
                    retryStrategy={"attempts": 1},
                    # Batch stops it too if it hangs: the smoke test must not cost more.
                    timeout={"attemptDurationSeconds": max(60, timeout_minutes * 60)},
                    tags={"rv-batch-cfn": "smoke-test"})
        except KeyboardInterrupt:
            stop(session, submitted)
            raise
        except AwsError as e:
            stop(session, submitted)
            done = ("The jobs submitted before it were terminated" if submitted
                    else "Nothing was submitted")
            raise AwsError(f"{str(e).rstrip('.')}. {done}: run smoke-test again") from None
        submitted.append(Submitted(job, reply["jobId"], name))
    return submitted


def follow(session: Any, submitted: Sequence[Submitted], timeout_seconds: float,
           poll_seconds: float = 5.0, explain_after: float = RUNNABLE_EXPLAIN_AFTER,
           clock: Callable[[], float] = time.monotonic,
           sleep: Callable[[float], None] = time.sleep) -> Iterator[Event]:
    """Yield every status change until each job is done or the time runs out (the jobs left
    are then terminated and reported as "timeout")."""
    batch = session.client("batch")
    start = clock()
    states = {s.job_id: _State() for s in submitted}
    by_id = {s.job_id: s for s in submitted}
    while True:
        now = clock() - start
        for detail in _describe(batch, list(by_id)):
            state, sub = states[detail["jobId"]], by_id[detail["jobId"]]
            status = detail["status"]
            if status != state.status:
                state.status, state.detail = status, detail
                state.runnable_since = now if status == "RUNNABLE" else None
                if status in DONE:
                    yield _done(sub, detail, now)
                else:
                    yield Event("status", sub, status, now, detail.get("statusReason", ""))
            elif (status == "RUNNABLE" and not state.explained and state.runnable_since is not None
                  and now - state.runnable_since >= explain_after):
                state.explained = True
                yield Event("stuck", sub, status, now, detail.get("statusReason", ""),
                            waited=now - state.runnable_since)
        waiting = [s for s in submitted if states[s.job_id].status not in DONE]
        if not waiting:
            return
        if now >= timeout_seconds:
            stop(session, waiting, f"{CANCEL_REASON}: not done within the time given")
            for s in waiting:
                yield Event("timeout", s, states[s.job_id].status, now)
            return
        sleep(poll_seconds)


def _describe(batch: Any, job_ids: list[str]) -> list[dict]:
    with aws_errors("describe the smoke-test jobs"):
        return batch.describe_jobs(jobs=job_ids)["jobs"]


def _done(sub: Submitted, detail: dict, elapsed: float) -> Event:
    container = detail.get("container") or {}
    attempts = detail.get("attempts") or [{}]
    last = attempts[-1].get("container") or {}
    return Event("done", sub, detail["status"], elapsed, detail.get("statusReason", ""),
                 log_stream=container.get("logStreamName") or last.get("logStreamName") or "",
                 exit_code=container.get("exitCode", last.get("exitCode")))


def read_log(session: Any, log_group: str, log_stream: str, limit: int = 200) -> list[str]:
    """The last `limit` lines of a job's log; [] when the job wrote none (its container never
    started, or the stream has expired)."""
    if not log_stream:
        return []
    source = LogSource("", "", 1, 1, log_group, log_stream)
    try:
        events, _ = read_events(session.client("logs"), source)
    except NoLogsYet:
        return []
    return [e.message.rstrip("\n") for e in events][-limit:]


def stop(session: Any, submitted: Sequence[Submitted], reason: str = CANCEL_REASON) -> None:
    """Terminate the jobs: TerminateJob cancels a job that has not started and stops one that
    has (CancelJob would leave a STARTING or RUNNING job running)."""
    batch = session.client("batch")
    for s in submitted:
        with aws_errors(f"terminate job {s.job_id}"):
            batch.terminate_job(jobId=s.job_id, reason=reason)
