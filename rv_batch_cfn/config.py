"""The whole stack described as data.

`StackConfig()` with no arguments describes the template that `make template` writes for the
console; every value here becomes the *default* of a console parameter, so a platform engineer
can ship a template whose defaults suit their team without touching the generator.

Past 300 lines on purpose: the two dataclasses (with each field's documentation), their
validation and `from_dict` are together the one place that says what a valid stack is.
"""

from __future__ import annotations

import dataclasses
import difflib
import ipaddress
import re
from dataclasses import dataclass, field, fields
from typing import Any, Callable, Mapping, get_origin, get_type_hints

from . import instance_types
from .errors import ConfigError, Problem

SPOT = "SPOT"
ON_DEMAND = "ON_DEMAND"
CAPACITIES = (SPOT, ON_DEMAND)

HOSTED_IMAGE = "quay.io/azavea/raster-vision:pytorch-0.31"

# CloudWatch Logs accepts only these retention periods (days).
LOG_RETENTION_DAYS = (1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096,
                      1827, 2192, 2557, 2922, 3288, 3653)

PREFIX_PATTERN = r"^[a-z0-9]{0,12}$"
AMI_PATTERN = r"^(ami-[0-9a-f]{8}([0-9a-f]{9})?)?$"
# Every EC2 family name has a digit (m6i, g5, p4d), which also keeps 'optimal' out of the GPU
# kind, where it would pick only instance types without a GPU. The lookahead refuses the
# families the AL2023 NVIDIA AMIs cannot drive (instance_types.refused_gpu_family says why).
GPU_INSTANCE_TYPE_PATTERN = (r"^" + instance_types.REFUSED_GPU_FAMILY_LOOKAHEAD
                             + r"[a-z]+[0-9][a-z0-9-]*(\.[a-z0-9]+)?$")
INSTANCE_TYPE_PATTERN = r"^([a-z]+[0-9][a-z0-9-]*(\.[a-z0-9]+)?|optimal)$"
INSTANCE_TYPE_PATTERNS = {"gpu": GPU_INSTANCE_TYPE_PATTERN, "cpu": INSTANCE_TYPE_PATTERN}
GPU_TYPES_ALLOWED = ("allowed: an EC2 instance type (g5.2xlarge) or family (g5) with a GPU; "
                     "not 'optimal', which picks only C, M and R types, without GPUs")
REPOSITORY_PATTERN = r"^((?:[a-z0-9]+(?:[._-][a-z0-9]+)*/)*[a-z0-9]+(?:[._-][a-z0-9]+)*)?$"
IMAGE_TAG_PATTERN = r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$"
# A bucket name; the read-only list may also be * (every bucket), the read-write list never.
BUCKET_NAME_PATTERN = r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$"
BUCKET_PATTERN = r"^(\*|[a-z0-9][a-z0-9.-]{1,61}[a-z0-9])$"
# A KMS key (not an alias: IAM policies match keys by key ARN); multi-Region keys are mrk-....
KMS_KEY_ARN_PATTERN = r"^arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:key/[A-Za-z0-9-]{1,64}$"
REPOSITORY_MODES = ("create", "existing")
IMAGE_PATTERN = r"^[^\s]+$"
KEY_NAME_PATTERN = r"^[ -~]{0,255}$"
ROLE_ARN_PATTERN = r"^(arn:aws[a-z-]*:iam::[0-9]{12}:role/[\w+=,.@/-]+)?$"

