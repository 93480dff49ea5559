"""The library behind `doctor`: check a deployed stack for the mistakes that leave Raster Vision jobs stuck.

Each check reads the live resources (Batch, EC2, ECR), not the template, because what matters is
what Batch will do now: a compute environment disabled by hand, an AMI deregistered since, an
image never pushed. Every problem comes with its fix. Problems found are a result (exit 1);
a stack that cannot be read at all is an error (AwsError, exit 2).

One module per check, and findings.py for what they report (ARCHITECTURE.md lists them).
"""

from __future__ import annotations

from typing import Any, Optional

from ...template import outputs as out
from ...template import parameters as params
from ..clients import ec2 as ec2_reads
from ..clients.batch import read_queue
from ..clients.session import aws_errors, check_credentials
from ..rv_config.profile import check_main_stack
from ..clients.stack import complete_stack, require_outputs, stack_outputs, stack_parameters
from .alerts import idle_findings, notification_findings, time_limit_findings
from .budget import budget_findings
from .environments import environment_findings
from .families import family_findings
from ..clients.batch import JobSize, job_size
from .fit import fit_findings, train_fit_findings, train_size
from .images import ami_findings, image_findings
from .findings import (AMI, BUDGET, ENVIRONMENTS, FIT, GPU_FAMILIES, IDLE, IMAGES, NOTE,
                       NOTIFICATIONS, OFFERINGS, OK, PROBLEM, QUOTAS, RUNNER, RV_CONFIG,
                       SHARED_MEMORY, SPOT_SCORES, TIME_LIMITS, WARNING, Diagnosis, Finding,
                       Kind)
from .offerings import offering_findings
from .quotas import quota_findings
from .region import region_findings
from .rv_config import rv_config_findings
from .rv_runner import inspect_stock_runner, runner_findings
from .shared_memory import shared_memory_findings

__all__ = ["diagnose", "Diagnosis", "Finding", "JobSize", "job_size", "OK", "PROBLEM", "NOTE",
           "WARNING", "ENVIRONMENTS", "FIT", "OFFERINGS", "AMI", "IMAGES", "RV_CONFIG",
           "GPU_FAMILIES", "SHARED_MEMORY", "RUNNER", "TIME_LIMITS", "IDLE", "NOTIFICATIONS",
           "QUOTAS", "SPOT_SCORES", "BUDGET"]


def diagnose(session: Any, stack_name: str, job_def_stack: Optional[str] = None) -> Diagnosis:
    """Run every check against the deployed stack `stack_name`.

    With `job_def_stack`, a per-project job-definitions stack (cloudformation/
    job-definitions.yml) deployed for `stack_name`: its job definitions are the ones checked,
    and the ones Raster Vision's config is expected to name, as `rv-config --job-def-stack`
    writes it. Raises AwsError when a stack cannot be read (no credentials, no such stack, a
    stack still in progress or made from another template, a job-definitions stack deployed
    for another main stack).
    """
    check_credentials(session)
    cfn = session.client("cloudformation")
    stack = complete_stack(cfn, stack_name)
    if job_def_stack is None:
        names = require_outputs(stack, [n for pair in out.KIND_OUTPUTS.values() for n in pair])
    else:
        names = require_outputs(stack, list(out.QUEUE_OUTPUTS))
        definitions = complete_stack(cfn, job_def_stack)
        check_main_stack(definitions, stack)
        names.update(require_outputs(definitions, list(out.JOB_DEFINITION_OUTPUTS)))
    batch, ec2 = session.client("batch"), session.client("ec2")
    kinds = [_read_kind(batch, kind, names[q], names[d])
             for kind, (q, d) in out.KIND_OUTPUTS.items()]
    lookup = ec2_reads.describe_types(ec2, [t for k in kinds for t in k.instance_types()])
    values = stack_parameters(stack)
    vpc = values.get(params.VPC, "VPC_ID")

    findings: list[Finding] = []
    findings += environment_findings(kinds + _on_demand_queue(batch, stack))
    findings += family_findings(kinds)
    train = train_size(values)
    findings += fit_findings(kinds, lookup, ec2.meta.region_name)
    findings += train_fit_findings(kinds, train, lookup)
    findings += shared_memory_findings(kinds, train)
    findings += offering_findings(ec2, kinds, lookup, vpc)
    findings += ami_findings(ec2, kinds)
    findings += image_findings(session, kinds)
    findings += rv_config_findings(stack_name, names, job_def_stack)
    findings += region_findings(stack_name, cfn.meta.region_name, session.profile_name)
    findings += runner_findings(inspect_stock_runner())
    findings += time_limit_findings(kinds)
    findings += idle_findings(kinds)
    findings += notification_findings(session, stack)
    findings += quota_findings(session, stack_name, values, lookup)
    findings += budget_findings(session, stack)
    return Diagnosis(stack_name, cfn.meta.region_name, tuple(findings), job_def_stack)


def _on_demand_queue(batch: Any, stack: dict) -> list[Kind]:
    """The optional on-demand GPU queue and its environment, when the stack has them: checked
    ENABLED and VALID like the others (its types, AMI and job definition are the GPU kind's)."""
    name = stack_outputs(stack).get(out.GPU_ON_DEMAND_JOB_QUEUE)
    if not name:
        return []
    k = Kind(out.GPU_ON_DEMAND_KIND, name, "")
    k.queue, k.environments = read_queue(batch, name)
    return [k]


def _read_kind(batch: Any, kind: str, queue_name: str, definition_name: str) -> Kind:
    k = Kind(kind, queue_name, definition_name)
    k.queue, k.environments = read_queue(batch, queue_name)
    revisions: list[dict] = []
    with aws_errors(f"describe job definition {definition_name}"):
        for page in batch.get_paginator("describe_job_definitions").paginate(
                jobDefinitionName=definition_name, status="ACTIVE"):
            revisions += page["jobDefinitions"]
    # Raster Vision submits the name alone, which means the latest active revision.
    k.definition = max(revisions, key=lambda d: d["revision"]) if revisions else None
    return k
