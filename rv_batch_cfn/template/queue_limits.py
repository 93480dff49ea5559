"""Time limits on the job queues: Batch cancels a job stuck in RUNNABLE instead of letting it
block its queue forever.

A job queue's JobStateTimeLimitActions cancel the job at the head of the queue once it has been
RUNNABLE for `maxTimeSeconds` (600 to 86,400: Batch API reference, JobStateTimeLimitAction) with
one of the status reasons Batch documents in "Jobs stuck in a RUNNABLE status" (user guide,
troubleshooting). Two settings, because the reasons differ in kind:

- the job can never run (no instance type offers its vCPUs, memory or GPUs, or it needs more
  vCPUs than MaximumVCPUs): nothing changes until the stack does, so cancel after a while;
- no capacity right now (spot or on-demand): it may come, so by default wait as long as it takes.

The console takes minutes, Batch wants seconds, and CloudFormation cannot multiply: the minutes
a parameter allows are a list, mapped to seconds by a Mapping. 0 leaves the action out.
"""

from __future__ import annotations

from troposphere import Equals, FindInMap, If, Not, NoValue, Parameter, Ref, Template, batch

from ..config import StackConfig, limits
from . import parameters as p

# The status reasons, as Batch reports them and as jobStateTimeLimitActions takes them.
JOB_RESOURCE_REQUIREMENT = "MISCONFIGURATION:JOB_RESOURCE_REQUIREMENT"
COMPUTE_ENVIRONMENT_MAX_RESOURCE = "MISCONFIGURATION:COMPUTE_ENVIRONMENT_MAX_RESOURCE"
INSUFFICIENT_INSTANCE_CAPACITY = "CAPACITY:INSUFFICIENT_INSTANCE_CAPACITY"
UNRUNNABLE_REASONS = (JOB_RESOURCE_REQUIREMENT, COMPUTE_ENVIRONMENT_MAX_RESOURCE)
CAPACITY_REASONS = (INSUFFICIENT_INSTANCE_CAPACITY,)

# What the console offers, in minutes (0: never); a configured default joins the list.
MINUTES = (0, 10, 15, 30, 60, 120, 240, 480, 720, 1440)
SECONDS_MAP = "MinutesToSeconds"
SECONDS_KEY = "Seconds"

# Condition names
CANCELS_UNRUNNABLE = "CancelsUnrunnableJobs"
CANCELS_WAITING_FOR_CAPACITY = "CancelsJobsWaitingForCapacity"

# parameter -> (condition, status reasons it acts on)
LIMITS = {
    p.UNRUNNABLE_JOB_TIMEOUT: (CANCELS_UNRUNNABLE, UNRUNNABLE_REASONS),
    p.CAPACITY_WAIT_TIMEOUT: (CANCELS_WAITING_FOR_CAPACITY, CAPACITY_REASONS),
}


def allowed_minutes(*defaults: int) -> list[int]:
    """The minutes the parameters accept: the standard list and the configured defaults."""
    return sorted(set(MINUTES) | set(defaults))


def add_parameters(t: Template, cfg: StackConfig) -> None:
    """The two time limits, in minutes, each with a list of allowed values."""
    allowed = allowed_minutes(cfg.unrunnable_job_timeout_minutes,
                              cfg.capacity_wait_timeout_minutes)
    low, high = limits.TIME_LIMIT_MINUTES
    bounds = dict(AllowedValues=allowed, MinValue=0, MaxValue=high,
                  ConstraintDescription=f"must be 0 (never) or one of the listed minutes, {low} "
                                        f"to {high}")
    t.add_parameter(Parameter(
        p.UNRUNNABLE_JOB_TIMEOUT, Type="Number", Default=cfg.unrunnable_job_timeout_minutes,
        Description="Minutes before Batch cancels a job RUNNABLE at the head of its queue that "
                    "can never run (larger than every instance type or MaximumVCPUs), so the "
                    "jobs behind it run. 0: never.", **bounds))
    t.add_parameter(Parameter(
        p.CAPACITY_WAIT_TIMEOUT, Type="Number", Default=cfg.capacity_wait_timeout_minutes,
        Description="Minutes before Batch cancels a job RUNNABLE at the head of its queue for "
                    "want of instance capacity (spot or on-demand). 0 (default): never.",
        **bounds))
    t.add_mapping(SECONDS_MAP, {str(m): {SECONDS_KEY: m * 60} for m in allowed})


def add_conditions(t: Template) -> None:
    """One condition per limit: set (not 0)."""
    for parameter, (condition, _) in LIMITS.items():
        t.add_condition(condition, Not(Equals(Ref(parameter), "0")))


def time_limit_actions() -> list[If]:
    """The queue's JobStateTimeLimitActions: one CANCEL per reason of each limit that is set.

    Every element is an If, so a limit set to 0 leaves its actions out and both at 0 give an
    empty list (on update too: Batch then removes the actions a queue had)."""
    actions = []
    for parameter, (condition, reasons) in LIMITS.items():
        for reason in reasons:
            actions.append(If(condition, batch.JobStateTimeLimitAction(
                Action="CANCEL",
                State="RUNNABLE",
                Reason=reason,
                MaxTimeSeconds=FindInMap(SECONDS_MAP, Ref(parameter), SECONDS_KEY),
            ), NoValue))
    return actions
