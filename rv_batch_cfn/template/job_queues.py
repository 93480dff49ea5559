"""Job queues and job definitions.

`job_definition()` is shared with the per-project job-definitions template, so both templates
give jobs the same retry strategy, shared memory, mounts and security settings.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from troposphere import AWSHelperFn, If, Ref, Region, Sub, Template, batch, logs

from . import compute, iam, queue_limits, userdata
from . import parameters as p
from .parameters import KindParameters, checkov_skip, if_set

LOG_GROUP = "JobLogGroup"
# Where Raster Vision keeps its working data between commands: a host folder of the jobs' own
# (not a user's home, where a job could plant SSH keys or dotfiles), on NVMe instance store
# when the instance has some; the launch templates' user data prepares it at every boot.
HOST_DATA_PATH = userdata.SCRATCH_DIR
CONTAINER_DATA_PATH = "/opt/data"
# Batch's status reason for a spot reclaim or a lost host starts with "Host EC2".
RETRY_ON_HOST_LOSS = [
    batch.EvaluateOnExit(OnStatusReason="Host EC2*", Action="RETRY"),
    batch.EvaluateOnExit(OnReason="*", Action="EXIT"),
]


def queue_id(kind: str) -> str:
    """The logical ID of the kind's queue: Gpu/CpuJobQueue."""
    return f"{compute.title(kind)}JobQueue"


def job_definition_id(kind: str) -> str:
    """The logical ID of the kind's job definition: Gpu/CpuJobDefinition."""
    return f"{kind.capitalize()}JobDefinition"


def queue_name(kind: str) -> Sub:
    """The queue's name, `${Prefix}RasterVisionGpuJobQueue` (Ref on a queue gives its ARN)."""
    return Sub(f"${{Prefix}}RasterVision{compute.title(kind)}JobQueue")


def job_definition_name(kind: str) -> Sub:
    """The job definition's name; Raster Vision then always submits its latest revision."""
    return Sub(f"${{Prefix}}RasterVision{kind.capitalize()}JobDefinition")


@dataclass(frozen=True)
class JobSpec:
    """What differs between the job definitions of the two templates (values or intrinsics)."""

    logical_id: str
    name: Any
    image: Any
    vcpus: Any
    memory: Any
    gpus: int
    shared_memory: Any
    attempts: Any
    timeout: Any  # None for no Timeout property; else an If/NoValue or a number of seconds
    job_role_arn: Any
    log_group: Any


def job_definition(spec: JobSpec) -> batch.JobDefinition:
    """A container job definition as Raster Vision's Batch runner expects it."""
    requirements = [batch.ResourceRequirement(Type="VCPU", Value=spec.vcpus),
                    batch.ResourceRequirement(Type="MEMORY", Value=spec.memory)]
    if spec.gpus:
        requirements.append(batch.ResourceRequirement(Type="GPU", Value=str(spec.gpus)))
    kwargs = {}
    if spec.timeout is not None:
        kwargs["Timeout"] = spec.timeout
    return batch.JobDefinition(
        spec.logical_id,
        Type="container",
        JobDefinitionName=spec.name,
        PlatformCapabilities=["EC2"],
        PropagateTags=True,
        RetryStrategy=batch.RetryStrategy(Attempts=spec.attempts, EvaluateOnExit=RETRY_ON_HOST_LOSS),
        ContainerProperties=batch.ContainerProperties(
            Image=spec.image,
            ResourceRequirements=requirements,
            LinuxParameters=batch.LinuxParameters(SharedMemorySize=spec.shared_memory),
            Volumes=[batch.Volumes(Name="data", Host=batch.VolumesHost(SourcePath=HOST_DATA_PATH))],
            MountPoints=[batch.MountPoints(SourceVolume="data", ContainerPath=CONTAINER_DATA_PATH,
                                           ReadOnly=False)],
            Privileged=False,
            ReadonlyRootFilesystem=False,
            JobRoleArn=spec.job_role_arn,
            LogConfiguration=batch.LogConfiguration(LogDriver="awslogs", Options={
                "awslogs-group": spec.log_group,
                "awslogs-region": Region,
                "awslogs-stream-prefix": "raster-vision",
            }),
        ),
        **kwargs,
    )


