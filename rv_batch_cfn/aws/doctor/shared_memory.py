"""Shared memory: /dev/shm counts against a job's memory, and Raster Vision's data loader
workers fill it; a train job on several GPUs also joins them through it (NCCL).

The GPU job definition's /dev/shm serves the train size too (Batch overrides resources at
submission, not shared memory): config/limits.py says how DDP_SHARED_MEMORY_MIB was chosen."""

from __future__ import annotations

from typing import Optional, Sequence

from ...config.limits import DDP_SHARED_MEMORY_MIB
from ...template import parameters as params
from ..clients.batch import JobSize, job_size
from .findings import NOTE, OK, PROBLEM, SHARED_MEMORY, Finding, Kind


def shared_memory_findings(kinds: Sequence[Kind], train: Optional[JobSize] = None
                           ) -> list[Finding]:
    """`train`: the stack's train size (its jobs use the GPU job definition), when it has one."""
    found = []
    for k in kinds:
        if k.definition is None:
            continue  # fit.py reports the missing job definition
        shm = (k.definition.get("containerProperties", {}).get("linuxParameters") or {}
               ).get("sharedMemorySize")
        if shm is None:
            continue
        size = job_size(k.definition)
        what = f"{k.label} job definition {k.definition_name}"
        sizes = [(size, k.parameters.memory)]
        if k.kind == "gpu" and train is not None and train != size:
            sizes.append((train, params.TRAIN_MEMORY))
        too_small = [(s, name) for s, name in sizes if shm >= s.memory_mib]
        gpus = max(s.gpus for s, _ in sizes)
        if too_small:
            s, name = too_small[0]
            whose = (f"the job's {s.memory_mib} MiB of memory" if s is size else
                     f"the {s.memory_mib} MiB of memory of its train jobs ({s})")
            found.append(Finding(
                SHARED_MEMORY, PROBLEM,
                f"{what}: /dev/shm of {shm} MiB cannot fit beside {whose}, which it counts "
                "against: a job that fills it is killed for lack of memory",
                f"Update the stack with {params.SHARED_MEMORY_SIZE} well below {name} (Raster "
                f"Vision's defaults need {DDP_SHARED_MEMORY_MIB} MiB), or a larger {name}."))
        elif gpus > 1 and shm < DDP_SHARED_MEMORY_MIB:
            found.append(Finding(
                SHARED_MEMORY, NOTE,
                f"{what} serves jobs of {gpus} GPUs with {shm} MiB of /dev/shm: Raster Vision "
                f"trains on every GPU (DDP), whose NCCL and data loader workers need about "
                f"{DDP_SHARED_MEMORY_MIB} MiB with its defaults (4 workers, batch_sz 32); a "
                "job that runs out fails with a bus error",
                f"Update the stack with {params.SHARED_MEMORY_SIZE} {DDP_SHARED_MEMORY_MIB}."))
        else:
            found.append(Finding(SHARED_MEMORY, OK, f"{what}: /dev/shm of {shm} MiB fits "
                                 f"beside its {size.memory_mib} MiB of memory"))
    return found
