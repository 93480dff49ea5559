"""vCPU quotas and spot capacity: the commonest reasons a GPU job waits in RUNNABLE forever on a
new account, neither visible in Batch (which often gives no status reason at all).

A problem when a kind's quota holds less than one instance that fits its job; a note when it
holds less than MaximumVCPUs, when it cannot be read, and when every zone of the subnets
scores low for spot GPU capacity. Quotas are per region and per account.
"""

from __future__ import annotations

from typing import Any, Mapping, Optional

from ...errors import RvBatchError
from ...template import parameters as params
from ..clients import ec2 as ec2_reads
from ..quotas import check, placement
from ..quotas.codes import SPOT
from .findings import NOTE, OK, QUOTAS, SPOT_SCORES, Finding


def quota_findings(session: Any, stack_name: str, values: Mapping[str, str],
                   lookup: Optional[ec2_reads.TypeLookup] = None) -> list[Finding]:
    """The quota findings, then the spot placement notes of the GPU kind (`lookup`: the
    instance types doctor has described already)."""
    try:
        kinds = check.stack_kind_needs(session, values, known=lookup)
    except RvBatchError as e:  # the types cannot be sized: neither check can be made
        return [Finding(QUOTAS, NOTE, check.NOT_CHECKED.format(e))]
    try:
        _, found = check.check_quotas(session, values, stack_name, needs_by_kind=kinds)
        findings = [Finding(QUOTAS, f.status, f.message, f.fix) for f in found]
    except RvBatchError as e:  # an extra check: what cannot be read is a note, as for deploy
        findings = [Finding(QUOTAS, NOTE, check.NOT_CHECKED.format(e))]
    gpu = next((k for k in kinds if k.kind == "gpu"), None)
    if gpu is not None and gpu.capacity == SPOT and gpu.fitting:
        findings += spot_findings(session, values, gpu)
    return findings


def spot_findings(session: Any, values: Mapping[str, str], gpu: check.KindNeed) -> list[Finding]:
    """A note when every zone of the subnets scores low for one GPU instance, or for
    MaximumVCPUs of them; a note when AWS gives no scores."""
    ec2 = session.client("ec2")
    subnet_ids = [s for s in values.get(params.SUBNET_IDS, "").split(",") if s]
    zones = sorted(set(ec2_reads.subnet_zones(ec2, subnet_ids)[0].values()))
    if not zones:
        return []
    types = [t.name for t in gpu.fitting]
    found: list[Finding] = []
    for target in dict.fromkeys((gpu.fitting[0].vcpus, max(gpu.max_vcpus,
                                                             gpu.fitting[0].vcpus))):
        scores = placement.zone_scores(ec2, types, target)
        what = f"GPU spot placement scores of {', '.join(types)} for {target} vCPUs"
        if scores.refused:
            return [Finding(SPOT_SCORES, NOTE, f"{what} not checked: {scores.refused}")]
        shown = ", ".join(f"{z} {scores.zones.get(z, 'not scored')}" for z in zones)
        if scores.all_low(zones):
            found.append(Finding(
                SPOT_SCORES, NOTE, f"{what} are low in every zone of the subnets ({shown}; "
                f"1 to 10, {placement.LOW_SCORE} or less is low): spot GPU jobs may wait long",
                f"Add subnets in better zones (rv-batch-cfn choose-subnets shows the scores), "
                f"more GPU types to {params.GPU.instance_types}, or set {params.GPU.capacity} to "
                "ON_DEMAND (its own quota applies)."))
        else:
            found.append(Finding(SPOT_SCORES, OK, f"{what}: {shown}"))
    return found