# Limits of the services, not preferences: gp3 volumes, Batch retry attempts, job timeouts.
ROOT_VOLUME_GIB = (30, 16384)  # the ECS-optimized AL2023 AMI's snapshot is 30 GiB
ATTEMPTS = (1, 10)
# gp3 root volumes: throughput (MiB/s) and IOPS bounds; 125 and 3000 are included in the price.
# IOPS may be at most 500 per GiB of the volume, throughput at most 0.25 MiB/s per IOPS.
GP3_THROUGHPUT_MIBS = (125, 1000)
GP3_IOPS = (3000, 16000)
GP3_IOPS_PER_GIB = 500
GP3_IOPS_PER_MIBS = 4
MIN_TIMEOUT_SECONDS = 60
# What the JobTimeout parameter's pattern admits (nine digits, about 31 years).
MAX_TIMEOUT_SECONDS = 999_999_999
# Batch's UpdatePolicy.JobExecutionTimeoutMinutes (API reference, UpdatePolicy).
UPDATE_TIMEOUT_MINUTES = (1, 7200)
# Upper bounds where the services document none: values no real account reaches, so that a typo
# (a few zeros too many) is refused before CloudFormation or Batch sees it.
# Batch sets no cap on a compute environment's vCPUs; accounts' EC2 vCPU quotas are granted in
# the thousands, so 100000 is beyond any of them.
VCPUS = (0, 100_000)
# A job runs on one instance: at most 192 vCPUs (the largest of the GPU and general-purpose
# families, e.g. m7i.48xlarge, g6e.48xlarge).
JOB_VCPUS = (1, 192)
# 4 TiB, the memory of the largest instance with at most 192 vCPUs (x2iedn.32xlarge); Batch
# wants at least 4 MiB, Raster Vision far more.
JOB_MEMORY_MIB = (512, 4 * 1024 * 1024)
# /dev/shm comes out of the job's memory, so the same ceiling.
SHARED_MEMORY_MIB = (64, JOB_MEMORY_MIB[1])
SPOT_BID_PERCENTAGE = (1, 100)
# /dev/shm per GPU a job uses: the single-GPU default, scaled by the GPUs Raster Vision trains on.
SHARED_MEMORY_PER_GPU_MIB = 8192
# A job queue's JobStateTimeLimitAction waits 600 to 86,400 seconds (Batch API reference,
# JobStateTimeLimitAction.maxTimeSeconds); 0 here means no action at all.
TIME_LIMIT_MINUTES = (10, 1440)
# Loose on purpose (SNS confirms the address by mail): something@domain.tld, or empty for none.
EMAIL_PATTERN = r"^([A-Za-z0-9._%+'-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,})?$"


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
        notification_email: address e-mailed when a job FAILED or blocks its queue; '' for none
            (NotificationEmail).
    """

    prefix: str = ""
    gpu: ComputeConfig = field(default_factory=_gpu_default)
    cpu: ComputeConfig = field(default_factory=_cpu_default)
    min_vcpus: int = 0
    max_vcpus: int = 80
    spot_bid_percentage: int = 100
    image_tag: str = "latest"
    shared_memory_mib: int = 8192
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
    # Address that hears of failed jobs and blocked queues (an encrypted SNS topic); "": nobody.
    notification_email: str = ""

    def validate(self) -> "StackConfig":
        """Return self when valid; otherwise raise a ConfigError listing every problem."""
        # Values of the wrong type are reported first: the other checks would trip over them.
        problems = _type_problems(self) or list(_problems(self))
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
            close = difflib.get_close_matches(key, names, n=1)
            hint = f"did you mean {close[0]!r}? " if close else ""
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


# ----------------------------------------------------------------------------------------------
# Validation: every rule appends a Problem; nothing stops at the first one.


def _pattern(problems: list, path: str, value: str, pattern: str, allowed: str) -> None:
    if not re.match(pattern, value):
        problems.append(Problem(path, value, allowed))


def _between(problems: list, path: str, value: int, low: int, high: int, unit: str = "") -> bool:
    if not low <= value <= high:
        problems.append(Problem(path, value, f"allowed: {low} to {high}{unit}"))
        return False
    return True


def _compute_problems(kind: str, c: ComputeConfig) -> list[Problem]:
    p: list[Problem] = []
    if not c.instance_types:
        p.append(Problem(f"{kind}.instance_types", c.instance_types,
                         "allowed: at least one instance type, e.g. ['g5.2xlarge']"))
    for i, name in enumerate(c.instance_types):
        refused = instance_types.refused_gpu_family(name) if kind == "gpu" else None
        if refused:
            p.append(Problem(f"{kind}.instance_types[{i}]", name, "allowed: a GPU family the "
                             f"Amazon Linux 2023 NVIDIA AMIs support; {refused}"))
            continue
        _pattern(p, f"{kind}.instance_types[{i}]", name, INSTANCE_TYPE_PATTERNS[kind],
                 GPU_TYPES_ALLOWED if kind == "gpu" else
                 "allowed: an EC2 instance type (m6i.xlarge), a family (m6i) or 'optimal'")
    if c.capacity not in CAPACITIES:
        p.append(Problem(f"{kind}.capacity", c.capacity, f"allowed: one of {', '.join(CAPACITIES)}"))
    _pattern(p, f"{kind}.ami", c.ami, AMI_PATTERN,
             "allowed: empty (Batch's current ECS-optimized AMI) or an AMI id like ami-0123456789abcdef0")
    fits_cpu = _between(p, f"{kind}.job_vcpus", c.job_vcpus, *JOB_VCPUS)
    fits_mem = _between(p, f"{kind}.job_memory_mib", c.job_memory_mib, *JOB_MEMORY_MIB, " MiB")
    fits_size = _between(p, f"{kind}.root_volume_gib", c.root_volume_gib, *ROOT_VOLUME_GIB,
                         " GiB")
    p.extend(_gp3_problems(kind, c, fits_size))
    _pattern(p, f"{kind}.hosted_image", c.hosted_image, IMAGE_PATTERN,
             "allowed: a container image reference without spaces, e.g. " + HOSTED_IMAGE)
    _pattern(p, f"{kind}.repository_name", c.repository_name, REPOSITORY_PATTERN,
             "allowed: empty (use the hosted image) or an ECR repository name: lower-case "
             "letters, digits, and . _ - / between them")
    if c.repository_mode not in REPOSITORY_MODES:
        p.append(Problem(f"{kind}.repository_mode", c.repository_mode,
                         "allowed: create (the stack creates the repository) or existing (it "
                         "already exists, e.g. retained from a deleted stack)"))
    if fits_cpu and fits_mem:
        p.extend(_fit_problems(kind, c))
    return p


def _gp3_problems(kind: str, c: ComputeConfig, fits_size: bool) -> list[Problem]:
    """gp3's bounds, and its ratios: IOPS per GiB of the volume, MiB/s per IOPS."""
    p: list[Problem] = []
    fits_throughput = _between(p, f"{kind}.root_volume_throughput_mibs",
                               c.root_volume_throughput_mibs, *GP3_THROUGHPUT_MIBS, " MiB/s")
    fits_iops = _between(p, f"{kind}.root_volume_iops", c.root_volume_iops, *GP3_IOPS, " IOPS")
    if fits_size and fits_throughput and fits_iops:
        p.extend(gp3_ratio_problems((f"{kind}.root_volume_gib", c.root_volume_gib),
                                    (f"{kind}.root_volume_iops", c.root_volume_iops),
                                    (f"{kind}.root_volume_throughput_mibs",
                                     c.root_volume_throughput_mibs)))
    return p


