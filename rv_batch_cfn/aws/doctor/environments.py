"""Compute environments and queues: ENABLED and VALID, or nothing runs."""

from __future__ import annotations

from typing import Sequence

from .findings import ENVIRONMENTS, OK, PROBLEM, Finding, Kind

def environment_findings(kinds: Sequence[Kind]) -> list[Finding]:
    found = []
    for k in kinds:
        if k.queue is None:
            found.append(Finding(ENVIRONMENTS, PROBLEM,
                                 f"{k.label} job queue {k.queue_name} does not exist",
                                 "It was deleted outside CloudFormation: update the stack (or "
                                 "delete and recreate it) to restore it."))
            continue
        if k.queue.get("state") != "ENABLED" or k.queue.get("status") != "VALID":
            found.append(Finding(
                ENVIRONMENTS, PROBLEM,
                f"{k.label} job queue {k.queue_name} is {k.queue.get('state')} and "
                f"{k.queue.get('status')}: {k.queue.get('statusReason', '')}".rstrip(": "),
                f"aws batch update-job-queue --job-queue {k.queue_name} --state ENABLED"
                if k.queue.get("state") != "ENABLED" else
                "Fix the cause Batch gives, then update the stack."))
        if not k.environments:
            found.append(Finding(ENVIRONMENTS, PROBLEM,
                                 f"{k.label} job queue {k.queue_name} has no compute environment",
                                 "Update the stack to restore its compute environment."))
        for env in k.environments:
            name, state, status = (env["computeEnvironmentName"], env.get("state"),
                                   env.get("status"))
            if state == "ENABLED" and status == "VALID":
                found.append(Finding(ENVIRONMENTS, OK,
                                     f"{k.label} compute environment {name} is ENABLED and VALID"))
            elif status != "VALID":
                found.append(Finding(
                    ENVIRONMENTS, PROBLEM,
                    f"{k.label} compute environment {name} is {status}: "
                    f"{env.get('statusReason') or 'no reason given'}",
                    "Fix the cause Batch gives (often the service role, the instance profile, "
                    "the subnets or the AMI), then update the stack."))
            else:
                found.append(Finding(
                    ENVIRONMENTS, PROBLEM,
                    f"{k.label} compute environment {name} is {state}: jobs stay RUNNABLE",
                    f"aws batch update-compute-environment --compute-environment {name} "
                    "--state ENABLED"))
    return found
