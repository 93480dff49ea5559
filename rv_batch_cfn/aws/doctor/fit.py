"""Job fit: a job that fits no instance type of its queue sits in RUNNABLE forever."""

from __future__ import annotations

from typing import Optional, Sequence

from ...instance_types import InstanceType
from ...template import parameters as params
from ...text import plural
from ..clients import ec2
from ..clients.batch import JobSize, job_size
from .findings import FIT, NOTE, OK, PROBLEM, WARNING, Finding, Kind

# A job that fits only types this many times the vCPUs of the smallest type listed beside them
# is a cost trap: every job launches one of those, while the small types never serve it.
COST_FACTOR = 4

def train_size(values: dict[str, str]) -> Optional[JobSize]:
    """The stack's train size from its parameter values; None for a stack without one."""
    try:
        return JobSize(vcpus=int(values[params.TRAIN_VCPUS]),
                       memory_mib=int(values[params.TRAIN_MEMORY]),
                       gpus=int(values[params.TRAIN_GPUS]))
    except (KeyError, ValueError):
        return None


def _describe_type(t: InstanceType) -> str:
    gpus = f", {plural(t.gpus, 'GPU')}" if t.gpus else ""
    return f"{t.name} ({t.vcpus} vCPUs, {t.job_memory_mib} MiB for jobs{gpus})"


def fit_findings(kinds: Sequence[Kind], lookup: ec2.TypeLookup,
                  region: str) -> list[Finding]:
    found = []
    for k in kinds:
        kp = k.parameters
        if k.definition is None:
            found.append(Finding(FIT, PROBLEM,
                                 f"{k.label} job definition {k.definition_name} has no ACTIVE "
                                 "revision",
                                 "It was deregistered outside CloudFormation: update the stack "
                                 "(change any job parameter) to register it again."))
            continue
        size = job_size(k.definition)
        names = k.instance_types()
        for name in names:
            if name in lookup.unknown:
                found.append(Finding(
                    FIT, PROBLEM, f"{k.label} instance type {name} is unknown to EC2 in {region}",
                    f"Replace it in {kp.instance_types} and update the stack."))
        concrete = [t for n in names for t in lookup.types.get(n, ())]
        if not concrete:
            if ec2.OPTIMAL in names:
                found.append(Finding(FIT, NOTE,
                                     f"{k.label} instance types are 'optimal': Batch chooses "
                                     "them, so the fit of the job is not checked"))
            continue
        fitting = [t for t in concrete if t.fits(size.vcpus, size.memory_mib, size.gpus)]
        what = f"{k.label} job definition {k.definition_name} ({size})"
        if fitting:
            found.append(Finding(FIT, OK, f"{what} fits "
                                 + ", ".join(dict.fromkeys(t.name for t in fitting))))
            idle = [t for t in concrete if t not in fitting and t.name in names]
            trap = _cost_trap(k, size, names, lookup, fitting)
            if trap is not None:
                found.append(trap)
            elif idle:
                found.append(Finding(FIT, NOTE, f"{what} does not fit "
                                     + ", ".join(_describe_type(t) for t in idle)
                                     + "; Batch never launches those for it"))
        else:
            found.append(Finding(
                FIT, PROBLEM,
                f"{what} fits no instance type of its compute environment: "
                + ", ".join(_describe_type(t) for t in concrete)
                + "; its jobs stay RUNNABLE forever",
                _fit_fix(k, size, concrete)))
        found += _maximum_findings(k.environments, k.label, size.vcpus, f"{k.label} job")
    return found


def _maximum_findings(environments: list, label: str, vcpus: int, job: str) -> list[Finding]:
    """A problem for each compute environment whose maxvCpus is below one job's vCPUs."""
    found = []
    for env in environments:
        max_vcpus = env.get("computeResources", {}).get("maxvCpus")
        if max_vcpus is not None and max_vcpus < vcpus:
            found.append(Finding(
                FIT, PROBLEM,
                f"{label} compute environment {env['computeEnvironmentName']} may use at most "
                f"{max_vcpus} vCPUs, fewer than the {vcpus} of one {job}",
                f"Update the stack with {params.MAXIMUM_VCPUS} at least {vcpus}."))
    return found


