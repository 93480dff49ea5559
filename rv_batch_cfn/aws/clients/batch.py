"""Batch as `doctor` and the cost estimate both read it: a job queue and its compute environments,
and what a job definition reserves."""

from __future__ import annotations

from dataclasses import dataclass
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


@dataclass(frozen=True)
class JobSize:
    """What a job definition reserves on an instance."""

    vcpus: int
    memory_mib: int
    gpus: int

    def __str__(self) -> str:
        gpus = f", {self.gpus} GPU{'s' if self.gpus != 1 else ''}" if self.gpus else ""
        return f"{self.vcpus} vCPUs, {self.memory_mib} MiB{gpus}"


def job_size(definition: dict) -> JobSize:
    """The vCPUs, memory and GPUs a container job definition reserves (resourceRequirements,
    falling back to the older top-level vcpus and memory)."""
    container = definition.get("containerProperties", {})
    wanted = {r["type"]: int(float(r["value"])) for r in container.get("resourceRequirements", [])}
    return JobSize(vcpus=wanted.get("VCPU", int(container.get("vcpus") or 0)),
                   memory_mib=wanted.get("MEMORY", int(container.get("memory") or 0)),
                   gpus=wanted.get("GPU", 0))
