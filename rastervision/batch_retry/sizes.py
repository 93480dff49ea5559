"""Per-command sizes: the GPUs, vCPUs and memory a command's jobs get, read from Raster Vision's
configuration, and the check that an instance type of the job queue can hold them.

    [BATCH]
    train_gpus = 4
    train_vcpus = 48
    train_memory = 180000

Any command may have the three keys `<command>_gpus`, `<command>_vcpus` and `<command>_memory`
(MiB), or the environment variables BATCH_<COMMAND>_GPUS and so on, as Raster Vision reads its
other [BATCH] keys. `rv-batch-cfn rv-config --write` writes the stack's train size. A command
with none of them gets its job definition's size, as with Raster Vision's own runner. The keys
set are submitted as `containerOverrides.resourceRequirements`; the others keep the job
definition's values.

Before any job of a pipeline is submitted, every command with a size is checked against the
instance types of its job queue's compute environments (Batch DescribeJobQueues and
DescribeComputeEnvironments, EC2 DescribeInstanceTypes): a size that no type holds would wait
in RUNNABLE forever, so it is refused with the types and what each offers. What cannot be read
(a permission missing, 'optimal') is not checked, with a warning.

This module imports nothing of Raster Vision's and nothing of rv-batch-cfn's; the memory rule
below is the one rv-batch-cfn's instance catalogue applies (a test holds them equal).
"""

from __future__ import annotations

import logging
import random
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Mapping, Optional, Sequence

log = logging.getLogger(__name__)

# Batch's resource types -> the suffix of the [BATCH] key, and the least Batch accepts.
KEYS = {"GPU": "gpus", "VCPU": "vcpus", "MEMORY": "memory"}
MINIMUM = {"GPU": 1, "VCPU": 1, "MEMORY": 4}
OPTIMAL = "optimal"
# Raster Vision's DDP processes meet at MASTER_PORT (default 12355) on localhost. Batch jobs on
# EC2 use the host's network, so two multi-GPU jobs on one instance (two 2-GPU trains on a
# 4-GPU type) would both bind 12355: each job with several GPUs gets a port of its own, below
# Linux's ephemeral range (32768-60999) so that no outgoing connection holds it.
MASTER_PORT = "MASTER_PORT"
MASTER_PORTS = (20000, 32767)
# Errors of a permission refused (botocore ClientError codes).
DENIED = ("AccessDenied", "AccessDeniedException", "UnauthorizedOperation",
          "UnauthorizedException")


class SizeError(ValueError):
    """A command's size is invalid, or no instance type of its queue holds it."""


def key(command: str, resource: str) -> str:
    """'train_gpus' for ('train', 'GPU')."""
    return f"{command}_{KEYS[resource]}"


def configured_size(command: str, read: Callable[[str], Any]) -> dict[str, int]:
    """The resources set for `command` ({'GPU': 4, ...}; {} for none), `read` giving the
    [BATCH] value of a key (None when unset). SizeError for a value that is not a whole number
    at least Batch's least."""
    size = {}
    for resource in KEYS:
        value = read(key(command, resource))
        if value is None or not str(value).strip():
            continue
        text = str(value).strip()
        if not text.isdigit() or int(text) < MINIMUM[resource]:
            env = f"BATCH_{key(command, resource).upper()}"
            raise SizeError(f"[BATCH] {key(command, resource)} (or {env}): got {text!r}; "
                            f"allowed: a whole number, at least {MINIMUM[resource]}"
                            + (" (MiB)" if resource == "MEMORY" else ""))
        size[resource] = int(text)
    return size


def resource_requirements(size: Mapping[str, int]) -> list[dict[str, str]]:
    """The size as SubmitJob's containerOverrides.resourceRequirements."""
    return [{"type": resource, "value": str(size[resource])} for resource in KEYS
            if resource in size]


def environment(size: Mapping[str, int], port: Optional[int] = None) -> list[dict[str, str]]:
    """What a job of this size needs in its environment: a MASTER_PORT of its own when it has
    several GPUs (see MASTER_PORTS); nothing otherwise."""
    if size.get("GPU", 0) < 2:
        return []
    port = port if port is not None else random.randint(*MASTER_PORTS)
    return [{"name": MASTER_PORT, "value": str(port)}]


def describe(size: Mapping[str, int]) -> str:
    """'4 GPUs, 48 vCPUs, 180000 MiB' (the resources given)."""
    words = {"GPU": ("GPU", "GPUs"), "VCPU": ("vCPU", "vCPUs"), "MEMORY": ("MiB", "MiB")}
    return ", ".join(f"{size[r]} {words[r][size[r] != 1]}" for r in KEYS if r in size)


