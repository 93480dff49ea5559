"""Shared memory: /dev/shm counts against a job's memory, and Raster Vision's data loader
workers fill it, more with every GPU the job trains on."""

from __future__ import annotations

from typing import Sequence

from ...config.limits import SHARED_MEMORY_PER_GPU_MIB
from ...template import parameters as params
from ..clients.batch import job_size
from .findings import NOTE, OK, PROBLEM, SHARED_MEMORY, Finding, Kind


def shared_memory_findings(kinds: Sequence[Kind]) -> list[Finding]:
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
        if shm >= size.memory_mib:
            found.append(Finding(
                SHARED_MEMORY, PROBLEM,
                f"{what}: /dev/shm of {shm} MiB cannot fit beside the job's {size.memory_mib} "
                "MiB of memory, which it counts against: a job that fills it is killed for "
                "lack of memory",
                f"Update the stack with {params.SHARED_MEMORY_SIZE} well below "
                f"{k.parameters.memory} (about {SHARED_MEMORY_PER_GPU_MIB} MiB per GPU), or a "
                f"larger {k.parameters.memory}."))
        elif size.gpus > 1 and shm < SHARED_MEMORY_PER_GPU_MIB * size.gpus:
            found.append(Finding(
                SHARED_MEMORY, NOTE,
                f"{what} uses {size.gpus} GPUs with {shm} MiB of /dev/shm: Raster Vision trains "
                f"on every GPU, with data loader workers for each; about "
                f"{SHARED_MEMORY_PER_GPU_MIB} MiB per GPU ({SHARED_MEMORY_PER_GPU_MIB * size.gpus}"
                " MiB) keeps them from running out"))
        else:
            found.append(Finding(SHARED_MEMORY, OK, f"{what}: /dev/shm of {shm} MiB fits "
                                 f"beside its {size.memory_mib} MiB of memory"))
    return found
