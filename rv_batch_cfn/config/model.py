"""The whole stack described as data: `StackConfig` and its two `ComputeConfig` kinds.

`StackConfig()` with no arguments describes the template that `make template` writes for the
console; every value here becomes the *default* of a console parameter, so a platform engineer
can ship a template whose defaults suit their team without touching the generator.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field, fields
from typing import Any, Mapping

from ..errors import ConfigError, Problem
from . import checks
from .limits import DDP_SHARED_MEMORY_MIB, GP3_IOPS, GP3_THROUGHPUT_MIBS, HOSTED_IMAGE, SPOT

__all__ = ["StackConfig", "ComputeConfig", "TrainSize"]


@dataclass(frozen=True)
class ComputeConfig:
    """One kind of compute (GPU or CPU): its instances and the size of its default job.

    Make one with `ComputeConfig.gpu(...)` or `ComputeConfig.cpu(...)`: the console's defaults
    for that kind, with the fields you name changed. Change fields of one you have with
    `.with_(...)` (`dataclasses.replace`, with a clear error for a misspelt field):

        ComputeConfig.gpu(instance_types=("g6e.2xlarge",), job_memory_mib=56000)
        StackConfig().gpu.with_(capacity=ON_DEMAND)

    Attributes (each is the default of a console parameter, named here for the GPU kind; the
    CPU kind's start with Cpu / CPU instead):
        instance_types: EC2 instance types or families the jobs run on (GpuInstanceTypes).
        job_vcpus: vCPUs each job reserves (GPUInstanceVCPUs).
        job_memory_mib: memory each job reserves, in MiB; at most what the smallest type
            offers after the ECS agent's ~6% (GPUInstanceMemory).
        root_volume_gib: each instance's encrypted gp3 root volume, in GiB (GPUInstanceStorage).
        capacity: SPOT or ON_DEMAND instances (GpuCapacity).
        ami: a custom AMI id; '' for Batch's current ECS-optimized AMI (GpuAMI).
        hosted_image: the image jobs run when repository_name is '' (GpuImage).
        repository_name: an ECR repository whose <name>:<image_tag> jobs run; '' for the
            hosted image (GpuRepositoryName).
        repository_mode: "create" the repository, or use an "existing" one (GpuRepositoryMode).
        root_volume_throughput_mibs: gp3 throughput of the root volume, in MiB/s
            (GPURootVolumeThroughput).
        root_volume_iops: gp3 IOPS of the root volume (GPURootVolumeIops).
    """

    instance_types: tuple[str, ...]
    job_vcpus: int
    job_memory_mib: int
    root_volume_gib: int
    capacity: str = SPOT
    ami: str = ""
    hosted_image: str = HOSTED_IMAGE
    repository_name: str = ""
    # "existing": use a repository of that name that already exists (one retained from a deleted
    # stack) instead of creating it.
    repository_mode: str = "create"
    # gp3 performance of the root volume (images, and the jobs' scratch space on instance types
    # without instance store); the defaults are the baseline included in the volume's price.
    root_volume_throughput_mibs: int = GP3_THROUGHPUT_MIBS[0]
    root_volume_iops: int = GP3_IOPS[0]

    @classmethod
    def gpu(cls, **changes: Any) -> "ComputeConfig":
        """The console's GPU defaults, with `changes` (field=value) applied."""
        return _gpu_default().with_(**changes)

    @classmethod
    def cpu(cls, **changes: Any) -> "ComputeConfig":
        """The console's CPU defaults, with `changes` (field=value) applied."""
        return _cpu_default().with_(**changes)

    def with_(self, **changes: Any) -> "ComputeConfig":
        """A copy with `changes` (field=value) applied; ConfigError for an unknown field."""
        return _with(self, changes)


def _gpu_default() -> ComputeConfig:
    # Three current-generation single-GPU types with 8 vCPUs and 32 GiB, so spot capacity can come
    # from whichever pool is free, and the default job fits all three.
    return ComputeConfig(
        instance_types=("g5.2xlarge", "g6.2xlarge", "g4dn.2xlarge"),
        job_vcpus=8,
        job_memory_mib=28000,
        root_volume_gib=200,
    )


def _cpu_default() -> ComputeConfig:
    return ComputeConfig(
        instance_types=("m6i.xlarge", "m6a.xlarge", "m7i.xlarge"),
        job_vcpus=4,
        job_memory_mib=14000,
        root_volume_gib=100,
    )


@dataclass(frozen=True)
class TrainSize:
    """What a Raster Vision `train` job reserves: the `batch_retry` runner submits it with these
    resources in place of the GPU job definition's (the other GPU commands keep that size).
    Raster Vision trains on every GPU the job gets (PyTorch DDP, one process per GPU).

    The default is the GPU job's default size, one GPU: training as every other GPU job.
    Some type of the GPU kind's instance_types must hold all three on one instance.

    Attributes:
        gpus: GPUs of a train job: 1, 2, 4 or 8 (TrainGPUs).
        vcpus: vCPUs of a train job (TrainVCPUs).
        memory_mib: memory of a train job, in MiB (TrainMemory).
    """

    gpus: int = 1
    vcpus: int = 8
    memory_mib: int = 28000

    def with_(self, **changes: Any) -> "TrainSize":
        """A copy with `changes` (field=value) applied; ConfigError for an unknown field."""
        return _with(self, changes)


@dataclass(frozen=True)
class StackConfig:
    """Everything the generated template offers, with the console template's defaults.

    `StackConfig()` is the committed template. Change what you need, the rest keeps its default;
    `.with_(...)` changes fields of one you have, and takes a mapping for `gpu` or `cpu` to change
    only some of that kind's fields:

        StackConfig(prefix="geo", gpu=ComputeConfig.gpu(job_vcpus=16, job_memory_mib=60000))
        StackConfig().with_(max_vcpus=256, cpu={"capacity": ON_DEMAND})

    Attributes (each is the default of the console parameter named):
        prefix: lower-case letters and digits starting queue and job definition names (Prefix).
        gpu, cpu: the two kinds of compute (ComputeConfig).
        train: the size of Raster Vision's `train` jobs, on the GPU kind (TrainSize).
        min_vcpus: vCPUs each compute environment keeps running; 0 scales to zero
            (MinimumVCPUs).
        max_vcpus: vCPUs each compute environment may reach, the bound of a burst's cost
            (MaximumVCPUs).
        spot_bid_percentage: highest spot price paid, in % of the on-demand price
            (SpotFleetBidPercentage).
        image_tag: tag of the ECR images the jobs run (ImageTag).
        shared_memory_mib: /dev/shm of each job, in MiB (SharedMemorySize).
        job_attempts: tries of a job reclaimed by spot (JobAttempts).
        job_timeout_seconds: a job's time limit in seconds; 0 for none (JobTimeout).
        s3_buckets: buckets jobs may write to (S3Buckets).
        log_retention_days: days job logs are kept (LogRetentionDays).
        log_kms_key_arn: a KMS key the job log group is encrypted with; '' for CloudWatch
            Logs' own encryption (LogKmsKeyArn).
        cidr_range: address range admitted to TensorBoard and SSH; '' for none (CidrRange).
        key_name: EC2 key pair for SSH; '' for none (KeyName).
        batch_service_role_arn: Batch's service role; '' for the service-linked role
            (BatchServiceRoleArn).
        s3_read_only_buckets: buckets jobs may only read; "*" for every bucket
            (S3ReadOnlyBuckets).
        kms_key_arns: KMS keys of SSE-KMS buckets jobs may use (S3KmsKeyArns).
        update_job_timeout_minutes: minutes running jobs get to finish before an update
            replaces their instances (UpdateJobTimeoutMinutes).
        session_manager: Session Manager shell access to instances (EnableSessionManager).
        unrunnable_job_timeout_minutes: minutes before Batch cancels a job that can never run,
            RUNNABLE at the head of its queue; 0 for never (UnrunnableJobTimeout).
        capacity_wait_timeout_minutes: minutes before Batch cancels a job RUNNABLE for want of
            instance capacity; 0 for never (CapacityWaitTimeout).
        gpu_on_demand_max_vcpus: vCPUs of the optional on-demand GPU queue's compute
            environment (same instance types, launch template and job definition as the GPU
            kind), where `rerun --on-demand` sends GPU jobs spot could not place; 0 for no
            such queue (GpuOnDemandMaximumVCPUs).
        notification_email: address e-mailed when a job FAILED or blocks its queue; '' for none
            (NotificationEmail).
        monthly_budget_usd: a monthly AWS budget for the stack's costs, in whole US dollars,
            with alerts at 80% of the forecast and 100% of the actual spend; 0 for none
            (MonthlyBudget).
        budget_hard_stop: at 100% of the actual spend, disable the stack's queues and compute
            environments so that no new job starts; needs a budget (BudgetHardStop).
    """

    prefix: str = ""
    gpu: ComputeConfig = field(default_factory=_gpu_default)
    cpu: ComputeConfig = field(default_factory=_cpu_default)
    train: TrainSize = field(default_factory=TrainSize)
    min_vcpus: int = 0
    max_vcpus: int = 80
    spot_bid_percentage: int = 100
    image_tag: str = "latest"
    # What Raster Vision's training needs with its defaults, on up to 8 GPUs (limits.py says
    # how it was chosen); the GPU job definition's /dev/shm serves the train size too.
    shared_memory_mib: int = DDP_SHARED_MEMORY_MIB
    job_attempts: int = 3
    job_timeout_seconds: int = 0
    # Buckets jobs may write and delete in: none unless named (never every bucket).
    s3_buckets: tuple[str, ...] = ()
    log_retention_days: int = 30
    cidr_range: str = ""
    key_name: str = ""
    batch_service_role_arn: str = ""
    # Buckets jobs may only read (public data sets included); "*" for every bucket.
    s3_read_only_buckets: tuple[str, ...] = ("*",)
    # KMS keys of SSE-KMS buckets: jobs may decrypt and generate data keys with these only.
    kms_key_arns: tuple[str, ...] = ()
    # Minutes running jobs get to finish before an update replaces their instances: a day, for
    # multi-hour training (the API allows 1 to 7200; the longer, the longer old instances stay).
    update_job_timeout_minutes: int = 1440
    # Session Manager shell access to instances (off: the instance role then has no SSM actions).
    session_manager: bool = False
    # Minutes a job may wait in RUNNABLE, at the head of its queue, for a reason that will not
    # fix itself (no instance type or MaximumVCPUs large enough) before Batch cancels it; 0: never.
    unrunnable_job_timeout_minutes: int = 30
    # Minutes a job may wait in RUNNABLE for instance capacity before Batch cancels it; 0: never.
    capacity_wait_timeout_minutes: int = 0
    # An on-demand GPU queue beside the spot one, off by default: on-demand GPU hours cost about
    # three times spot, a new account's on-demand G/VT quota is often 0 (doctor would report a
    # queue nobody asked for), and a user who wants it names the bound of its cost.
    gpu_on_demand_max_vcpus: int = 0
    # Address that hears of failed jobs and blocked queues (an encrypted SNS topic); "": nobody.
    notification_email: str = ""
    # A customer-managed KMS key for the job log group, for accounts whose policy asks for one;
    # "": CloudWatch Logs' own encryption at rest (no key policy to keep, no monthly key cost).
    log_kms_key_arn: str = ""
    # A monthly budget on the stack's cost allocation tag, in whole USD; 0: none.
    monthly_budget_usd: int = 0
    # At 100% of the actual spend, no new job starts (the queues and environments disabled).
    budget_hard_stop: bool = False

    def validate(self) -> "StackConfig":
        """Return self when valid; otherwise raise a ConfigError listing every problem."""
        # Values of the wrong type are reported first: the other checks would trip over them.
        problems = checks.type_problems(self) or checks.value_problems(self)
        if problems:
            raise ConfigError(problems)
        return self

    def kinds(self) -> tuple[tuple[str, ComputeConfig], ...]:
        """The two kinds of compute, GPU first, as (name, config) pairs."""
        return (("gpu", self.gpu), ("cpu", self.cpu))

    def with_(self, **changes: Any) -> "StackConfig":
        """A copy with `changes` (field=value) applied; for `gpu` and `cpu`, a mapping changes
        only the fields it names. ConfigError for an unknown field."""
        return _with(self, changes)


def _with(obj: Any, changes: Mapping[str, Any]) -> Any:
    """dataclasses.replace, naming a misspelt field (with a guess) instead of a TypeError,
    taking lists for tuple fields, and a mapping for a nested config's fields."""
    names = [f.name for f in fields(obj)]
    problems = []
    for key in changes:
        if key not in names:
            hint = checks.did_you_mean(key, names)
            problems.append(Problem(key, changes[key],
                                    f"unknown field of {type(obj).__name__}; {hint}allowed: "
                                    + ", ".join(names)))
    if problems:
        raise ConfigError(problems)
    values = {}
    for key, value in changes.items():
        current = getattr(obj, key)
        if dataclasses.is_dataclass(current) and isinstance(value, Mapping):
            value = _with(current, value)
        elif isinstance(current, tuple) and isinstance(value, list):
            value = tuple(value)
        values[key] = value
    return dataclasses.replace(obj, **values)
