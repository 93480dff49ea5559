"""Zone offerings: Batch launches a type only in the zones of the subnets that offer it.

One cause, one finding: a subnet whose zone offers none (or only some) of the types is one
problem naming every type it lacks, GPU and CPU together, not one line per type and kind.
"""

from __future__ import annotations

from typing import Any, Sequence

from ...template import parameters as params
from ..clients import ec2 as ec2_reads
from .findings import OFFERINGS, OK, PROBLEM, Finding, Kind


def offering_findings(ec2: Any, kinds: Sequence[Kind], lookup: ec2_reads.TypeLookup,
                      vpc: str) -> list[Finding]:
    found: list[Finding] = []
    every_type: list[str] = []
    missing_subnets: dict[str, list[str]] = {}  # subnet id -> the kinds using it
    # subnet id -> (zone, [(kind label, type name)] not offered there), in the order met
    gaps: dict[str, tuple[str, list[tuple[str, str]]]] = {}
    for k in kinds:
        for env in k.environments:
            resources = env.get("computeResources", {})
            zones, missing = ec2_reads.subnet_zones(ec2, resources.get("subnets", []))
            for subnet_id in missing:
                missing_subnets.setdefault(subnet_id, []).append(k.label)
            names = [n for n in resources.get("instanceTypes", []) if n in lookup.types]
            every_type += [n for n in names if n not in every_type]
            if not zones or not names:
                continue
            members = {n: [t.name for t in lookup.types[n]] for n in names}
            offered = ec2_reads.offerings(ec2, [m for ms in members.values() for m in ms],
                                          zones.values())
            lacking_here = False
            for subnet_id, zone in sorted(zones.items()):
                for name in names:
                    if not any((m, zone) in offered for m in members[name]):
                        gaps.setdefault(subnet_id, (zone, []))[1].append((k.label, name))
                        lacking_here = True
            if not lacking_here:
                every = ", ".join(sorted(set(zones.values())))
                found.append(Finding(OFFERINGS, OK,
                                     f"{k.label} instance types {', '.join(names)} are offered in "
                                     f"every subnet's zone ({every})"))
    for subnet_id, labels in missing_subnets.items():
        found.append(Finding(OFFERINGS, PROBLEM,
                             f"subnet {subnet_id} of the {' and '.join(labels)} compute "
                             "environments does not exist",
                             f"Update the stack with {params.SUBNET_IDS} listing existing "
                             f"subnets (rv-batch-cfn choose-subnets --vpc {vpc})."))
    for subnet_id, (zone, lacking) in gaps.items():
        by_kind: dict[str, list[str]] = {}
        for label, name in lacking:
            by_kind.setdefault(label, []).append(name)
        what = "; ".join(f"{label} {', '.join(names)}" for label, names in by_kind.items())
        parameters = " or ".join(params.KINDS[label.lower()].instance_types for label in by_kind)
        found.append(Finding(
            OFFERINGS, PROBLEM,
            f"{zone} ({subnet_id}) does not offer {what}: Batch cannot launch "
            f"{'that type' if len(lacking) == 1 else 'those types'} there",
            f"Remove {subnet_id} from {params.SUBNET_IDS} (or the types from {parameters}) and "
            f"update the stack; `rv-batch-cfn choose-subnets --vpc {vpc} --instance-types "
            f"{','.join(every_type)}` lists the subnets whose zones offer every type."))
    return found
