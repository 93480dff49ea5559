"""What the instance types this project recommends offer to a Batch job.

Used to refuse, at generation time, a default job that fits no default instance type: such a job
sits in RUNNABLE forever. Only families listed here are checked; others are trusted (the
`doctor` command checks them against the real EC2 API after deploying, building `InstanceType`
values from describe_instance_types so both checks apply the same memory rule).

Also the one place that says which families the GPU kind refuses, and why: the configuration,
the console pattern, `deploy` and `doctor` all word their messages from `refused_gpu_family`.
The figures below are those of ec2:DescribeInstanceTypes (vCPUs, GiB, GPUs, and the NVMe
instance-store volumes: how many, and GB each).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Optional


@dataclass(frozen=True)
class InstanceType:
    """vCPUs, memory (MiB), GPUs and NVMe instance store of one EC2 instance type."""

    name: str
    vcpus: int
    memory_mib: int
    gpus: int = 0
    # (volumes, GB each) of NVMe instance store; (0, 0) for none. The launch templates' user
    # data turns these into the jobs' scratch space (RAID 0 when there are several).
    instance_store: tuple[int, int] = (0, 0)

    @property
    def job_memory_mib(self) -> int:
        """Memory a container may ask for: the ECS agent and the OS keep about 6% (at least 512 MiB)."""
        return self.memory_mib - max(512, self.memory_mib * 6 // 100)

    @property
    def instance_store_gb(self) -> int:
        """Total NVMe instance store in GB (the unit EC2 states it in); 0 for none."""
        return self.instance_store[0] * self.instance_store[1]

    def fits(self, vcpus: int, memory_mib: int, gpus: int = 0) -> bool:
        """Whether a job asking for these resources can be placed on one instance of this type."""
        return vcpus <= self.vcpus and memory_mib <= self.job_memory_mib and gpus <= self.gpus


_SIZES = {"large": 2, "xlarge": 4, "2xlarge": 8, "4xlarge": 16, "8xlarge": 32, "12xlarge": 48,
          "16xlarge": 64, "24xlarge": 96}
# GiB of memory per vCPU of the general-purpose (m), compute (c) and memory (r) families.
_GIB_PER_VCPU = {"m": 4, "c": 2, "r": 8}
_CPU_FAMILIES = ("m5", "m5a", "m6i", "m6a", "m7i", "m7a", "c5", "c6i", "c6a", "c7i", "c7a",
                 "r5", "r6i", "r6a", "r7i", "r7a")
# The "d" variants: the same vCPUs and memory as their family, plus NVMe instance store.
_6ID_DISKS = {"large": (1, 118), "xlarge": (1, 237), "2xlarge": (1, 474), "4xlarge": (1, 950),
              "8xlarge": (1, 1900), "12xlarge": (2, 1425), "16xlarge": (2, 1900),
              "24xlarge": (4, 1425)}
_5D_DISKS = {"large": (1, 75), "xlarge": (1, 150), "2xlarge": (1, 300), "4xlarge": (2, 300),
             "8xlarge": (2, 600), "12xlarge": (2, 900), "16xlarge": (4, 600),
             "24xlarge": (4, 900)}
_CPU_DISK_FAMILIES = {"m6id": _6ID_DISKS, "c6id": _6ID_DISKS, "r6id": _6ID_DISKS,
                      "m5d": _5D_DISKS, "r5d": _5D_DISKS}
# GPU families are irregular: (size, vCPUs, GiB, GPUs, (instance-store volumes, GB each)).
_GPU_SIZES = {
    "g4dn": [("xlarge", 4, 16, 1, (1, 125)), ("2xlarge", 8, 32, 1, (1, 225)),
             ("4xlarge", 16, 64, 1, (1, 225)), ("8xlarge", 32, 128, 1, (1, 900)),
             ("12xlarge", 48, 192, 4, (1, 900)), ("16xlarge", 64, 256, 1, (1, 900)),
             ("metal", 96, 384, 8, (2, 900))],
    "g5": [("xlarge", 4, 16, 1, (1, 250)), ("2xlarge", 8, 32, 1, (1, 450)),
           ("4xlarge", 16, 64, 1, (1, 600)), ("8xlarge", 32, 128, 1, (1, 900)),
           ("12xlarge", 48, 192, 4, (1, 3800)), ("16xlarge", 64, 256, 1, (1, 1900)),
           ("24xlarge", 96, 384, 4, (1, 3800)), ("48xlarge", 192, 768, 8, (2, 3800))],
    "g6": [("xlarge", 4, 16, 1, (1, 250)), ("2xlarge", 8, 32, 1, (1, 450)),
           ("4xlarge", 16, 64, 1, (1, 600)), ("8xlarge", 32, 128, 1, (2, 450)),
           ("12xlarge", 48, 192, 4, (4, 940)), ("16xlarge", 64, 256, 1, (2, 940)),
           ("24xlarge", 96, 384, 4, (4, 940)), ("48xlarge", 192, 768, 8, (8, 940))],
    "g6e": [("xlarge", 4, 32, 1, (1, 250)), ("2xlarge", 8, 64, 1, (1, 450)),
            ("4xlarge", 16, 128, 1, (1, 600)), ("8xlarge", 32, 256, 1, (2, 450)),
            ("12xlarge", 48, 384, 4, (2, 1900)), ("16xlarge", 64, 512, 1, (2, 950)),
            ("24xlarge", 96, 768, 4, (2, 1900)), ("48xlarge", 192, 1536, 8, (4, 1900))],
    "p4d": [("24xlarge", 96, 1152, 8, (8, 1000))],
    "p5": [("4xlarge", 16, 256, 1, (1, 3800)), ("48xlarge", 192, 2048, 8, (8, 3800))],
}


def _catalogue() -> dict[str, InstanceType]:
    types: dict[str, InstanceType] = {}
    for family in (*_CPU_FAMILIES, *_CPU_DISK_FAMILIES):
        for size, vcpus in _SIZES.items():
            name = f"{family}.{size}"
            disks = _CPU_DISK_FAMILIES.get(family, {}).get(size, (0, 0))
            types[name] = InstanceType(name, vcpus, vcpus * _GIB_PER_VCPU[family[0]] * 1024,
                                       instance_store=disks)
    for family, sizes in _GPU_SIZES.items():
        for size, vcpus, gib, gpus, disks in sizes:
            name = f"{family}.{size}"
            types[name] = InstanceType(name, vcpus, gib * 1024, gpus, disks)
    return types


CATALOGUE = _catalogue()


GPU_FAMILIES = tuple(_GPU_SIZES)


def lookup(name: str) -> Optional[InstanceType]:
    """The instance type called `name`, or None when this table does not know it."""
    return CATALOGUE.get(name)


def has_no_gpu(name: str) -> bool:
    """True when `name`, an instance type or a family, surely has no GPU (a type or family of
    this table's CPU families); False for GPU types and for names it does not know."""
    known = lookup(name)
    if known is not None:
        return known.gpus < 1
    return name.split(".")[0] in (*_CPU_FAMILIES, *_CPU_DISK_FAMILIES)


def members(name: str) -> tuple[InstanceType, ...]:
    """The types `name` stands for in this table: the type itself, or every size of a family;
    () when the table does not know it."""
    known = lookup(name)
    if known is not None:
        return (known,)
    return tuple(t for t in CATALOGUE.values() if t.name.split(".")[0] == name)


def known_gpu_names() -> tuple[str, ...]:
    """Every GPU type and family of this table, families first (what Rules compare against)."""
    return (*GPU_FAMILIES, *(t.name for t in CATALOGUE.values() if t.gpus))


def holding(gpus: int) -> tuple[str, ...]:
    """The GPU types and families of this table with at least `gpus` GPUs on one instance
    (a family when one of its sizes has them), families first."""
    return tuple(n for n in known_gpu_names() if max(t.gpus for t in members(n)) >= gpus)


def holding_text(gpus: int) -> str:
    """The types and families of `holding(gpus)` by GPU count, for messages: 'g4dn.12xlarge,
    g5.12xlarge, ... (4 GPUs); g4dn.metal, ... (8 GPUs); or the families g4dn, g5, ...'."""
    by_count: dict[int, list[str]] = {}
    families = []
    for name in holding(gpus):
        if name in GPU_FAMILIES:
            families.append(name)
        else:
            by_count.setdefault(CATALOGUE[name].gpus, []).append(name)
    parts = [f"{', '.join(names)} ({count} GPUs)" for count, names in sorted(by_count.items())]
    return "; ".join(parts) + (f"; or the families {', '.join(families)}" if families else "")


def describe_gpus(t: InstanceType) -> str:
    """'g5.12xlarge (4 GPUs, 48 vCPUs, 180469 MiB for jobs)'."""
    return (f"{t.name} ({t.gpus} GPU{'s' if t.gpus != 1 else ''}, {t.vcpus} vCPUs, "
            f"{t.job_memory_mib} MiB for jobs)")


# ----------------------------------------------------------------------------------------------
# GPU families the GPU kind refuses. Its AMIs (the ECS-optimized Amazon Linux 2023 NVIDIA AMI,
# and the Deep Learning Base OSS AMI `make create-ami` builds on) ship NVIDIA's open kernel
# module, which supports Turing (T4) and newer GPUs only; the others have no NVIDIA GPU at all.

# What to pick instead, in the order of the README's table.
GPU_FAMILIES_INSTEAD = ("g4dn", "g5", "g6", "g6e", "p4d", "p5")
_OPEN_MODULE = ("NVIDIA's open kernel module in the Amazon Linux 2023 NVIDIA AMIs does not "
                "support them")
# (name in messages, family pattern, what the family has): patterns are matched against the
# whole family name.
_REFUSED_GPU_FAMILIES = (
    ("P2", r"p2", f"NVIDIA K80 GPUs; {_OPEN_MODULE}"),
    ("P3", r"p3(dn)?", f"NVIDIA V100 GPUs; {_OPEN_MODULE}"),
    ("G2", r"g2", f"NVIDIA GRID K520 GPUs; {_OPEN_MODULE}"),
    ("G3", r"g3s?", f"NVIDIA M60 GPUs; {_OPEN_MODULE}"),
    ("G4ad", r"g4ad", "AMD Radeon Pro GPUs, not NVIDIA ones"),
    ("Inf", r"inf[0-9]+[a-z]*", "AWS Inferentia chips, not NVIDIA GPUs"),
    ("Trn", r"trn[0-9]+[a-z]*", "AWS Trainium chips, not NVIDIA GPUs"),
    ("DL", r"dl[0-9]+[a-z]*", "Habana Gaudi or Qualcomm accelerators, not NVIDIA GPUs"),
)
# The same families as one regular expression for the console's AllowedPattern (Java syntax,
# which has the negative lookahead): "p3" and "p3.2xlarge" are refused, "p3x" would not be.
REFUSED_GPU_FAMILY_LOOKAHEAD = (
    "(?!(?:" + "|".join(p for _, p, _ in _REFUSED_GPU_FAMILIES) + r")(?:\.|$))")


def refused_gpu_family(name: str) -> Optional[str]:
    """Why the GPU kind cannot use `name` (an instance type or a family), or None when it can
    (as far as this table knows). The text names the family, says what it has and what to use
    instead, e.g. "p3 has NVIDIA V100 GPUs; ...; use g4dn, g5, g6, g6e, p4d or p5 instead"."""
    family = name.strip().lower().split(".")[0]
    for _, pattern, what in _REFUSED_GPU_FAMILIES:
        if re.fullmatch(pattern, family):
            return f"{family} has {what}; use {gpu_families_instead()} instead"
    return None


def refused_gpu_families() -> str:
    """'P2, P3, G2, G3, G4ad, Inf, Trn or DL': the families the GPU kind refuses, for messages."""
    names = [name for name, _, _ in _REFUSED_GPU_FAMILIES]
    return ", ".join(names[:-1]) + " or " + names[-1]


def gpu_families_instead() -> str:
    """'g4dn, g5, g6, g6e, p4d or p5'."""
    return ", ".join(GPU_FAMILIES_INSTEAD[:-1]) + " or " + GPU_FAMILIES_INSTEAD[-1]
