"""What the instance types this project recommends offer to a Batch job.

Used to refuse, at generation time, a default job that fits no default instance type: such a job
sits in RUNNABLE forever. Only families listed here are checked; others are trusted (the
`doctor` command checks them against the real EC2 API after deploying, building `InstanceType`
values from describe_instance_types so both checks apply the same memory rule).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional


@dataclass(frozen=True)
class InstanceType:
    """vCPUs, memory (MiB) and GPUs of one EC2 instance type."""

    name: str
    vcpus: int
    memory_mib: int
    gpus: int = 0

    @property
    def job_memory_mib(self) -> int:
        """Memory a container may ask for: the ECS agent and the OS keep about 6% (at least 512 MiB)."""
        return self.memory_mib - max(512, self.memory_mib * 6 // 100)

    def fits(self, vcpus: int, memory_mib: int, gpus: int = 0) -> bool:
        """Whether a job asking for these resources can be placed on one instance of this type."""
        return vcpus <= self.vcpus and memory_mib <= self.job_memory_mib and gpus <= self.gpus


_SIZES = {"large": 2, "xlarge": 4, "2xlarge": 8, "4xlarge": 16, "8xlarge": 32, "12xlarge": 48,
          "16xlarge": 64, "24xlarge": 96}
# GiB of memory per vCPU of the general-purpose (m), compute (c) and memory (r) families.
_GIB_PER_VCPU = {"m": 4, "c": 2, "r": 8}
_CPU_FAMILIES = ("m5", "m5a", "m6i", "m6a", "m7i", "m7a", "c5", "c6i", "c6a", "c7i", "c7a",
                 "r5", "r6i", "r6a", "r7i", "r7a")
# GPU families are irregular: (size, vCPUs, GiB, GPUs).
_GPU_SIZES = {
    "g4dn": [("xlarge", 4, 16, 1), ("2xlarge", 8, 32, 1), ("4xlarge", 16, 64, 1),
             ("8xlarge", 32, 128, 1), ("12xlarge", 48, 192, 4), ("16xlarge", 64, 256, 1)],
    "g5": [("xlarge", 4, 16, 1), ("2xlarge", 8, 32, 1), ("4xlarge", 16, 64, 1),
           ("8xlarge", 32, 128, 1), ("12xlarge", 48, 192, 4), ("16xlarge", 64, 256, 1),
           ("24xlarge", 96, 384, 4), ("48xlarge", 192, 768, 8)],
    "g6": [("xlarge", 4, 16, 1), ("2xlarge", 8, 32, 1), ("4xlarge", 16, 64, 1),
           ("8xlarge", 32, 128, 1), ("12xlarge", 48, 192, 4), ("16xlarge", 64, 256, 1),
           ("24xlarge", 96, 384, 4), ("48xlarge", 192, 768, 8)],
    "g6e": [("xlarge", 4, 32, 1), ("2xlarge", 8, 64, 1), ("4xlarge", 16, 128, 1),
            ("8xlarge", 32, 256, 1), ("12xlarge", 48, 384, 4)],
    "p3": [("2xlarge", 8, 61, 1), ("8xlarge", 32, 244, 4), ("16xlarge", 64, 488, 8)],
}


def _catalogue() -> dict[str, InstanceType]:
    types: dict[str, InstanceType] = {}
    for family in _CPU_FAMILIES:
        for size, vcpus in _SIZES.items():
            name = f"{family}.{size}"
            types[name] = InstanceType(name, vcpus, vcpus * _GIB_PER_VCPU[family[0]] * 1024)
    for family, sizes in _GPU_SIZES.items():
        for size, vcpus, gib, gpus in sizes:
            name = f"{family}.{size}"
            types[name] = InstanceType(name, vcpus, gib * 1024, gpus)
    return types


CATALOGUE = _catalogue()


def lookup(name: str) -> Optional[InstanceType]:
    """The instance type called `name`, or None when this table does not know it."""
    return CATALOGUE.get(name)


def has_no_gpu(name: str) -> bool:
    """True when `name`, an instance type or a family, surely has no GPU (a type or family of
    this table's CPU families); False for GPU types and for names it does not know."""
    known = lookup(name)
    if known is not None:
        return known.gpus < 1
    return name.split(".")[0] in _CPU_FAMILIES