def gp3_ratio_problems(size: tuple[str, int], iops: tuple[str, int],
                       throughput: tuple[str, int]) -> list[Problem]:
    """gp3's ratios, for values within their bounds: at most 500 IOPS per GiB of the volume,
    1 MiB/s per 4 IOPS. Each argument is (name, value): the config field or the parameter to
    name in the message, and its value (shared with `deploy`'s checks of parameter values)."""
    p = []
    if iops[1] > size[1] * GP3_IOPS_PER_GIB:
        p.append(Problem(iops[0], iops[1],
                         f"allowed: at most {size[1] * GP3_IOPS_PER_GIB} IOPS, "
                         f"{GP3_IOPS_PER_GIB} per GiB of {size[0]} ({size[1]}); "
                         "or a larger volume"))
    if throughput[1] * GP3_IOPS_PER_MIBS > iops[1]:
        p.append(Problem(throughput[0], throughput[1],
                         f"allowed: at most {iops[1] // GP3_IOPS_PER_MIBS} MiB/s with {iops[0]} "
                         f"{iops[1]} (gp3 gives 1 MiB/s per {GP3_IOPS_PER_MIBS} IOPS); or at "
                         f"least {throughput[1] * GP3_IOPS_PER_MIBS} IOPS"))
    return p


def _fit_problems(kind: str, c: ComputeConfig) -> list[Problem]:
    """A job that fits no instance type never leaves RUNNABLE; one that fits only some wastes
    the spot pools of the others, so every known type must fit the default job. One problem per
    field, naming the types that are too small and the largest value all of them allow."""
    known = [it for it in map(instance_types.lookup, c.instance_types) if it is not None]
    p = []

    def too_small(field: str, value: int, offered: Callable[[Any], int], unit: str,
                  note: str = "") -> None:
        small = [it for it in known if value > offered(it)]
        if small:
            details = ", ".join(f"{it.name} offers {offered(it)}{unit}" for it in small)
            p.append(Problem(f"{kind}.{field}", value,
                             f"allowed: at most {min(offered(it) for it in small)}{unit}, so "
                             f"that every instance type can run the job ({details}{note}); or "
                             f"larger types in {kind}.instance_types"))

    too_small("job_vcpus", c.job_vcpus, lambda it: it.vcpus, " vCPUs")
    too_small("job_memory_mib", c.job_memory_mib, lambda it: it.job_memory_mib, " MiB",
              " after the ECS agent's reserve of about 6%")
    if kind == "gpu":
        p.extend(Problem(f"{kind}.instance_types", name, GPU_TYPES_ALLOWED)
                 for name in c.instance_types if instance_types.has_no_gpu(name))
    return p


