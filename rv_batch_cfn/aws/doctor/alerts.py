"""What the stack does on its own about stuck, idle and failed jobs: queue time limits, capacity
kept while idle, e-mail notifications. None of these is wrong either way: notes, not problems."""

from __future__ import annotations

from typing import Any, Optional, Sequence

from ...template import notifications, queue_limits
from ...template import parameters as params
from ..clients.session import aws_error
from ..clients.stack import stack_outputs, stack_parameters
from .findings import IDLE, NOTE, NOTIFICATIONS, OK, TIME_LIMITS, Finding, Kind


def time_limit_findings(kinds: Sequence[Kind]) -> list[Finding]:
    """A queue without a time limit on the reasons that never fix themselves lets one such job
    block it until someone cancels the job by hand."""
    found = []
    for k in kinds:
        if k.queue is None:
            continue  # environments.py reports the missing queue
        actions = {a.get("reason"): a for a in k.queue.get("jobStateTimeLimitActions") or []
                   if a.get("action") == "CANCEL" and a.get("state") == "RUNNABLE"}
        unrunnable = [actions[r] for r in queue_limits.UNRUNNABLE_REASONS if r in actions]
        what = f"{k.label} job queue {k.queue_name}"
        if not unrunnable:
            found.append(Finding(
                TIME_LIMITS, NOTE,
                f"{what} has no time limit: a job that can never run ("
                + ", ".join(queue_limits.UNRUNNABLE_REASONS) + ") stays RUNNABLE and blocks "
                "the jobs behind it until someone cancels it",
                f"Update the stack with {params.UNRUNNABLE_JOB_TIMEOUT} set to the minutes to "
                "wait (10 to 1440, e.g. 30)."))
            continue
        message = (f"{what} cancels a job that can never run after "
                   f"{_minutes(min(a['maxTimeSeconds'] for a in unrunnable))}")
        capacity = [actions[r] for r in queue_limits.CAPACITY_REASONS if r in actions]
        message += (f", one waiting for capacity after {_minutes(capacity[0]['maxTimeSeconds'])}"
                    if capacity else "; one waiting for capacity waits as long as it takes")
        found.append(Finding(TIME_LIMITS, OK, message))
    return found


def idle_findings(kinds: Sequence[Kind]) -> list[Finding]:
    """Minimum vCPUs above 0 keep instances running, and paid for, with no job to run."""
    found = []
    for k in kinds:
        for env in k.environments:
            name = env["computeEnvironmentName"]
            minimum = env.get("computeResources", {}).get("minvCpus", 0) or 0
            if minimum > 0:
                found.append(Finding(
                    IDLE, NOTE,
                    f"{k.label} compute environment {name} keeps {minimum} vCPUs running when "
                    "idle: they cost money while no job runs",
                    f"Update the stack with {params.MINIMUM_VCPUS}=0 to scale to zero between "
                    "jobs (a job then waits a few minutes for its instance)."))
            else:
                found.append(Finding(IDLE, OK, f"{k.label} compute environment {name} scales "
                                               "to zero when idle"))
    return found


def notification_findings(session: Any, stack: dict) -> list[Finding]:
    """Whether anyone hears of failed jobs and blocked queues, and whether the address has
    confirmed its subscription (SNS sends nothing to it before)."""
    topic = stack_outputs(stack).get(notifications.TOPIC_OUTPUT)
    name = stack["StackName"]
    if not topic:
        return [Finding(NOTIFICATIONS, NOTE,
                        "notifications are off: nobody hears of a failed job or a blocked queue",
                        f"Update the stack with {params.NOTIFICATION_EMAIL}=you@example.com "
                        f"(rv-batch-cfn deploy --stack {name} --param "
                        f"{params.NOTIFICATION_EMAIL}=...).")]
    address = stack_parameters(stack).get(params.NOTIFICATION_EMAIL, "")
    try:
        pending = _pending(session.client("sns"), topic)
    except Exception as e:  # noqa: BLE001 - doctor goes on without this detail
        error = aws_error(f"list the subscriptions of {topic}", e)
        if error is e:
            raise
        return [Finding(NOTIFICATIONS, NOTE, f"notifications go to {address} through {topic}; "
                                             f"their confirmation is not checked: {error}")]
    if pending:
        return [Finding(NOTIFICATIONS, NOTE,
                        f"notifications go to {', '.join(pending)}, which has not confirmed "
                        "its subscription: nothing reaches it until it does",
                        "Open the message 'AWS Notification - Subscription Confirmation' sent "
                        "to it and follow its link (look in the spam folder too).")]
    return [Finding(NOTIFICATIONS, OK,
                    f"failed jobs and blocked queues are e-mailed to {address or topic}")]


def _pending(sns: Any, topic: str) -> list[str]:
    """The e-mail addresses subscribed to `topic` that have not confirmed."""
    pending = []
    for page in sns.get_paginator("list_subscriptions_by_topic").paginate(TopicArn=topic):
        for sub in page["Subscriptions"]:
            arn = sub["SubscriptionArn"]
            if arn in ("PendingConfirmation", "pending confirmation") or _attribute(
                    sns, arn, "PendingConfirmation") == "true":
                pending.append(sub["Endpoint"])
    return pending


def _attribute(sns: Any, subscription: str, name: str) -> Optional[str]:
    return sns.get_subscription_attributes(SubscriptionArn=subscription)["Attributes"].get(name)


def _minutes(seconds: int) -> str:
    minutes = seconds // 60
    return f"{minutes} minutes" if minutes < 120 or minutes % 60 else f"{minutes // 60} hours"
