"""Jobs waiting for instance capacity, or cancelled for want of it: what `jobs` and `smoke-test`
say about them.

Batch gives a job RUNNABLE for want of capacity the status reason
`CAPACITY:INSUFFICIENT_INSTANCE_CAPACITY - Service cannot fulfill the capacity requested for
instance type [...]`, and one its queue cancelled for it (jobStateTimeLimitActions, the stack's
CapacityWaitTimeout) `Canceled by JobStateTimeLimit action due to reason:
CAPACITY:INSUFFICIENT_INSTANCE_CAPACITY` (Batch user guide, "Jobs stuck in RUNNABLE due to
capacity"). Batch's service role needs autoscaling:DescribeScalingActivities and
ec2:DescribeSpotFleetRequestHistory to detect it; the service-linked role the stack uses by
default has both.
"""

from __future__ import annotations

from typing import Any, Mapping, Optional

from ...template import outputs as out
from ...template import parameters as params
from ...template.queue_limits import INSUFFICIENT_INSTANCE_CAPACITY
from ..clients.session import aws_errors

WAITING, CANCELLED = "waiting", "cancelled"
TIME_LIMIT_CANCEL = "JobStateTimeLimit"


def state(status: str, reason: str) -> str:
    """WAITING (RUNNABLE for want of capacity), CANCELLED (cancelled by the queue's time limit
    for it), or "" for anything else."""
    if INSUFFICIENT_INSTANCE_CAPACITY not in (reason or ""):
        return ""
    if status == "RUNNABLE":
        return WAITING
    if status == "FAILED" and TIME_LIMIT_CANCEL in reason:
        return CANCELLED
    return ""


def wait_limits(batch: Any, queues: Mapping[str, str]) -> dict[str, Optional[int]]:
    """queue name -> seconds its time limit lets a job wait for capacity before cancelling it
    (None: no such limit), from DescribeJobQueues."""
    with aws_errors("describe the job queues"):
        found = batch.describe_job_queues(jobQueues=list(queues.values()))["jobQueues"]
    limits: dict[str, Optional[int]] = {name: None for name in queues.values()}
    for queue in found:
        for action in queue.get("jobStateTimeLimitActions") or ():
            if action.get("reason") == INSUFFICIENT_INSTANCE_CAPACITY:
                limits[queue["jobQueueName"]] = int(action["maxTimeSeconds"])
    return limits


def advice(stack: str, run: str, kind: str, capacity: str, limit: Optional[int],
           on_demand_queue: bool, what: str = "it") -> str:
    """What to say of one job `capacity` (WAITING or CANCELLED) on a queue of `kind` whose time
    limit for capacity is `limit` seconds: the limit, and what to do (`what` names what rerun
    submits: the job, or for a smoke-test job, a pipeline run's jobs)."""
    if capacity == WAITING:
        when = (f"cancels it after {limit // 60} minutes" if limit is not None
                else "never cancels it")
        said = (f"waits for instance capacity ({INSUFFICIENT_INSTANCE_CAPACITY}); its queue "
                f"{when} ({params.CAPACITY_WAIT_TIMEOUT})")
    else:
        waited = f"{limit // 60} minutes" if limit is not None else "its time limit"
        said = (f"was cancelled by its queue after waiting {waited} for instance capacity "
                f"({params.CAPACITY_WAIT_TIMEOUT})")
    rerun = f"rv-batch-cfn rerun {run or 'RUN'} --stack {stack}"
    first = "once it has ended (terminate it, or let the time limit cancel it), " \
        if capacity == WAITING and what == "it" else ""
    if kind == out.GPU_ON_DEMAND_KIND:
        return f"{said}, on the on-demand GPU queue: on-demand capacity is short too; wait"
    if kind != "gpu":
        return f"{said}: {first}`{rerun}` submits {what} again"
    if on_demand_queue:
        return f"{said}: {first}`{rerun} --on-demand` submits {what} on the on-demand GPU queue"
    return (f"{said}: the stack has no on-demand GPU queue; set "
            f"{params.GPU_ON_DEMAND_MAX_VCPUS} above 0, then {first}`{rerun} --on-demand` "
            f"submits {what} there")