def _problems(cfg: StackConfig):
    p: list[Problem] = []
    _pattern(p, "prefix", cfg.prefix, PREFIX_PATTERN,
             "allowed: lower-case letters and digits, at most 12 characters")
    for kind, compute in cfg.kinds():
        p.extend(_compute_problems(kind, compute))
    if cfg.gpu.ami and cfg.gpu.ami == cfg.cpu.ami:
        p.append(Problem("cpu.ami", cfg.cpu.ami,
                         "allowed: an AMI other than gpu.ami; a GPU AMI makes CPU jobs fail with "
                         "CannotStartContainerError (leave cpu.ami empty for the ECS-optimized AMI)"))
    max_ok = cfg.max_vcpus <= VCPUS[1]
    if not max_ok:
        p.append(Problem("max_vcpus", cfg.max_vcpus, f"allowed: 1 to {VCPUS[1]}"))
    if _between(p, "min_vcpus", cfg.min_vcpus, *VCPUS) and max_ok:
        if cfg.max_vcpus < max(cfg.min_vcpus, 1):
            p.append(Problem("max_vcpus", cfg.max_vcpus,
                             f"allowed: at least min_vcpus ({cfg.min_vcpus}) and at least 1"))
        for kind, compute in cfg.kinds():
            if cfg.max_vcpus < compute.job_vcpus:
                p.append(Problem("max_vcpus", cfg.max_vcpus,
                                 f"allowed: at least {kind}.job_vcpus ({compute.job_vcpus}), "
                                 f"or no {kind} job can ever start"))
    _between(p, "spot_bid_percentage", cfg.spot_bid_percentage, *SPOT_BID_PERCENTAGE,
             " (% of on-demand price)")
    _pattern(p, "image_tag", cfg.image_tag, IMAGE_TAG_PATTERN,
             "allowed: a Docker tag: letters, digits, _ . - (not first), at most 128 characters")
    if _between(p, "shared_memory_mib", cfg.shared_memory_mib, *SHARED_MEMORY_MIB, " MiB"):
        for kind, compute in cfg.kinds():
            if cfg.shared_memory_mib >= compute.job_memory_mib:
                p.append(Problem("shared_memory_mib", cfg.shared_memory_mib,
                                 f"allowed: less than {kind}.job_memory_mib "
                                 f"({compute.job_memory_mib}); /dev/shm counts against it"))
    _between(p, "job_attempts", cfg.job_attempts, *ATTEMPTS)
    if cfg.job_timeout_seconds != 0 and not (
            MIN_TIMEOUT_SECONDS <= cfg.job_timeout_seconds <= MAX_TIMEOUT_SECONDS):
        p.append(Problem("job_timeout_seconds", cfg.job_timeout_seconds,
                         f"allowed: 0 (no timeout) or {MIN_TIMEOUT_SECONDS} to "
                         f"{MAX_TIMEOUT_SECONDS} seconds"))
    _between(p, "update_job_timeout_minutes", cfg.update_job_timeout_minutes,
             *UPDATE_TIMEOUT_MINUTES, " minutes")
    p.extend(_s3_problems(cfg))
    if cfg.log_retention_days not in LOG_RETENTION_DAYS:
        p.append(Problem("log_retention_days", cfg.log_retention_days,
                         "allowed: one of " + ", ".join(map(str, LOG_RETENTION_DAYS))))
    p.extend(_cidr_problems(cfg.cidr_range))
    _pattern(p, "key_name", cfg.key_name, KEY_NAME_PATTERN,
             "allowed: empty (no key pair) or an EC2 key pair name of printable ASCII")
    _pattern(p, "batch_service_role_arn", cfg.batch_service_role_arn, ROLE_ARN_PATTERN,
             "allowed: empty (the AWSServiceRoleForBatch service-linked role) or an IAM role ARN")
    for name in ("unrunnable_job_timeout_minutes", "capacity_wait_timeout_minutes"):
        minutes = getattr(cfg, name)
        if minutes != 0 and not TIME_LIMIT_MINUTES[0] <= minutes <= TIME_LIMIT_MINUTES[1]:
            p.append(Problem(name, minutes,
                             f"allowed: 0 (never cancel) or {TIME_LIMIT_MINUTES[0]} to "
                             f"{TIME_LIMIT_MINUTES[1]} minutes (Batch acts after 10 minutes "
                             "to 24 hours)"))
    _pattern(p, "notification_email", cfg.notification_email, EMAIL_PATTERN,
             "allowed: empty (no notifications) or an e-mail address such as "
             "team@example.com")
    return p


