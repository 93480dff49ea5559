"""GPU families: the AL2023 NVIDIA AMIs cannot drive P2, P3, G2 or G3 GPUs, and G4ad, Inf, Trn
and DL types have no NVIDIA GPU. A GPU job sent to them fails or never starts; a stack made with
an older template may still list them."""

from __future__ import annotations

from typing import Sequence

from ...instance_types import refused_gpu_family
from .findings import GPU_FAMILIES, OK, PROBLEM, Finding, Kind


def family_findings(kinds: Sequence[Kind]) -> list[Finding]:
    found = []
    for k in kinds:
        if k.kind != "gpu" or not k.environments:
            continue
        names = k.instance_types()
        refused = [(name, refused_gpu_family(name)) for name in names
                   if refused_gpu_family(name)]
        for name, reason in refused:
            found.append(Finding(
                GPU_FAMILIES, PROBLEM, f"{k.label} instance type {name}: {reason}",
                f"Replace it in {k.parameters.instance_types} and update the stack."))
        if names and not refused:
            found.append(Finding(GPU_FAMILIES, OK, f"{k.label} instance types "
                                 f"{', '.join(names)} have GPUs the AL2023 NVIDIA AMIs drive"))
    return found
