"""What `choose-subnets` adds before deploying: the quota warnings for the types it is given,
and the spot placement score of each zone and of the best other regions for the GPU types."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Optional, Sequence

from ...errors import RvBatchError
from ...template import parameters as params
from . import check, placement
from .codes import SPOT

OTHER_REGIONS = 3  # how many of the best-scoring other regions to name
STACK_PLACEHOLDER = "NAME"  # no stack yet: the request command names the one to deploy


@dataclass
class SubnetAdvice:
    """Warnings about the quotas, and spot placement scores of the GPU types (none when the
    GPU kind is on-demand or has no type)."""

    warnings: list[str] = field(default_factory=list)
    zone_scores: list[placement.Scores] = field(default_factory=list)
    region_scores: Optional[placement.Scores] = None
    region: str = ""

    @property
    def other_regions(self) -> list[tuple[str, int]]:
        """The best-scoring regions other than this one, best first."""
        if self.region_scores is None:
            return []
        return [(r, s) for r, s in self.region_scores.regions.items()
                if r != self.region][:OTHER_REGIONS]

    def as_dict(self) -> dict:
        """Plain data for --output json."""
        return {"quota_warnings": self.warnings,
                "spot_placement_scores": [s.as_dict() for s in self.zone_scores],
                "other_regions": [{"region": r, "score": s} for r, s in self.other_regions],
                "region_scores_refused": (self.region_scores.refused or None)
                if self.region_scores else None}


def subnet_advice(session: Any, gpu_types: Sequence[str], cpu_types: Sequence[str],
                  capacity: str = SPOT, max_vcpus: int = 80) -> SubnetAdvice:
    """Quota warnings for `capacity` and `max_vcpus` (per environment), and, for spot, the
    GPU types' placement scores for one instance and for `max_vcpus`."""
    values = {params.GPU.instance_types: ",".join(gpu_types),
              params.CPU.instance_types: ",".join(cpu_types),
              params.GPU.capacity: capacity, params.CPU.capacity: capacity,
              params.MAXIMUM_VCPUS: str(max_vcpus)}
    ec2 = session.client("ec2")
    advice = SubnetAdvice(region=ec2.meta.region_name)
    try:
        needs = check.stack_kind_needs(session, values)
    except RvBatchError as e:  # the types cannot be sized: said as a warning, as deploy does
        advice.warnings = [check.NOT_CHECKED.format(e)]
        return advice
    advice.warnings = check.warnings(session, values, STACK_PLACEHOLDER, needs)
    [gpu] = [k for k in needs if k.kind == "gpu"]
    if capacity != SPOT or not gpu_types or not gpu.fitting:
        return advice
    names = [t.name for t in gpu.fitting]
    one = gpu.fitting[0].vcpus
    for target in dict.fromkeys((one, max(max_vcpus, one))):
        advice.zone_scores.append(placement.zone_scores(ec2, names, target))
    advice.region_scores = placement.region_scores(ec2, names, max(max_vcpus, one))
    return advice
