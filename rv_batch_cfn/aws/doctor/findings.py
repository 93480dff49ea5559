"""What doctor reports: findings, the diagnosis of a stack, and what it reads of each kind."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

from ...template import outputs as out
from ...template import parameters as params
from ..clients.findings import NOTE, OK, PROBLEM, WARNING  # noqa: F401 - a Finding's statuses

# Check names, as they appear in the report and in --json.
ENVIRONMENTS = "compute environments"
FIT = "job fit"
OFFERINGS = "zone offerings"
AMI = "AMI override"
IMAGES = "container images"
RV_CONFIG = "Raster Vision config"
GPU_FAMILIES = "GPU families"
SHARED_MEMORY = "shared memory"
RUNNER = "Raster Vision runner"
TIME_LIMITS = "queue time limits"
IDLE = "idle capacity"
NOTIFICATIONS = "notifications"
QUOTAS = "vCPU quotas"
SPOT_SCORES = "spot placement"
REGION = "region"
BUDGET = "budget"


@dataclass(frozen=True)
class Finding:
    """The result of one check: ok, a problem (with its fix) or a note."""

    check: str
    status: str
    message: str
    fix: str = ""


@dataclass(frozen=True)
class Diagnosis:
    """Every finding about one stack."""

    stack: str
    region: str
    findings: tuple[Finding, ...]
    job_def_stack: Optional[str] = None  # the per-project stack whose job definitions were checked

    @property
    def problems(self) -> tuple[Finding, ...]:
        """The findings that need fixing."""
        return tuple(f for f in self.findings if f.status == PROBLEM)

    @property
    def warnings(self) -> tuple[Finding, ...]:
        """The findings that work but cost more than they seem to."""
        return tuple(f for f in self.findings if f.status == WARNING)

    @property
    def healthy(self) -> bool:
        """True when nothing needs fixing."""
        return not self.problems

    def as_dict(self) -> dict:
        """Plain data for --json."""
        return {"stack": self.stack, "job_def_stack": self.job_def_stack,
                "region": self.region, "healthy": self.healthy,
                "problems": len(self.problems), "warnings": len(self.warnings),
                "findings": [f.__dict__ for f in self.findings]}


@dataclass
class Kind:
    """What the account says about one kind (GPU or CPU) of the stack."""

    kind: str
    queue_name: str
    definition_name: str
    queue: Optional[dict] = None
    environments: list[dict] = field(default_factory=list)
    definition: Optional[dict] = None

    @property
    def label(self) -> str:
        """'GPU', 'CPU', or 'on-demand GPU' for the optional on-demand GPU queue."""
        return "on-demand GPU" if self.kind == out.GPU_ON_DEMAND_KIND else self.kind.upper()

    @property
    def parameters(self) -> params.KindParameters:
        return params.KINDS[self.kind]

    def instance_types(self) -> list[str]:
        names = [t for env in self.environments
                 for t in env.get("computeResources", {}).get("instanceTypes", [])]
        return list(dict.fromkeys(names))
