"""A Batch job queue and its compute environments, read as doctor and the cost estimate both
need them."""

from __future__ import annotations

from typing import Any, Optional

from .session import aws_errors


def read_queue(batch: Any, queue: str) -> tuple[Optional[dict], list[dict]]:
    """The queue's description (None when Batch does not know it) and its compute environments
    in the queue's order. AwsError when Batch cannot be read."""
    with aws_errors(f"describe job queue {queue}"):
        found = batch.describe_job_queues(jobQueues=[queue])["jobQueues"]
    description = found[0] if found else None
    order = sorted((description or {}).get("computeEnvironmentOrder", []),
                   key=lambda o: o["order"])
    arns = [o["computeEnvironment"] for o in order]
    if not arns:
        return description, []
    with aws_errors(f"describe the compute environments of {queue}"):
        environments = batch.describe_compute_environments(
            computeEnvironments=arns)["computeEnvironments"]
    # The queue may name an environment by ARN or by name.
    by_key = {e["computeEnvironmentArn"]: e for e in environments}
    by_key.update({e["computeEnvironmentName"]: e for e in environments})
    return description, [by_key[a] for a in arns if a in by_key]
