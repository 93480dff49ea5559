"""Which EC2 vCPU quota an instance type counts against, spot and on-demand apart.

EC2 limits the vCPUs of running instances per region and per account, in quotas that group
instance families, one set for on-demand instances and another for spot requests (Amazon EC2
Instance Types guide, "Amazon EC2 instance type quotas"). A spot environment is bound by the
spot quota only and an on-demand one by the on-demand quota only: raising the other does
nothing, a confusion this table exists to prevent. Pure data and a lookup; no AWS call.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Optional

from ...config import limits

SERVICE_CODE = "ec2"  # Service Quotas' code for every EC2 quota
SPOT, ON_DEMAND = limits.SPOT, limits.ON_DEMAND


@dataclass(frozen=True)
class VcpuQuota:
    """One EC2 vCPU quota: its Service Quotas code, its name as AWS lists it, and the capacity
    (SPOT or ON_DEMAND) whose instances count against it."""

    code: str
    name: str
    capacity: str

    @property
    def capacity_text(self) -> str:
        """'spot' or 'on-demand', for messages."""
        return "spot" if self.capacity == SPOT else "on-demand"


def _pair(on_demand: tuple[str, str], spot: Optional[tuple[str, str]]
          ) -> dict[str, Optional[VcpuQuota]]:
    return {ON_DEMAND: VcpuQuota(*on_demand, ON_DEMAND),
            SPOT: VcpuQuota(*spot, SPOT) if spot else None}


# Quota classes as AWS groups them. HPC and High Memory instances are not sold as spot: they
# have an on-demand quota only.
STANDARD = "Standard (A, C, D, H, I, M, R, T, Z)"
CLASSES: dict[str, dict[str, Optional[VcpuQuota]]] = {
    STANDARD: _pair(("L-1216C47A", f"Running On-Demand {STANDARD} instances"),
                    ("L-34B43A08", f"All {STANDARD} Spot Instance Requests")),
    "G and VT": _pair(("L-DB2E81BA", "Running On-Demand G and VT instances"),
                      ("L-3819A6DF", "All G and VT Spot Instance Requests")),
    # P5 spot requests got a quota of their own; on-demand, every P family shares one.
    "P2, P3, P4": _pair(("L-417A185B", "Running On-Demand P instances"),
                        ("L-7212CCBC", "All P4, P3 and P2 Spot Instance Requests")),
    "P5": _pair(("L-417A185B", "Running On-Demand P instances"),
                ("L-C4BD4855", "All P5 Spot Instance Requests")),
    "F": _pair(("L-74FC7D96", "Running On-Demand F instances"),
               ("L-88CF9481", "All F Spot Instance Requests")),
    "X": _pair(("L-7295265B", "Running On-Demand X instances"),
               ("L-E3A00192", "All X Spot Instance Requests")),
    "Inf": _pair(("L-1945791B", "Running On-Demand Inf instances"),
                 ("L-B5D1601B", "All Inf Spot Instance Requests")),
    "Trn": _pair(("L-2C3B7624", "Running On-Demand Trn instances"),
                 ("L-6B0D517C", "All Trn Spot Instance Requests")),
    "DL": _pair(("L-6E869C2A", "Running On-Demand DL instances"),
                ("L-85EED4F7", "All DL Spot Instance Requests")),
    "HPC": _pair(("L-F7808C92", "Running On-Demand HPC instances"), None),
    "High Memory": _pair(("L-43DA4232", "Running On-Demand High Memory instances"), None),
}

# The family's leading letters -> its class; the longest prefix wins (hpc7a is HPC, not H;
# inf2 is Inf, not I; dl1 is DL, not D; trn1 is Trn, not T). P is split by generation below.
_PREFIXES = {
    **{letter: STANDARD for letter in "acdhimrtz"},
    "g": "G and VT", "gr": "G and VT", "vt": "G and VT",
    "f": "F", "x": "X", "inf": "Inf", "trn": "Trn", "dl": "DL", "hpc": "HPC", "u": "High Memory",
}
_P_GENERATIONS = {"2": "P2, P3, P4", "3": "P2, P3, P4", "4": "P2, P3, P4", "5": "P5"}


def quota_class(instance_type: str) -> Optional[str]:
    """The quota class of an instance type or family ('g5.2xlarge', 'g5', 'u-6tb1.metal'),
    None for one this table cannot place (mac instances run on Dedicated Hosts only; a P
    generation AWS had not listed)."""
    family = instance_type.strip().lower().split(".")[0]
    if family.startswith("u-") or re.fullmatch(r"u\d.*", family):
        return "High Memory"
    match = re.match(r"([a-z]+)(\d*)", family)
    if not match or family.startswith("mac"):
        return None
    letters, generation = match.group(1), match.group(2)[:1]
    if letters == "p":
        return _P_GENERATIONS.get(generation)
    for length in range(len(letters), 0, -1):  # the longest known prefix wins
        if letters[:length] in _PREFIXES:
            return _PREFIXES[letters[:length]]
    return None


def quota_for(instance_type: str, capacity: str) -> Optional[VcpuQuota]:
    """The vCPU quota `instance_type` counts against with `capacity` (SPOT or ON_DEMAND); None
    when the table has none (see quota_class, and spot HPC or High Memory, never sold as spot)."""
    found = quota_class(instance_type)
    return CLASSES[found][capacity] if found else None


def every_quota() -> list[VcpuQuota]:
    """Every quota of the table once, by code."""
    seen = {q.code: q for pair in CLASSES.values() for q in pair.values() if q}
    return [seen[code] for code in sorted(seen)]


def by_code(code: str) -> Optional[VcpuQuota]:
    """The quota with this code, None when the table has none."""
    return next((q for q in every_quota() if q.code == code), None)
