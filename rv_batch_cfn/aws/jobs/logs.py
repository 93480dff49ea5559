"""A job's output: the CloudWatch Logs stream `describe_jobs` names, in the log group its job
definition writes to (the stack's, for this project's job definitions). What `logs` shows."""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Callable, Iterator, Optional, Union

from ...errors import AwsError, Problem, RvBatchError
from .listing import ENDED, streams
from ..clients.session import aws_errors, error_code

# Where the awslogs driver writes when a job definition names no group.
DEFAULT_LOG_GROUP = "/aws/batch/job"
NOT_STARTED = ("SUBMITTED", "PENDING", "RUNNABLE", "STARTING")


class NoLogsYet(RvBatchError):
    """The job exists but has no output to show (yet): not started, or nothing written."""


@dataclass(frozen=True)
class LogSource:
    """Where one attempt of a job wrote its output."""

    job_id: str
    status: str
    attempt: int  # 1-based
    attempts: int  # attempts with a log stream so far
    group: str
    stream: str


@dataclass(frozen=True)
class LogEvent:
    """One line the job printed."""

    timestamp: datetime
    message: str


@dataclass(frozen=True)
class Note:
    """Something `follow` has to say between lines (waiting, a new attempt, the end)."""

    text: str


def find_job(batch: Any, job_id: str, index: Optional[int] = None) -> dict:
    """The job, or with `index` the child of an array job; AwsError when Batch does not know
    the job, RvBatchError for an array job without an index (or a wrong one)."""
    job = _describe(batch, job_id)
    if job is None:
        raise AwsError(f"no job with id {job_id!r} in region {batch.meta.region_name}: check "
                       "the id (`rv-batch-cfn jobs --stack NAME` lists them) and the region; "
                       "Batch forgets a job some days after it ends")
    size = (job.get("arrayProperties") or {}).get("size")
    if index is None:
        if size and "index" not in job["arrayProperties"]:
            raise RvBatchError(f"job {job_id} is an array job of {size} children, each with its "
                               f"own log: pass --index 0 to --index {size - 1}")
        return job
    if not size:
        raise RvBatchError(str(Problem("--index", index, f"job {job_id} is not an array job: "
                                                          "leave --index out")))
    child = _describe(batch, f"{job_id}:{index}") if 0 <= index < size else None
    if child is None:
        raise RvBatchError(str(Problem("--index", index, f"allowed: 0 to {size - 1} (job "
                                                          f"{job_id} is an array job of {size})")))
    return child


def _describe(batch: Any, job_id: str) -> Optional[dict]:
    with aws_errors(f"describe job {job_id}"):
        found = batch.describe_jobs(jobs=[job_id])["jobs"]
    return found[0] if found else None


def log_group(batch: Any, job: dict) -> str:
    """The group the job's container logs to: its own log configuration, else its job
    definition's, else Batch's default."""
    options = ((job.get("container") or {}).get("logConfiguration") or {}).get("options") or {}
    if options.get("awslogs-group"):
        return options["awslogs-group"]
    with aws_errors(f"describe job definition {job['jobDefinition']}"):
        found = batch.describe_job_definitions(jobDefinitions=[job["jobDefinition"]])
    for definition in found["jobDefinitions"]:
        log = (definition.get("containerProperties") or {}).get("logConfiguration") or {}
        if (log.get("options") or {}).get("awslogs-group"):
            return log["options"]["awslogs-group"]
    return DEFAULT_LOG_GROUP


def log_source(batch: Any, job: dict, attempt: Optional[int] = None) -> LogSource:
    """Where attempt `attempt` (1-based; the latest when None) of `job` logs. NoLogsYet when it
    has not started; RvBatchError for an attempt it has not made."""
    names = streams(job)
    if not names:
        raise NoLogsYet(_why_no_stream(job))
    if attempt is not None and not 1 <= attempt <= len(names):
        raise RvBatchError(str(Problem("--attempt", attempt,
                                       f"allowed: 1 to {len(names)} (job {job['jobId']} has "
                                       f"made {len(names)} attempt(s) so far)")))
    number = attempt or len(names)
    return LogSource(job["jobId"], job["status"], number, len(names), log_group(batch, job),
                     names[number - 1])


def _why_no_stream(job: dict) -> str:
    status, why = job["status"], job.get("statusReason")
    said = f" (Batch says: {why})" if why else ""
    if status in NOT_STARTED:
        return (f"job {job['jobId']} is {status}{said}: its container has not started, so it "
                "has no log stream yet; --follow waits for it")
    return (f"job {job['jobId']} is {status}{said} and has no log stream: its container never "
            "started (a failed dependency, a cancellation, or an image that could not be pulled)")


def read_events(logs: Any, source: LogSource, token: Optional[str] = None
                ) -> tuple[list[LogEvent], Optional[str]]:
    """The events after `token` (from the start when None), every page, and the token to go
    on from. NoLogsYet when the stream does not exist (yet)."""
    events: list[LogEvent] = []
    while True:
        page = _page(logs, source, token)
        events += [LogEvent(datetime.fromtimestamp(e["timestamp"] / 1000, timezone.utc),
                            e["message"]) for e in page.get("events", [])]
        following = page.get("nextForwardToken")
        # GetLogEvents returns the same forward token once the end is reached.
        if not following or following == token or not page.get("events"):
            return events, following or token
        token = following


def _page(logs: Any, source: LogSource, token: Optional[str]) -> dict:
    import botocore.exceptions

    kwargs = {"nextToken": token} if token else {"startFromHead": True}
    with aws_errors(f"read log stream {source.stream} of log group {source.group}"):
        try:
            return logs.get_log_events(logGroupName=source.group, logStreamName=source.stream,
                                       **kwargs)
        except botocore.exceptions.ClientError as e:
            if error_code(e) != "ResourceNotFoundException":
                raise
    raise NoLogsYet(f"log stream {source.stream} is not in log group {source.group} (yet): the "
                    "container has written nothing so far, or the group's retention expired it")


def follow(batch: Any, logs: Any, job_id: str, index: Optional[int] = None,
           attempt: Optional[int] = None, interval: float = 5.0,
           sleep: Callable[[float], None] = time.sleep) -> Iterator[Union[LogEvent, Note]]:
    """The job's lines as they come, until it ends: notes while it waits to start and when a
    new attempt begins (a retried spot reclaim). With `attempt`, that attempt only."""
    stream: Optional[str] = None
    token: Optional[str] = None
    waited = ""
    while True:
        job = find_job(batch, job_id, index)
        try:
            source = log_source(batch, job, attempt)
        except NoLogsYet as e:
            if job["status"] in ENDED:
                raise
            if str(e) != waited:
                waited = str(e)
                yield Note(f"waiting: {e}")
            sleep(interval)
            continue
        if source.stream != stream:
            if stream is not None:
                yield Note(f"attempt {source.attempt} started: log stream {source.stream}")
            stream, token = source.stream, None
        try:
            events, token = read_events(logs, source, token)
        except NoLogsYet:
            events = []  # the container started but has not written yet
        yield from events
        ended = job["status"] in ENDED or (attempt is not None and attempt < source.attempts)
        if ended and not events:
            yield Note(f"job {job['jobId']} {job['status']}")
            return
        if not events:
            sleep(interval)
