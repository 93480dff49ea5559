"""`doctor`: check a deployed stack for the mistakes that leave Raster Vision jobs stuck.

Each check reads the live resources (Batch, EC2, ECR), not the template, because what matters is
what Batch will do now: a compute environment disabled by hand, an AMI deregistered since, an
image never pushed. Every problem comes with its fix. Problems found are a result (exit 1);
a stack that cannot be read at all is an error (AwsError, exit 2).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from typing import Any, Optional, Sequence

from ..instance_types import InstanceType
from ..template import outputs as out
from ..template import parameters as params
from . import instances, rvconfig
from .session import add_aws_arguments, aws_error, aws_errors, check_credentials, error_code
from .stack import complete_stack, require_outputs, stack_parameters

OK = "ok"
PROBLEM = "problem"
NOTE = "note"  # worth knowing, not wrong: an unchecked hosted image, no Raster Vision config

# Check names, as they appear in the report and in --json.
ENVIRONMENTS = "compute environments"
FIT = "job fit"
OFFERINGS = "zone offerings"
AMI = "AMI override"
IMAGES = "container images"
RV_CONFIG = "Raster Vision config"


ECR_IMAGE = re.compile(r"^(?P<registry>\d{12})\.dkr\.ecr\.(?P<region>[a-z0-9-]+)\.amazonaws\.com"
                       r"(?:\.cn)?/(?P<repository>[^:@]+)(?::(?P<tag>[^@]+))?(?:@(?P<digest>.+))?$")


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

    @property
    def problems(self) -> tuple[Finding, ...]:
        """The findings that need fixing."""
        return tuple(f for f in self.findings if f.status == PROBLEM)

    @property
    def healthy(self) -> bool:
        """True when nothing needs fixing."""
        return not self.problems

    def as_dict(self) -> dict:
        """Plain data for --json."""
        return {"stack": self.stack, "region": self.region, "healthy": self.healthy,
                "problems": len(self.problems),
                "findings": [f.__dict__ for f in self.findings]}


@dataclass
class _Kind:
    """What the account says about one kind (GPU or CPU) of the stack."""

    kind: str
    queue_name: str
    definition_name: str
    queue: Optional[dict] = None
    environments: list[dict] = field(default_factory=list)
    definition: Optional[dict] = None

    @property
    def label(self) -> str:
        return self.kind.upper()

    @property
    def parameters(self) -> params.KindParameters:
        return params.KINDS[self.kind]

    def instance_types(self) -> list[str]:
        names = [t for env in self.environments
                 for t in env.get("computeResources", {}).get("instanceTypes", [])]
        return list(dict.fromkeys(names))


def diagnose(session: Any, stack_name: str) -> Diagnosis:
    """Run every check against the deployed stack `stack_name`.

    Raises AwsError when the stack cannot be read (no credentials, no such stack, a stack still
    in progress or made from another template).
    """
    check_credentials(session)
    cfn = session.client("cloudformation")
    stack = complete_stack(cfn, stack_name)
    names = require_outputs(stack, [n for pair in out.KIND_OUTPUTS.values() for n in pair])
    batch, ec2 = session.client("batch"), session.client("ec2")
    kinds = [_read_kind(batch, kind, names[q], names[d])
             for kind, (q, d) in out.KIND_OUTPUTS.items()]
    lookup = instances.describe_types(ec2, [t for k in kinds for t in k.instance_types()])
    vpc = stack_parameters(stack).get(params.VPC, "VPC_ID")

    findings: list[Finding] = []
    findings += _environment_findings(kinds)
    findings += _fit_findings(kinds, lookup, ec2.meta.region_name)
    findings += _offering_findings(ec2, kinds, lookup, vpc)
    findings += _ami_findings(ec2, kinds)
    findings += _image_findings(session, kinds)
    findings += _rv_config_findings(stack_name, names)
    return Diagnosis(stack_name, cfn.meta.region_name, tuple(findings))


def _read_kind(batch: Any, kind: str, queue_name: str, definition_name: str) -> _Kind:
    k = _Kind(kind, queue_name, definition_name)
    with aws_errors(f"describe job queue {queue_name}"):
        queues = batch.describe_job_queues(jobQueues=[queue_name])["jobQueues"]
    k.queue = queues[0] if queues else None
    arns = [o["computeEnvironment"] for o in
            sorted((k.queue or {}).get("computeEnvironmentOrder", []), key=lambda o: o["order"])]
    if arns:
        with aws_errors(f"describe the compute environments of {queue_name}"):
            k.environments = batch.describe_compute_environments(
                computeEnvironments=arns)["computeEnvironments"]
    revisions: list[dict] = []
    with aws_errors(f"describe job definition {definition_name}"):
        for page in batch.get_paginator("describe_job_definitions").paginate(
                jobDefinitionName=definition_name, status="ACTIVE"):
            revisions += page["jobDefinitions"]
    # Raster Vision submits the name alone, which means the latest active revision.
    k.definition = max(revisions, key=lambda d: d["revision"]) if revisions else None
    return k


# ----------------------------------------------------------------------------------------------
# Compute environments and queues: ENABLED and VALID, or nothing runs.


def _environment_findings(kinds: Sequence[_Kind]) -> list[Finding]:
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


# ----------------------------------------------------------------------------------------------
# Job fit: a job that fits no instance type of its queue sits in RUNNABLE forever.


@dataclass(frozen=True)
class JobSize:
    """What a job definition reserves on an instance."""

    vcpus: int
    memory_mib: int
    gpus: int

    def __str__(self) -> str:
        gpus = f", {self.gpus} GPU{'s' if self.gpus != 1 else ''}" if self.gpus else ""
        return f"{self.vcpus} vCPUs, {self.memory_mib} MiB{gpus}"


def job_size(definition: dict) -> JobSize:
    """The vCPUs, memory and GPUs a container job definition reserves (resourceRequirements,
    falling back to the older top-level vcpus and memory)."""
    container = definition.get("containerProperties", {})
    wanted = {r["type"]: int(float(r["value"])) for r in container.get("resourceRequirements", [])}
    return JobSize(vcpus=wanted.get("VCPU", int(container.get("vcpus") or 0)),
                   memory_mib=wanted.get("MEMORY", int(container.get("memory") or 0)),
                   gpus=wanted.get("GPU", 0))


def _describe_type(t: InstanceType) -> str:
    gpus = f", {t.gpus} GPU{'s' if t.gpus != 1 else ''}" if t.gpus else ""
    return f"{t.name} ({t.vcpus} vCPUs, {t.job_memory_mib} MiB for jobs{gpus})"


def _fit_findings(kinds: Sequence[_Kind], lookup: instances.TypeLookup,
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
            if instances.OPTIMAL in names:
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
            if idle:
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
        for env in k.environments:
            max_vcpus = env.get("computeResources", {}).get("maxvCpus")
            if max_vcpus is not None and max_vcpus < size.vcpus:
                found.append(Finding(
                    FIT, PROBLEM,
                    f"{k.label} compute environment {env['computeEnvironmentName']} may use at "
                    f"most {max_vcpus} vCPUs, fewer than the {size.vcpus} of one {k.label} job",
                    f"Update the stack with {params.MAXIMUM_VCPUS} at least {size.vcpus}."))
    return found


def _fit_fix(k: _Kind, size: JobSize, concrete: Sequence[InstanceType]) -> str:
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


# ----------------------------------------------------------------------------------------------
# Zone offerings: Batch launches a type only in the zones of the subnets that offer it.


def _offering_findings(ec2: Any, kinds: Sequence[_Kind], lookup: instances.TypeLookup,
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


# ----------------------------------------------------------------------------------------------
# AMI override: it must exist, and the GPU one must not serve CPU jobs.


def _amis(k: _Kind) -> list[str]:
    found = []
    for env in k.environments:
        resources = env.get("computeResources", {})
        found += [c["imageIdOverride"] for c in resources.get("ec2Configuration", [])
                  if c.get("imageIdOverride")]
        if resources.get("imageId"):
            found.append(resources["imageId"])
    return list(dict.fromkeys(found))


def _ami_findings(ec2: Any, kinds: Sequence[_Kind]) -> list[Finding]:
    found = []
    by_kind = {k.kind: _amis(k) for k in kinds}
    if not any(by_kind.values()):
        return [Finding(AMI, OK, "no AMI override: Batch uses its current ECS-optimized AMIs")]
    shared = sorted(set(by_kind.get("gpu", [])) & set(by_kind.get("cpu", [])))
    for ami in shared:
        found.append(Finding(AMI, PROBLEM,
                             f"GPU and CPU compute environments both use {ami}: CPU jobs on a "
                             "GPU AMI fail with CannotStartContainerError",
                             f"Update the stack with {params.CPU.ami} empty (Batch's "
                             "ECS-optimized AMI) or an AMI of its own."))
    region = ec2.meta.region_name
    for k in kinds:
        for ami in by_kind[k.kind]:
            state = _ami_state(ec2, ami)
            if state == "available":
                found.append(Finding(AMI, OK, f"{k.label} AMI {ami} exists and is available"))
                continue
            problem = (f"does not exist in {region} (deregistered, or made in another region)"
                       if state is None else f"is {state}, not available")
            found.append(Finding(AMI, PROBLEM, f"{k.label} AMI {ami} {problem}",
                                 f"Update the stack with {k.parameters.ami} set to an available "
                                 "AMI (make create-ami builds one) or empty for Batch's "
                                 "ECS-optimized AMI."))
    return found


def _ami_state(ec2: Any, ami: str) -> Optional[str]:
    try:
        images = ec2.describe_images(ImageIds=[ami])["Images"]
    except Exception as e:
        if error_code(e) in ("InvalidAMIID.NotFound", "InvalidAMIID.Unavailable",
                             "InvalidAMIID.Malformed"):
            return None
        raise aws_error(f"describe AMI {ami}", e) from None
    return images[0].get("State", "available") if images else None


# ----------------------------------------------------------------------------------------------
# Container images: an ECR image that was never pushed fails every job at start.


def _image_findings(session: Any, kinds: Sequence[_Kind]) -> list[Finding]:
    found = []
    users: dict[str, list[str]] = {}
    for k in kinds:
        if k.definition is not None:
            image = k.definition.get("containerProperties", {}).get("image", "")
            users.setdefault(image, []).append(k.label)
    for image, labels in users.items():
        who = " and ".join(labels) + " jobs"
        match = ECR_IMAGE.match(image)
        if not match:
            found.append(Finding(IMAGES, NOTE, f"{who} run {image}, which is not in ECR: not "
                                               "checked"))
            continue
        found.append(_ecr_finding(session, who, image, match))
    return found


def _ecr_finding(session: Any, who: str, image: str, match: re.Match) -> Finding:
    repository, tag, digest = match["repository"], match["tag"], match["digest"]
    image_id = {"imageDigest": digest} if digest else {"imageTag": tag or "latest"}
    fix = (f"Push it: make publish-container (it tags and pushes {repository}:"
           f"{tag or 'latest'}), or update the stack with {params.IMAGE_TAG} naming a tag that "
           "exists.")
    ecr = session.client("ecr", region_name=match["region"])
    try:
        ecr.describe_images(registryId=match["registry"], repositoryName=repository,
                            imageIds=[image_id])
    except Exception as e:
        code = error_code(e)
        if code == "RepositoryNotFoundException":
            return Finding(IMAGES, PROBLEM, f"{who} run {image}, but ECR repository {repository} "
                                            "does not exist",
                           f"Update the stack with {params.GPU.repository_name} / "
                           f"{params.CPU.repository_name} naming it (the stack creates it), "
                           "then push the image: make publish-container.")
        if code == "ImageNotFoundException":
            return Finding(IMAGES, PROBLEM,
                           f"{who} run {image}, which is not in ECR repository {repository}: "
                           "every job fails with CannotPullContainerError", fix)
        raise aws_error(f"describe image {image}", e) from None
    return Finding(IMAGES, OK, f"{who} run {image}, which exists in ECR")


# ----------------------------------------------------------------------------------------------
# Raster Vision's own config: it must name this stack's queues and job definitions.


def _rv_config_findings(stack_name: str, names: dict[str, str]) -> list[Finding]:
    expected = {out.BATCH_KEYS[o]: names[o] for o in out.BATCH_KEYS}
    write = f"rv-batch-cfn rv-config --stack {stack_name} --write"
    found = []
    # Raster Vision reads environment variables before the file, so they win.
    for key, value in expected.items():
        variable = f"BATCH_{key.upper()}"
        if variable in os.environ and os.environ[variable] != value:
            found.append(Finding(RV_CONFIG, PROBLEM,
                                 f"environment variable {variable}={os.environ[variable]} "
                                 f"overrides the config file and is not this stack's {value}",
                                 f"export {variable}={value} (or unset it)"))
    path = rvconfig.find_config()
    if path is None:
        looked = ", ".join(str(p) for p in rvconfig.config_candidates())
        found.append(Finding(RV_CONFIG, NOTE, f"no Raster Vision config file (looked for {looked})"
                                              f"; `{write}` writes one"))
        return found
    try:
        section = rvconfig.read_batch_section(path)
    except ValueError as e:
        return found + [Finding(RV_CONFIG, PROBLEM, f"{path} cannot be read: {e}",
                                f"Fix or remove the file, then run `{write}`.")]
    if section is None:
        return found + [Finding(RV_CONFIG, PROBLEM, f"{path} has no [BATCH] section, so Raster "
                                                    "Vision cannot submit jobs to this stack",
                                f"Run `{write}`, or paste the stack's {out.RV_CONFIG} output "
                                "into it.")]
    wrong = [(key, section.get(key), value) for key, value in expected.items()
             if section.get(key) != value]
    for key, given, value in wrong:
        found.append(Finding(RV_CONFIG, PROBLEM,
                             f"{path} [BATCH] {key} is "
                             + (repr(given) if given is not None else "missing")
                             + f", not this stack's {value}",
                             f"Run `{write}`, or set `{key} = {value}` in its [BATCH] section."))
    if not wrong:
        found.append(Finding(RV_CONFIG, OK,
                             f"{path} names this stack's job queues and job definitions"))
    return found


# ----------------------------------------------------------------------------------------------
# Output


_MARKS = {OK: "ok", PROBLEM: "PROBLEM", NOTE: "note"}


def format_report(diagnosis: Diagnosis) -> str:
    """The report a person reads: one line per finding, each problem followed by its fix."""
    lines = [f"doctor: stack {diagnosis.stack} ({diagnosis.region})"]
    width = max(len(f.check) for f in diagnosis.findings) if diagnosis.findings else 0
    for f in diagnosis.findings:
        lines.append(f"  {_MARKS[f.status]:<8} {f.check:<{width}}  {f.message}")
        if f.fix:
            lines.append(f"  {'':<8} {'':<{width}}  fix: {f.fix}")
    count = len(diagnosis.problems)
    lines.append("no problems found" if not count else
                 f"{count} problem{'s' if count != 1 else ''} found")
    return "\n".join(lines)


def cmd_doctor(args: Any) -> int:
    """`rv-batch-cfn doctor`: exit 0 when healthy, 1 when problems were found."""
    import json

    from ..cli import EXIT_FINDINGS, EXIT_OK
    from .session import make_session

    diagnosis = diagnose(make_session(args.profile, args.region), args.stack)
    print(json.dumps(diagnosis.as_dict(), indent=2) if args.json else format_report(diagnosis))
    return EXIT_OK if diagnosis.healthy else EXIT_FINDINGS


def register(sub: Any) -> None:
    """Add the `doctor` subcommand to the CLI."""
    p = sub.add_parser(
        "doctor", help="check a deployed stack for what leaves jobs stuck",
        description="Check a deployed stack: compute environments ENABLED and VALID; each job "
                    "definition fits an instance type of its queue; the instance types are "
                    "offered in the subnets' zones; the AMI override exists and differs between "
                    "CPU and GPU; the ECR images exist; the Raster Vision config names this "
                    "stack. Exit 0 when nothing is wrong, 1 when problems were found, 2 when "
                    "the stack cannot be read.")
    p.add_argument("--stack", required=True, metavar="NAME", help="the stack's name")
    add_aws_arguments(p)
    p.add_argument("--json", action="store_true", help="print the findings as JSON")
    p.set_defaults(func=cmd_doctor)