def _cost_trap(k: Kind, size: JobSize, names: Sequence[str], lookup: ec2.TypeLookup,
               fitting: Sequence[InstanceType]) -> Finding | None:
    """A WARNING when the job fits only types far larger than the smallest one listed beside
    them (a p5.48xlarge beside g5.2xlarge): every job launches the large type."""
    listed = [n for n in names if lookup.types.get(n)]
    left_out = [n for n in listed if not any(t in fitting for t in lookup.types[n])]
    if not left_out:
        return None
    smallest = min((t for n in listed for t in lookup.types[n]), key=lambda t: (t.vcpus, t.name))
    cheapest_fit = min(fitting, key=lambda t: (t.vcpus, t.job_memory_mib, t.name))
    if cheapest_fit.vcpus < COST_FACTOR * smallest.vcpus:
        return None
    kp = k.parameters
    return Finding(
        FIT, WARNING,
        f"{k.label} job definition {k.definition_name} ({size}) fits only "
        + ", ".join(dict.fromkeys(t.name for t in fitting))
        + f"; the cheapest of those, {_describe_type(cheapest_fit)}, has "
        f"{cheapest_fit.vcpus // smallest.vcpus} times the vCPUs of {_describe_type(smallest)}: "
        f"every {k.label} job launches a large instance and {', '.join(left_out)} never "
        "serve it",
        f"If the job is meant to be small, update the stack with {kp.vcpus} and {kp.memory} "
        f"that {smallest.name} offers ({smallest.vcpus} vCPUs, {smallest.job_memory_mib} MiB); "
        f"if it is meant to be large, remove {', '.join(left_out)} from {kp.instance_types}.")


def _fit_fix(k: Kind, size: JobSize, concrete: Sequence[InstanceType]) -> str:
    """The smallest change that makes the job fit: each limit that no type meets, lowered to
    the most any type offers (among types meeting the other limits when there are some)."""
    kp = k.parameters
    hints = []
    enough_gpus = [t for t in concrete if t.gpus >= size.gpus] or list(concrete)
    most_vcpus = max(t.vcpus for t in enough_gpus)
    if size.vcpus > most_vcpus:
        hints.append(f"{kp.vcpus} at most {most_vcpus}")
    with_vcpus = [t for t in enough_gpus if t.vcpus >= size.vcpus] or enough_gpus
    most_memory = max(t.job_memory_mib for t in with_vcpus)
    if size.memory_mib > most_memory:
        hints.append(f"{kp.memory} at most {most_memory} MiB")
    change = " and ".join(hints) if hints else "a job size that one instance type offers"
    return (f"Update the stack with {change}, or add a larger instance type to "
            f"{kp.instance_types} (the ECS agent keeps about 6% of an instance's memory).")


def train_fit_findings(kinds: Sequence[Kind], train: Optional[JobSize],
                       lookup: ec2.TypeLookup) -> list[Finding]:
    """The train size (the batch_retry runner submits train jobs with it to the GPU queue)
    against the GPU environment's instance types, as EC2 describes them."""
    gpu = next((k for k in kinds if k.kind == "gpu"), None)
    if train is None or gpu is None or gpu.definition is None:
        return []
    if train == job_size(gpu.definition):
        return []  # the GPU job definition's own size: its fit is reported above
    concrete = [t for n in gpu.instance_types() for t in lookup.types.get(n, ())]
    if not concrete:
        return []  # 'optimal' or unknown types: reported above
    what = f"train size ({train}; {', '.join(params.TRAIN_PARAMETERS)})"
    fitting = [t for t in concrete if t.fits(train.vcpus, train.memory_mib, train.gpus)]
    found = []
    if fitting:
        found.append(Finding(FIT, OK, f"{what} fits "
                             + ", ".join(dict.fromkeys(t.name for t in fitting))))
    else:
        found.append(Finding(
            FIT, PROBLEM,
            f"{what} fits no GPU instance type: "
            + ", ".join(dict.fromkeys(map(_describe_type, concrete)))
            + "; the batch_retry runner refuses to submit train, and Raster Vision's own runner "
            "submits it with the GPU job's size",
            f"Update the stack with a type that holds it in {params.GPU.instance_types} "
            f"(g5.12xlarge: 4 GPUs, 48 vCPUs), or a smaller {params.TRAIN_GPUS}, "
            f"{params.TRAIN_VCPUS} or {params.TRAIN_MEMORY}."))
    found += _maximum_findings(gpu.environments, "GPU", train.vcpus, "train job")
    return found