REGISTRY = "${AWS::AccountId}.dkr.ecr.${AWS::Region}.${AWS::URLSuffix}"


def ecr_image(repository: Any, tag: Any) -> Sub:
    """`<account>.dkr.ecr.<region>.<dns suffix>/<repository>:<tag>`."""
    return Sub(REGISTRY + "/${Repository}:${Tag}", Repository=repository, Tag=tag)


def repository_uri(repository: Any) -> Sub:
    """`<account>.dkr.ecr.<region>.<dns suffix>/<repository>`, what ECR calls repositoryUri."""
    return Sub(REGISTRY + "/${Repository}", Repository=repository)


def add_log_group(t: Template) -> logs.LogGroup:
    """A stack-owned log group, so job logs expire instead of piling up forever; encrypted with
    the LogKmsKeyArn key when one is given."""
    # Deleted with the stack: the logs belong to its jobs, and expire anyway.
    return t.add_resource(logs.LogGroup(
        LOG_GROUP, DeletionPolicy="Delete", UpdateReplacePolicy="Delete",
        RetentionInDays=Ref(p.LOG_RETENTION_DAYS),
        KmsKeyId=if_set(p.HAS_LOG_KMS_KEY, Ref(p.LOG_KMS_KEY_ARN)),
        Metadata={**checkov_skip("CKV_AWS_158", "CloudWatch Logs encrypts log data at rest "
                                 "already; LogKmsKeyArn adds a customer key where one is "
                                 "required."),
                  **p.guard_suppress("CW_LOGGROUP_RETENTION_PERIOD_CHECK",
                                     "LogRetentionDays allows CloudWatch's periods only")}))


def add_queue(t: Template, k: KindParameters) -> batch.JobQueue:
    """The kind's queue, feeding its compute environment; jobs stuck in RUNNABLE are cancelled
    after the configured time limits (queue_limits.py)."""
    return t.add_resource(batch.JobQueue(
        queue_id(k.kind),
        JobQueueName=queue_name(k.kind),
        Priority=1,
        State="ENABLED",
        ComputeEnvironmentOrder=[batch.ComputeEnvironmentOrder(
            ComputeEnvironment=Ref(compute.compute_environment_id(k.kind)), Order=1)],
        JobStateTimeLimitActions=queue_limits.time_limit_actions(),
    ))


def add_on_demand_gpu_queue(t: Template) -> batch.JobQueue:
    """The optional on-demand GPU queue (condition HasGpuOnDemandQueue), feeding the on-demand
    GPU environment, with the same time limits; GPU jobs use the GPU job definition there too."""
    return t.add_resource(batch.JobQueue(
        queue_id(compute.GPU_ON_DEMAND),
        Condition=p.HAS_GPU_ON_DEMAND_QUEUE,
        JobQueueName=queue_name(compute.GPU_ON_DEMAND),
        Priority=1,
        State="ENABLED",
        ComputeEnvironmentOrder=[batch.ComputeEnvironmentOrder(
            ComputeEnvironment=Ref(compute.compute_environment_id(compute.GPU_ON_DEMAND)),
            Order=1)],
        JobStateTimeLimitActions=queue_limits.time_limit_actions(),
    ))


def add_job_definition(t: Template, k: KindParameters) -> batch.JobDefinition:
    """The kind's job definition, sized by the console parameters."""
    image: AWSHelperFn = If(k.uses_ecr, ecr_image(Ref(k.repository_name), Ref(p.IMAGE_TAG)),
                            Ref(k.hosted_image))
    return t.add_resource(job_definition(JobSpec(
        logical_id=job_definition_id(k.kind),
        name=job_definition_name(k.kind),
        image=image,
        vcpus=Ref(k.vcpus),
        memory=Ref(k.memory),
        gpus=1 if k.kind == "gpu" else 0,
        shared_memory=Ref(p.SHARED_MEMORY_SIZE),
        attempts=Ref(p.JOB_ATTEMPTS),
        timeout=if_set(p.HAS_JOB_TIMEOUT, batch.Timeout(AttemptDurationSeconds=Ref(p.JOB_TIMEOUT))),
        job_role_arn=iam.job_role_arn(),
        log_group=Ref(LOG_GROUP),
    )))
