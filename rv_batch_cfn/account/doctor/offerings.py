"""Zone offerings: Batch launches a type only in the zones of the subnets that offer it."""

from __future__ import annotations

from typing import Any, Sequence

from ...template import parameters as params
from .. import instances
from .model import OFFERINGS, OK, PROBLEM, Finding, Kind

def offering_findings(ec2: Any, kinds: Sequence[Kind], lookup: instances.TypeLookup,
                       vpc: str) -> list[Finding]:
    found = []
    for k in kinds:
        kp = k.parameters
        for env in k.environments:
            resources = env.get("computeResources", {})
            zones, missing = instances.subnet_zones(ec2, resources.get("subnets", []))
            for subnet_id in missing:
                found.append(Finding(OFFERINGS, PROBLEM,
                                     f"{k.label} compute environment subnet {subnet_id} does not "
                                     "exist",
                                     f"Update the stack with {params.SUBNET_IDS} listing existing "
                                     f"subnets (rv-batch-cfn choose-subnets --vpc {vpc})."))
            names = [n for n in resources.get("instanceTypes", []) if n in lookup.types]
            if not zones or not names:
                continue
            members = {n: [t.name for t in lookup.types[n]] for n in names}
            offered = instances.offerings(ec2, [m for ms in members.values() for m in ms],
                                          zones.values())
            gaps = []
            for name in names:
                lacking = sorted(sid for sid, zone in zones.items()
                                 if not any((m, zone) in offered for m in members[name]))
                if lacking:
                    where = ", ".join(f"{zones[s]} ({s})" for s in lacking)
                    gaps.append(name)
                    found.append(Finding(
                        OFFERINGS, PROBLEM,
                        f"{k.label} instance type {name} is not offered in {where}: Batch cannot "
                        "launch it there",
                        f"Remove {', '.join(lacking)} from {params.SUBNET_IDS} or {name} from "
                        f"{kp.instance_types}, and update the stack; `rv-batch-cfn choose-subnets "
                        f"--vpc {vpc} --instance-types {','.join(names)}` lists the subnets that "
                        "offer every type."))
            if not gaps:
                every = ", ".join(sorted(set(zones.values())))
                found.append(Finding(OFFERINGS, OK,
                                     f"{k.label} instance types {', '.join(names)} are offered in "
                                     f"every subnet's zone ({every})"))
    return found