def _s3_problems(cfg: StackConfig) -> list[Problem]:
    p: list[Problem] = []
    for i, bucket in enumerate(cfg.s3_buckets):
        _pattern(p, f"s3_buckets[{i}]", bucket, BUCKET_NAME_PATTERN,
                 "allowed: an S3 bucket name (3-63 lower-case letters, digits, . -); jobs may "
                 "write and delete here, so never '*' (s3_read_only_buckets can be '*')")
    if "*" in cfg.s3_read_only_buckets and len(cfg.s3_read_only_buckets) > 1:
        p.append(Problem("s3_read_only_buckets", cfg.s3_read_only_buckets,
                         "allowed: '*' alone (every bucket) or bucket names without '*'"))
    for i, bucket in enumerate(cfg.s3_read_only_buckets):
        _pattern(p, f"s3_read_only_buckets[{i}]", bucket, BUCKET_PATTERN,
                 "allowed: an S3 bucket name (3-63 lower-case letters, digits, . -) or '*'")
    for i, key in enumerate(cfg.kms_key_arns):
        _pattern(p, f"kms_key_arns[{i}]", key, KMS_KEY_ARN_PATTERN,
                 "allowed: a KMS key ARN such as arn:aws:kms:us-east-1:123456789012:key/"
                 "1234abcd-12ab-34cd-56ef-1234567890ab (an alias ARN does not work in IAM "
                 "policies)")
    return p


def _cidr_problems(cidr: str) -> list[Problem]:
    if not cidr:
        return []
    allowed = ("allowed: empty (no inbound traffic at all) or an IPv4 CIDR range such as "
               "203.0.113.0/24, narrower than 0.0.0.0/0")
    try:
        network = ipaddress.IPv4Network(cidr, strict=True)
    except ValueError:
        return [Problem("cidr_range", cidr, allowed)]
    if "/" not in cidr or network.prefixlen == 0:
        return [Problem("cidr_range", cidr, allowed)]
    return []


# ----------------------------------------------------------------------------------------------
# Building a config from plain data (a YAML or JSON file): keys mirror the dataclass fields.


