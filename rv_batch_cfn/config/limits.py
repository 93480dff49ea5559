"""What the services allow, and what the stack allows on top: bounds, patterns, allowed values.

The template's parameters (template/parameters.py), the config's checks (checks.py) and the
commands' checks of parameter values all take their limits from here, so a bound is stated once.
"""

from __future__ import annotations

from .. import instance_types

# CloudFormation's list parameter types (User Guide, "Parameters"): CommaDelimitedList and
# List<...>. A value of one is a single string, which CloudFormation splits at every comma,
# trimming each member.
LIST_TYPE = "CommaDelimitedList"


def is_list_type(kind: object) -> bool:
    """Whether a parameter of this Type takes a list (CommaDelimitedList, List<...>)."""
    return str(kind) == LIST_TYPE or str(kind).startswith("List<")


def list_members(value: object) -> list[str]:
    """A list parameter's value as CloudFormation splits it: every comma, each member trimmed
    (an empty member, as in "a,,b", kept)."""
    return [member.strip() for member in str(value).split(",")]


SPOT = "SPOT"
ON_DEMAND = "ON_DEMAND"
CAPACITIES = (SPOT, ON_DEMAND)

# The image jobs run unless the stack names an ECR repository (one image for CPU and GPU); the
# default of both kinds, and the example in messages about images.
HOSTED_IMAGE = "quay.io/azavea/raster-vision:pytorch-0.31"

# CloudWatch Logs accepts only these retention periods (days).
LOG_RETENTION_DAYS = (1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096,
                      1827, 2192, 2557, 2922, 3288, 3653)

PREFIX_MAX_LENGTH = 12
PREFIX_PATTERN = rf"^[a-z0-9]{{0,{PREFIX_MAX_LENGTH}}}$"
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
# An ECR repository name; the stack's parameters may leave it empty (no repository), the
# per-project template's may not.
REPOSITORY_NAME = r"(?:[a-z0-9]+(?:[._-][a-z0-9]+)*/)*[a-z0-9]+(?:[._-][a-z0-9]+)*"
REPOSITORY_PATTERN = rf"^({REPOSITORY_NAME})?$"
REQUIRED_REPOSITORY_PATTERN = rf"^{REPOSITORY_NAME}$"
REPOSITORY_MAX_LENGTH = 256
IMAGE_TAG_PATTERN = r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$"
# A bucket name; the read-only list may also be * (every bucket), the read-write list never.
BUCKET_NAME_PATTERN = r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$"
BUCKET_PATTERN = r"^(\*|[a-z0-9][a-z0-9.-]{1,61}[a-z0-9])$"
# A KMS key (not an alias: IAM policies match keys by key ARN); multi-Region keys are mrk-....
KMS_KEY_ARN_PATTERN = r"^arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:key/[A-Za-z0-9-]{1,64}$"
REPOSITORY_MODES = ("create", "existing")
IMAGE_PATTERN = r"^[^\s]+$"
KEY_NAME_PATTERN = r"^[ -~]{0,255}$"
# An IAM role ARN; where a role is optional, empty too.
ROLE_ARN = r"arn:aws[a-z-]*:iam::[0-9]{12}:role/[\w+=,.@/-]+"
ROLE_ARN_PATTERN = rf"^({ROLE_ARN})?$"
REQUIRED_ROLE_ARN_PATTERN = rf"^{ROLE_ARN}$"
# CloudFormation's stack names; a stack's id (its ARN) names a stack too.
STACK_NAME_PATTERN = r"^[A-Za-z][A-Za-z0-9-]{0,127}$"
STACK_ARN_PATTERN = r"^arn:[-a-z]+:cloudformation:[-a-z0-9]+:\d{12}:stack/[-A-Za-z0-9/]{1,300}$"
# The per-project template's namespace: a user or project name.
NAMESPACE_MAX_LENGTH = 64
NAMESPACE_PATTERN = rf"^[A-Za-z0-9]{{1,{NAMESPACE_MAX_LENGTH}}}$"
# An IPv4 CIDR range, or empty (no inbound traffic); the config's check also refuses 0.0.0.0/0
# and host bits set, which a pattern cannot say.
_OCTET = r"([0-9]|[1-9][0-9]|1[0-9]{2}|2[0-4][0-9]|25[0-5])"
CIDR_PATTERN = rf"^$|^({_OCTET}\.){{3}}{_OCTET}/([1-9]|[1-2][0-9]|3[0-2])$"

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
# Batch refuses attempt durations under 60 seconds; a Number parameter cannot say "0 or >= 60",
# so the console gets a String with a pattern that does: 0, 60 to 99, or 3 to 9 digits.
TIMEOUT_PATTERN = r"^(0|[6-9][0-9]|[1-9][0-9]{2,8})$"
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
# GPUs a train job may ask for: the GPU counts of the instance types (1, 4, 8), and 2 (half of
# a 4-GPU instance).
TRAIN_GPUS = (1, 2, 4, 8)
# /dev/shm of Raster Vision's training with its defaults (rastervision_pytorch_learner 0.30 and
# 0.31): 4 DataLoader workers (DataConfig.num_workers) per training process, each with
# PyTorch's prefetch_factor of 2 batches in /dev/shm, of `batch_sz` 32 chips (SolverConfig),
# which Raster Vision divides among the GPUs under DDP: 4 x 2 x 32 = 256 chips in flight,
# however many GPUs train. A large chip, 512 x 512 pixels of 12 bands as float32 (12 MiB) with
# its int64 label (2 MiB), is 14 MiB: 3584 MiB in flight. NCCL keeps its own segments in
# /dev/shm between the GPUs' processes; its troubleshooting guide gives containers 1 GiB.
DDP_CHIPS_IN_FLIGHT = 4 * 2 * 32
DDP_CHIP_MIB = 14
NCCL_SHARED_MEMORY_MIB = 1024
# What DDP on up to 8 GPUs needs with those defaults, with room for batch_sz doubled: NCCL's
# 1 GiB and twice the chips in flight, 1024 + 2 x 3584 = 8192 MiB (SharedMemorySize's default).
DDP_SHARED_MEMORY_MIB = NCCL_SHARED_MEMORY_MIB + 2 * DDP_CHIPS_IN_FLIGHT * DDP_CHIP_MIB
# A job queue's JobStateTimeLimitAction waits 600 to 86,400 seconds (Batch API reference,
# JobStateTimeLimitAction.maxTimeSeconds); 0 here means no action at all.
TIME_LIMIT_MINUTES = (10, 1440)
# Loose on purpose (SNS confirms the address by mail): something@domain.tld, or empty for none.
# A stack's monthly budget in whole US dollars; 0 (or empty in the console): no budget.
MONTHLY_BUDGET_USD = (0, 9_999_999)
MONTHLY_BUDGET_PATTERN = r"^(0|[1-9][0-9]{0,6})?$"
EMAIL_PATTERN = r"^([A-Za-z0-9._%+'-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,})?$"