def job_memory_mib(memory_mib: int) -> int:
    """Memory a container may ask for on an instance: the ECS agent and the OS keep about 6%
    (at least 512 MiB); rv-batch-cfn's instance catalogue applies the same rule."""
    return memory_mib - max(512, memory_mib * 6 // 100)


@dataclass(frozen=True)
class Offer:
    """What one instance type offers a job."""

    name: str
    gpus: int
    vcpus: int
    memory_mib: int

    def holds(self, size: Mapping[str, int]) -> bool:
        return (size.get("GPU", 0) <= self.gpus and size.get("VCPU", 0) <= self.vcpus
                and size.get("MEMORY", 0) <= job_memory_mib(self.memory_mib))

    def __str__(self) -> str:
        return (f"{self.name} ({self.gpus} GPU{'s' if self.gpus != 1 else ''}, {self.vcpus} "
                f"vCPUs, {job_memory_mib(self.memory_mib)} MiB for jobs)")


def _code(error: Exception) -> str:
    return str(getattr(error, "response", {}).get("Error", {}).get("Code", ""))


class QueueTypes:
    """The instance types of job queues, read once per queue through Batch and EC2."""

    def __init__(self, batch: Any, ec2: Any):
        self.batch, self.ec2 = batch, ec2
        self._read: dict[str, Optional[list[Offer]]] = {}
        self._definitions: dict[str, dict[str, int]] = {}

    def offers(self, queue: str) -> Optional[list[Offer]]:
        """What each instance type of the queue offers; None when that cannot be known (a
        permission missing, 'optimal', a Fargate environment), with a warning saying why."""
        if queue not in self._read:
            self._read[queue] = self._offers(queue)
        return self._read[queue]

    def _offers(self, queue: str) -> Optional[list[Offer]]:
        try:
            found = self.batch.describe_job_queues(jobQueues=[queue])["jobQueues"]
            if not found:
                raise SizeError(f"job queue {queue!r} does not exist in this region: check "
                                "[BATCH] gpu_job_queue and cpu_job_queue (rv-batch-cfn "
                                "rv-config --write writes them)")
            order = sorted(found[0].get("computeEnvironmentOrder", []),
                           key=lambda e: e.get("order", 0))
            arns = [e["computeEnvironment"] for e in order]
            environments = self.batch.describe_compute_environments(
                computeEnvironments=arns)["computeEnvironments"] if arns else []
            names: list[str] = []
            for env in environments:
                types = (env.get("computeResources") or {}).get("instanceTypes") or []
                if not types or OPTIMAL in types:
                    log.warning("job queue %s: compute environment %s has %s instance types; "
                                "the sizes of its commands are not checked", queue,
                                env.get("computeEnvironmentName"), "'optimal'" if types else "no")
                    return None
                names += types
            return self._describe(sorted(set(names)))
        except SizeError:
            raise
        except Exception as e:  # botocore's ClientError; only a refused permission is let by
            if _code(e) not in DENIED:
                raise
            log.warning("the instance types of job queue %s could not be read (%s): the sizes "
                        "of its commands are not checked", queue, _code(e))
            return None

    def _describe(self, names: Sequence[str]) -> list[Offer]:
        # A filter, not InstanceTypes=, which refuses the whole call for one unknown name and
        # takes no family; a family (g5) is every size of it (g5.*).
        values = [n if "." in n else f"{n}.*" for n in names]
        offers = []
        for page in self.ec2.get_paginator("describe_instance_types").paginate(
                Filters=[{"Name": "instance-type", "Values": values}]):
            for d in page["InstanceTypes"]:
                gpus = sum(g.get("Count", 0) for g in d.get("GpuInfo", {}).get("Gpus", []))
                offers.append(Offer(d["InstanceType"], gpus, d["VCpuInfo"]["DefaultVCpus"],
                                    d["MemoryInfo"]["SizeInMiB"]))
        return sorted(offers, key=lambda o: (o.gpus, o.vcpus, o.memory_mib, o.name))

    def definition_size(self, definition: str) -> dict[str, int]:
        """The resources a job definition (name, name:revision or ARN) reserves; {} when it
        cannot be read."""
        if definition not in self._definitions:
            self._definitions[definition] = self._definition_size(definition)
        return self._definitions[definition]

    def _definition_size(self, definition: str) -> dict[str, int]:
        try:
            if definition.startswith("arn:") or ":" in definition:
                found = self.batch.describe_job_definitions(jobDefinitions=[definition])
            else:
                found = self.batch.describe_job_definitions(jobDefinitionName=definition,
                                                            status="ACTIVE")
        except Exception as e:
            if _code(e) not in DENIED:
                raise
            return {}
        latest = max(found.get("jobDefinitions", []), key=lambda d: d.get("revision", 0),
                     default=None)
        container = (latest or {}).get("containerProperties") or {}
        return {r["type"]: int(float(r["value"])) for r in container.get(
            "resourceRequirements", []) if r.get("type") in KEYS}


def check(command: str, size: Mapping[str, int], queue: str, definition: Optional[str],
          types: QueueTypes) -> None:
    """SizeError when no instance type of `queue` holds `size` completed with the job
    definition's other resources: the job would wait in RUNNABLE forever."""
    offers = types.offers(queue)
    if offers is None:
        return
    whole = {**(types.definition_size(definition) if definition else {}), **size}
    if any(o.holds(whole) for o in offers):
        return
    keys = ", ".join(key(command, r) for r in KEYS if r in size)
    listed = ", ".join(map(str, offers)) or "none that EC2 knows in this region"
    raise SizeError(
        f"{command} asks for {describe(whole)} ([BATCH] {keys}), which no instance type of job "
        f"queue {queue} holds on one instance: {listed}. Its jobs would wait in RUNNABLE "
        "forever, so nothing was submitted. Lower the size, or add an instance type that holds "
        "it to the stack (GpuInstanceTypes, and TrainGPUs for train) and run rv-batch-cfn "
        "rv-config --write.")


def check_all(planned: Iterable[tuple[str, Mapping[str, int], str, Optional[str]]],
              types: QueueTypes) -> None:
    """`check` for each (command, size, queue, job definition) with a size, before any job."""
    for command, size, queue, definition in planned:
        if size:
            check(command, size, queue, definition, types)