def from_dict(data: Mapping[str, Any]) -> StackConfig:
    """Build and validate a StackConfig from nested plain data whose keys mirror its fields.

    Missing keys keep their defaults; a `gpu`/`cpu` mapping is merged over the default for that
    kind. Unknown keys, wrong types and invalid values are all reported together.
    """
    problems: list[Problem] = []
    config = _build(StackConfig, StackConfig(), data, None, problems)
    # The well-formed values are validated too, so one run reports every problem.
    problems.extend(_problems(config))
    if problems:
        raise ConfigError(problems)
    return config


def _build(cls: type, default: Any, data: Any, path: str | None,
           problems: list[Problem]) -> Any:
    if not isinstance(data, Mapping):
        problems.append(Problem(path or "(top level)", data,
                                "allowed: a mapping of keys to values"))
        return default
    hints = get_type_hints(cls)
    names = [f.name for f in fields(cls)]
    changes = {}
    for key, value in data.items():
        where = f"{path}.{key}" if path else str(key)
        if key not in names:
            close = difflib.get_close_matches(str(key), names, n=1)
            hint = f"did you mean {close[0]!r}? " if close else ""
            problems.append(Problem(where, value,
                                    f"unknown key; {hint}allowed keys: {', '.join(names)}"))
            continue
        current = getattr(default, key)
        if dataclasses.is_dataclass(hints[key]):
            changes[key] = _build(hints[key], current, value, where, problems)
            continue
        converted = _convert(hints[key], value)
        if converted is _INVALID:
            problems.append(Problem(where, value, f"allowed: {_describe(hints[key])}"))
        else:
            changes[key] = converted
    return dataclasses.replace(default, **changes)


_INVALID = object()


def _convert(hint: Any, value: Any) -> Any:
    if hint is bool:
        return value if isinstance(value, bool) else _INVALID
    if hint is int:
        return value if isinstance(value, int) and not isinstance(value, bool) else _INVALID
    if hint is str:
        return value if isinstance(value, str) else _INVALID
    if get_origin(hint) is tuple:
        if isinstance(value, str):  # "a,b" as in the console's comma-delimited fields
            value = [v.strip() for v in value.split(",") if v.strip()]
        if not isinstance(value, (list, tuple)) or not all(isinstance(v, str) for v in value):
            return _INVALID
        return tuple(value)
    return _INVALID  # pragma: no cover - every field type is handled above


def _type_problems(obj: Any, path: str = "") -> list[Problem]:
    """Fields of a dataclass built in Python (not from_dict) whose values have the wrong type."""
    problems: list[Problem] = []
    hints = get_type_hints(type(obj))
    for f in fields(obj):
        value, hint, where = getattr(obj, f.name), hints[f.name], f"{path}{f.name}"
        if dataclasses.is_dataclass(hint):
            if isinstance(value, hint):
                problems.extend(_type_problems(value, where + "."))
            else:
                problems.append(Problem(where, value, f"allowed: a {hint.__name__}"))
        elif isinstance(value, str) and get_origin(hint) is tuple:
            problems.append(Problem(where, value, f"allowed: {_describe(hint)}, e.g. ({value!r},)"))
        elif _convert(hint, value) is _INVALID:
            problems.append(Problem(where, value, f"allowed: {_describe(hint)}"))
    return problems


def _describe(hint: Any) -> str:
    if hint is bool:
        return "true or false"
    if hint is int:
        return "a whole number"
    if hint is str:
        return "a string"
    return "a list of strings"


def as_dict(config: StackConfig) -> dict[str, Any]:
    """The config as plain data (lists instead of tuples), the inverse of from_dict."""
    def plain(value: Any) -> Any:
        if isinstance(value, tuple):
            return list(value)
        if isinstance(value, dict):
            return {k: plain(v) for k, v in value.items()}
        return value
    return plain(dataclasses.asdict(config))


__all__ = ["StackConfig", "ComputeConfig", "from_dict", "as_dict", "SPOT", "ON_DEMAND",
           "HOSTED_IMAGE"]
