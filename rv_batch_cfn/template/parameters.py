"""Parameters, Conditions, Rules and the console's Metadata.

Parameter names keep those of the original raster-vision-aws template wherever the concept is
unchanged, so an existing stack can be updated with the new template.

A parameter's name, declaration, conditions, console group and label change together, so they
are in one module; the bounds all come from config/limits.py.
"""

from __future__ import annotations

from typing import Any

from troposphere import And, Equals, If, Join, Not, NoValue, Parameter, Ref, Template

from .. import instance_types
from ..config import ComputeConfig, StackConfig, limits

# Parameter names (shared with the original template where the concept is the same).
PREFIX = "Prefix"
VPC = "VPC"
SUBNET_IDS = "SubnetIds"
KEY_NAME = "KeyName"
CIDR_RANGE = "CidrRange"
MINIMUM_VCPUS = "MinimumVCPUs"
MAXIMUM_VCPUS = "MaximumVCPUs"
SPOT_BID_PERCENTAGE = "SpotFleetBidPercentage"
IMAGE_TAG = "ImageTag"
SHARED_MEMORY_SIZE = "SharedMemorySize"
JOB_ATTEMPTS = "JobAttempts"
JOB_TIMEOUT = "JobTimeout"
S3_BUCKETS = "S3Buckets"
LOG_RETENTION_DAYS = "LogRetentionDays"
LOG_KMS_KEY_ARN = "LogKmsKeyArn"
BATCH_SERVICE_ROLE_ARN = "BatchServiceRoleArn"
S3_READ_ONLY_BUCKETS = "S3ReadOnlyBuckets"
KMS_KEY_ARNS = "S3KmsKeyArns"
UPDATE_JOB_TIMEOUT = "UpdateJobTimeoutMinutes"
SESSION_MANAGER = "EnableSessionManager"
# The size of Raster Vision's train jobs (the batch_retry runner submits it as an override).
TRAIN_GPUS = "TrainGPUs"
TRAIN_VCPUS = "TrainVCPUs"
TRAIN_MEMORY = "TrainMemory"
TRAIN_PARAMETERS = (TRAIN_GPUS, TRAIN_VCPUS, TRAIN_MEMORY)
# Defined in queue_limits.py and notifications.py, named here for the console's groups.
UNRUNNABLE_JOB_TIMEOUT = "UnrunnableJobTimeout"
CAPACITY_WAIT_TIMEOUT = "CapacityWaitTimeout"
NOTIFICATION_EMAIL = "NotificationEmail"
# The optional on-demand GPU queue (compute.py): its compute environment's MaximumVCPUs, 0 for none.
GPU_ON_DEMAND_MAX_VCPUS = "GpuOnDemandMaximumVCPUs"
MONTHLY_BUDGET = "MonthlyBudget"  # budget.py
BUDGET_HARD_STOP = "BudgetHardStop"


class KindParameters:
    """The names of the parameters that exist once per kind of compute (GPU, CPU)."""

    def __init__(self, kind: str):
        title, upper = kind.capitalize(), kind.upper()
        self.kind = kind
        self.title = title
        self.ami = f"{title}AMI"
        self.instance_types = f"{title}InstanceTypes"
        self.capacity = f"{title}Capacity"
        self.hosted_image = f"{title}Image"
        self.repository_name = f"{title}RepositoryName"
        self.repository_mode = f"{title}RepositoryMode"
        self.vcpus = f"{upper}InstanceVCPUs"
        self.memory = f"{upper}InstanceMemory"
        self.storage = f"{upper}InstanceStorage"
        self.throughput = f"{upper}RootVolumeThroughput"
        self.iops = f"{upper}RootVolumeIops"
        # Condition names
        self.on_spot = f"{title}OnSpot"
        self.has_ami = f"Has{title}AMI"
        self.uses_ecr = f"{title}UsesEcr"
        self.creates_repository = f"Create{title}Repository"


GPU = KindParameters("gpu")
CPU = KindParameters("cpu")
KINDS = {"gpu": GPU, "cpu": CPU}

# Condition names
HAS_KEY_NAME = "HasKeyName"
HAS_CIDR_RANGE = "HasCidrRange"
ALLOWS_SSH = "AllowsSsh"
HAS_JOB_TIMEOUT = "HasJobTimeout"
HAS_SERVICE_ROLE = "HasBatchServiceRole"
HAS_S3_BUCKETS = "HasS3Buckets"
HAS_S3_READ_ONLY_BUCKETS = "HasS3ReadOnlyBuckets"
HAS_KMS_KEYS = "HasS3KmsKeys"
HAS_LOG_KMS_KEY = "HasLogKmsKey"
HAS_SESSION_MANAGER = "HasSessionManager"
HAS_GPU_ON_DEMAND_QUEUE = "HasGpuOnDemandQueue"


def _kind_parameters(kind: str, k: KindParameters, cc: ComputeConfig) -> list[Parameter]:
    what = "GPU" if kind == "gpu" else "CPU"
    ami_default = ("Batch's current ECS-optimized Amazon Linux 2023 AMI with NVIDIA drivers"
                   if kind == "gpu" else "Batch's current ECS-optimized Amazon Linux 2023 AMI")
    return [
        Parameter(k.instance_types, Type="CommaDelimitedList",
                  Default=",".join(cc.instance_types),
                  # On a list, CloudFormation matches the pattern against each element.
                  AllowedPattern=limits.INSTANCE_TYPE_PATTERNS[kind],
                  ConstraintDescription=(
                      "each must be an instance type (g5.2xlarge) or a family (g5) with an "
                      "NVIDIA GPU that the Amazon Linux 2023 NVIDIA AMIs support (not "
                      f"{instance_types.refused_gpu_families()}); use "
                      f"{instance_types.gpu_families_instead()} instead"
                      if kind == "gpu" else
                      "each must be an instance type (m6i.xlarge), a family (m6i) or optimal"),
                  Description=f"Comma-separated EC2 instance types (or families) for {what} jobs. "
                              "Several types give spot capacity more pools to come from; every "
                              f"one must offer the {what} job's vCPUs and memory."),
        Parameter(k.capacity, Type="String", Default=cc.capacity,
                  AllowedValues=list(limits.CAPACITIES),
                  Description=f"SPOT (cheaper, may be interrupted and retried) or ON_DEMAND "
                              f"instances for {what} jobs."),
        Parameter(k.ami, Type="String", Default=cc.ami, AllowedPattern=limits.AMI_PATTERN,
                  ConstraintDescription="must be empty or an AMI id such as ami-0123456789abcdef0",
                  Description=f"Optional custom AMI for {what} instances (for example one made "
                              f"by make create-ami). Empty: {ami_default}."),
        Parameter(k.storage, Type="Number", Default=cc.root_volume_gib,
                  MinValue=limits.ROOT_VOLUME_GIB[0], MaxValue=limits.ROOT_VOLUME_GIB[1],
                  ConstraintDescription=f"must be {limits.ROOT_VOLUME_GIB[0]} to "
                                        f"{limits.ROOT_VOLUME_GIB[1]} GiB",
                  Description=f"Size in GiB of the encrypted root volume of {what} instances; it "
                              "holds the container images, and the jobs' /opt/data on instance "
                              "types without NVMe instance store."),
        *root_volume_performance_parameters(k, cc),
        Parameter(k.hosted_image, Type="String", Default=cc.hosted_image,
                  AllowedPattern=limits.IMAGE_PATTERN,
                  ConstraintDescription="must not contain spaces",
                  Description=f"Container image for {what} jobs when {k.repository_name} is "
                              "empty."),
        Parameter(k.repository_name, Type="String", Default=cc.repository_name,
                  AllowedPattern=limits.REPOSITORY_PATTERN, MaxLength=limits.REPOSITORY_MAX_LENGTH,
                  ConstraintDescription="must be empty or an ECR repository name (lower-case "
                                        "letters, digits, and . _ - / between them)",
                  Description=f"Optional ECR repository for {what} images (pushed by "
                              f"make publish-container); {what} jobs then run "
                              f"<repository>:{IMAGE_TAG}. See {k.repository_mode}."),
        Parameter(k.repository_mode, Type="String", Default=cc.repository_mode,
                  AllowedValues=list(limits.REPOSITORY_MODES),
                  Description=f"create: the stack creates {k.repository_name} (it must not "
                              "exist yet). existing: it exists already (for example retained "
                              "when an earlier stack was deleted) and the stack only uses it."),
        *job_size_parameters(k, cc),
    ]


def root_volume_performance_parameters(k: KindParameters, cc: ComputeConfig) -> list[Parameter]:
    """gp3 throughput and IOPS of the kind's root volume. Their ratios (IOPS per GiB, MiB/s per
    IOPS) need arithmetic, which Rules cannot do: StackConfig.validate() checks them for the
    defaults and `deploy` for the values it sends; EC2 refuses the launch otherwise."""
    what = k.kind.upper()
    low_t, high_t = limits.GP3_THROUGHPUT_MIBS
    low_i, high_i = limits.GP3_IOPS
    return [
        Parameter(k.throughput, Type="Number", Default=cc.root_volume_throughput_mibs,
                  MinValue=low_t, MaxValue=high_t,
                  ConstraintDescription=f"must be {low_t} to {high_t} MiB/s",
                  Description=f"Throughput (MiB/s) of the gp3 root volume of {what} instances: "
                              f"{low_t} is included in the volume's price, more is billed. At "
                              f"most {what}RootVolumeIops / {limits.GP3_IOPS_PER_MIBS}."),
        Parameter(k.iops, Type="Number", Default=cc.root_volume_iops, MinValue=low_i,
                  MaxValue=high_i, ConstraintDescription=f"must be {low_i} to {high_i} IOPS",
                  Description=f"IOPS of the gp3 root volume of {what} instances: {low_i} is "
                              "included in the volume's price, more is billed. At most "
                              f"{limits.GP3_IOPS_PER_GIB} per GiB of {k.storage}."),
    ]


def job_size_parameters(k: KindParameters, cc: ComputeConfig) -> list[Parameter]:
    """vCPUs and memory of the kind's job definition (shared with the job-definitions template)."""
    what = k.kind.upper()
    return [
        Parameter(k.vcpus, Type="Number", Default=cc.job_vcpus, MinValue=limits.JOB_VCPUS[0],
                  MaxValue=limits.JOB_VCPUS[1],
                  ConstraintDescription=f"must be {limits.JOB_VCPUS[0]} to {limits.JOB_VCPUS[1]}",
                  Description=f"vCPUs reserved for each {what} job; at most the vCPUs of the "
                              f"smallest {what} instance type."),
        Parameter(k.memory, Type="Number", Default=cc.job_memory_mib,
                  MinValue=limits.JOB_MEMORY_MIB[0], MaxValue=limits.JOB_MEMORY_MIB[1],
                  ConstraintDescription=f"must be {limits.JOB_MEMORY_MIB[0]} to "
                                        f"{limits.JOB_MEMORY_MIB[1]} MiB",
                  Description=f"Memory (MiB) reserved for each {what} job; leave about 6% of "
                              "the instance's memory to the ECS agent and the OS."),
    ]


def train_size_parameters(cfg: StackConfig) -> list[Parameter]:
    """GPUs, vCPUs and memory of Raster Vision's train jobs: rv-config writes them as [BATCH]
    train_gpus, train_vcpus and train_memory, which the batch_retry runner submits in place of
    the GPU job definition's size. Rules refuse GPUs no listed type has (numbers cannot be
    compared there: deploy and the runner check the vCPUs and memory)."""
    t = cfg.train
    return [
        Parameter(TRAIN_GPUS, Type="Number", Default=t.gpus,
                  AllowedValues=list(limits.TRAIN_GPUS), MinValue=limits.TRAIN_GPUS[0],
                  MaxValue=limits.TRAIN_GPUS[-1],
                  ConstraintDescription="must be 1, 2, 4 or 8, and a GPU instance type must "
                                        "have that many",
                  Description="GPUs of each Raster Vision train job; it trains on all of them "
                              "(PyTorch DDP). 1: as every GPU job. More needs a type with "
                              f"that many GPUs in {GPU.instance_types} (g5.12xlarge: 4)."),
        Parameter(TRAIN_VCPUS, Type="Number", Default=t.vcpus, MinValue=limits.JOB_VCPUS[0],
                  MaxValue=limits.JOB_VCPUS[1],
                  ConstraintDescription=f"must be {limits.JOB_VCPUS[0]} to {limits.JOB_VCPUS[1]}",
                  Description="vCPUs of each train job; at most those of a GPU instance type "
                              f"with {TRAIN_GPUS} GPUs."),
        Parameter(TRAIN_MEMORY, Type="Number", Default=t.memory_mib,
                  MinValue=limits.JOB_MEMORY_MIB[0], MaxValue=limits.JOB_MEMORY_MIB[1],
                  ConstraintDescription=f"must be {limits.JOB_MEMORY_MIB[0]} to "
                                        f"{limits.JOB_MEMORY_MIB[1]} MiB",
                  Description="Memory (MiB) of each train job; leave about 6% of that "
                              "instance's memory to the ECS agent and the OS."),
    ]


def shared_memory_parameter(name: str, default: int, what: str = "") -> Parameter:
    """Size of /dev/shm in job containers (`what`: "GPU " for one kind only, "" for all jobs)."""
    return Parameter(
        name, Type="Number", Default=default, MinValue=limits.SHARED_MEMORY_MIB[0],
        MaxValue=limits.SHARED_MEMORY_MIB[1],
        ConstraintDescription=f"must be {limits.SHARED_MEMORY_MIB[0]} to "
                              f"{limits.SHARED_MEMORY_MIB[1]} MiB, and less than the job's memory",
        Description=f"Size (MiB) of /dev/shm in {what}job containers; PyTorch DataLoader workers "
                    "pass batches through it, and NCCL joins the GPUs of a train job. Counts "
                    f"against the job's memory. {limits.DDP_SHARED_MEMORY_MIB} holds Raster "
                    "Vision's defaults on up to 8 GPUs; raise it for larger batches or chips.")


def attempts_parameter(name: str, default: int, what: str = "") -> Parameter:
    """Attempts per job. The job definition retries only spot reclaims; a retry strategy given
    at submit time replaces it: Raster Vision's stock `batch` runner submits attempts 1, the
    `batch_retry` runner of this project submits [BATCH] attempts with the same rule."""
    return Parameter(
        name, Type="Number", Default=default, MinValue=limits.ATTEMPTS[0],
        MaxValue=limits.ATTEMPTS[1],
        ConstraintDescription=f"must be {limits.ATTEMPTS[0]} to {limits.ATTEMPTS[1]}",
        Description=f"Attempts per {what}job: spot reclaims (Host EC2 ...) are retried, other "
                    "failures end the job. rv-config writes it as [BATCH] attempts, which "
                    "Raster Vision's batch_retry runner (rv-batch-cfn) submits; its stock batch "
                    "runner submits 1 attempt, so no retries.")


def timeout_parameter(name: str, default: int, what: str = "") -> Parameter:
    """Seconds after which an attempt is stopped; 0 for none."""
    attempt = f"an attempt of a {what}job" if what else "an attempt"
    return Parameter(
        name, Type="String", Default=str(default), AllowedPattern=limits.TIMEOUT_PATTERN,
        ConstraintDescription=f"must be 0 (no timeout) or at least {limits.MIN_TIMEOUT_SECONDS} "
                              "seconds",
        Description=f"Seconds after which {attempt} is stopped; 0 for no timeout.")


def add_parameters(t: Template, cfg: StackConfig) -> None:
    """Add every parameter, with console-friendly descriptions and constraints."""
    t.add_parameter(Parameter(
        PREFIX, Type="String", Default=cfg.prefix, AllowedPattern=limits.PREFIX_PATTERN,
        MaxLength=limits.PREFIX_MAX_LENGTH,
        ConstraintDescription=f"must be at most {limits.PREFIX_MAX_LENGTH} lower-case letters "
                              "and digits",
        Description="Optional lower-case identifier for namespacing the queues and job "
                    "definitions of several stacks in one account (yournameRasterVisionGpuJobQueue)."))
    t.add_parameter(Parameter(
        VPC, Type="AWS::EC2::VPC::Id",
        Description="Virtual Private Cloud in which to launch Batch instances."))
    t.add_parameter(Parameter(
        SUBNET_IDS, Type="List<AWS::EC2::Subnet::Id>",
        Description="Subnets of that VPC for Batch instances, ideally one per availability zone "
                    "that offers the instance types (rv-batch-cfn choose-subnets finds them). "
                    "Instances need a route to the internet or VPC endpoints."))
    t.add_parameter(Parameter(
        KEY_NAME, Type="String", Default=cfg.key_name, AllowedPattern=limits.KEY_NAME_PATTERN,
        ConstraintDescription="must be empty or an EC2 key pair name",
        Description="Optional EC2 key pair for SSH. Empty: no key pair; use Session Manager "
                    "for shell access."))
    t.add_parameter(Parameter(
        CIDR_RANGE, Type="String", Default=cfg.cidr_range,
        AllowedPattern=limits.CIDR_PATTERN,
        ConstraintDescription="must be empty or an IPv4 CIDR range such as 203.0.113.0/24 "
                              "(not 0.0.0.0/0)",
        Description="Optional IPv4 range allowed to reach TensorBoard (6006) and, with a key "
                    "pair, SSH (22). Empty: no inbound traffic at all."))
    for kind, cc in cfg.kinds():
        for p in _kind_parameters(kind, KINDS[kind], cc):
            t.add_parameter(p)
    t.add_parameter(Parameter(
        MINIMUM_VCPUS, Type="Number", Default=cfg.min_vcpus, MinValue=limits.VCPUS[0],
        MaxValue=limits.VCPUS[1],
        ConstraintDescription=f"must be {limits.VCPUS[0]} to {limits.VCPUS[1]}",
        Description="vCPUs each compute environment keeps running when idle; 0 scales to zero "
                    "and costs nothing between jobs."))
    t.add_parameter(Parameter(
        MAXIMUM_VCPUS, Type="Number", Default=cfg.max_vcpus, MinValue=1, MaxValue=limits.VCPUS[1],
        ConstraintDescription=f"must be 1 to {limits.VCPUS[1]}",
        Description="vCPUs each compute environment may reach; bounds the cost of a burst of "
                    "jobs."))
    t.add_parameter(Parameter(
        GPU_ON_DEMAND_MAX_VCPUS, Type="Number", Default=cfg.gpu_on_demand_max_vcpus,
        MinValue=0, MaxValue=limits.VCPUS[1],
        ConstraintDescription=f"must be 0 (no queue) to {limits.VCPUS[1]}",
        Description="vCPUs of an on-demand GPU queue for jobs spot cannot place (rv-batch-cfn "
                    "rerun --on-demand); it scales to zero. 0: no such queue."))
    t.add_parameter(Parameter(
        SPOT_BID_PERCENTAGE, Type="Number", Default=cfg.spot_bid_percentage,
        MinValue=limits.SPOT_BID_PERCENTAGE[0], MaxValue=limits.SPOT_BID_PERCENTAGE[1],
        ConstraintDescription=f"must be {limits.SPOT_BID_PERCENTAGE[0]} to "
                              f"{limits.SPOT_BID_PERCENTAGE[1]}",
        Description="Highest spot price, as a percentage of the on-demand price, that spot "
                    "environments pay; lower values can leave jobs waiting for capacity."))
    t.add_parameter(Parameter(
        IMAGE_TAG, Type="String", Default=cfg.image_tag, AllowedPattern=limits.IMAGE_TAG_PATTERN,
        ConstraintDescription="must be a Docker tag (letters, digits, _ . -)",
        Description="Tag of the images in the ECR repositories (used only with a repository "
                    "name)."))
    for parameter in train_size_parameters(cfg):
        t.add_parameter(parameter)
    t.add_parameter(shared_memory_parameter(SHARED_MEMORY_SIZE, cfg.shared_memory_mib))
    t.add_parameter(attempts_parameter(JOB_ATTEMPTS, cfg.job_attempts))
    t.add_parameter(timeout_parameter(JOB_TIMEOUT, cfg.job_timeout_seconds))
    add_s3_parameters(t, cfg)
    t.add_parameter(Parameter(
        LOG_RETENTION_DAYS, Type="Number", Default=cfg.log_retention_days,
        AllowedValues=list(limits.LOG_RETENTION_DAYS), MinValue=limits.LOG_RETENTION_DAYS[0],
        MaxValue=limits.LOG_RETENTION_DAYS[-1],
        ConstraintDescription="must be one of the retention periods CloudWatch Logs offers",
        Description="Days to keep job logs in CloudWatch Logs."))
    t.add_parameter(Parameter(
        LOG_KMS_KEY_ARN, Type="String", Default=cfg.log_kms_key_arn,
        AllowedPattern=f"^({limits.KMS_KEY_ARN_PATTERN[1:-1]})?$",
        ConstraintDescription="must be empty or the ARN of a KMS key (not of an alias)",
        Description="Optional KMS key ARN for job logs; its key policy must allow CloudWatch "
                    "Logs. Empty: CloudWatch Logs' own encryption."))
    t.add_parameter(Parameter(
        UPDATE_JOB_TIMEOUT, Type="Number", Default=cfg.update_job_timeout_minutes,
        MinValue=limits.UPDATE_TIMEOUT_MINUTES[0], MaxValue=limits.UPDATE_TIMEOUT_MINUTES[1],
        ConstraintDescription=f"must be {limits.UPDATE_TIMEOUT_MINUTES[0]} to "
                              f"{limits.UPDATE_TIMEOUT_MINUTES[1]} minutes",
        Description="Minutes running jobs get to finish when an update replaces the instances "
                    "(new instance types, AMI, volume size, subnets, key pair); then they are "
                    "stopped. Longer keeps old, possibly unpatched instances longer."))
    t.add_parameter(Parameter(
        SESSION_MANAGER, Type="String", Default=str(cfg.session_manager).lower(),
        AllowedValues=["false", "true"],
        Description="true: instances accept Session Manager shells (the instance role gets "
                    "only the actions Session Manager needs). Jobs can use the instance role "
                    "too (they run with host networking), so leave false unless you need it."))
    t.add_parameter(Parameter(
        BATCH_SERVICE_ROLE_ARN, Type="String", Default=cfg.batch_service_role_arn,
        AllowedPattern=limits.ROLE_ARN_PATTERN,
        ConstraintDescription="must be empty or an IAM role ARN",
        Description="Optional service role for AWS Batch. Empty (recommended): the "
                    "AWSServiceRoleForBatch service-linked role, which Batch creates when needed "
                    "and which in-place updates of instance types, AMI and volumes require."))


def add_s3_parameters(t: Template, cfg: StackConfig) -> None:
    """The buckets jobs may write, those they may only read, and the KMS keys of SSE-KMS ones."""
    t.add_parameter(Parameter(
        S3_BUCKETS, Type="CommaDelimitedList", Default=",".join(cfg.s3_buckets),
        # Matched against each name; the empty alternative admits the empty list (no buckets).
        AllowedPattern=f"^({limits.BUCKET_NAME_PATTERN[1:-1]})?$",
        ConstraintDescription="each must be an S3 bucket name (no *: write access is only "
                              "ever to named buckets)",
        Description="Comma-separated S3 buckets jobs may read, write and delete in (Raster "
                    "Vision's root_uri must be in one). Empty: jobs cannot write to S3."))
    t.add_parameter(Parameter(
        S3_READ_ONLY_BUCKETS, Type="CommaDelimitedList",
        Default=",".join(cfg.s3_read_only_buckets),
        AllowedPattern=f"^({limits.BUCKET_PATTERN[1:-1]})?$",
        ConstraintDescription="each must be an S3 bucket name, or * alone for every bucket",
        Description="Comma-separated S3 buckets jobs may only read (list and get objects); * "
                    "for every bucket, public data sets included. Empty: none beyond S3Buckets."))
    t.add_parameter(Parameter(
        KMS_KEY_ARNS, Type="CommaDelimitedList", Default=",".join(cfg.kms_key_arns),
        AllowedPattern=f"^({limits.KMS_KEY_ARN_PATTERN[1:-1]})?$",
        ConstraintDescription="each must be the ARN of a KMS key (not of an alias)",
        Description="Optional comma-separated KMS key ARNs of buckets encrypted with SSE-KMS: "
                    "jobs may decrypt and generate data keys with these keys only."))


def _not_empty(name: str) -> Not:
    return Not(Equals(Ref(name), ""))


def _list_not_empty(name: str) -> Not:
    # A CommaDelimitedList joins to "" exactly when it is empty (or holds only empty names).
    return Not(Equals(Join("", Ref(name)), ""))


def add_conditions(t: Template) -> None:
    """Conditions derived from the optional parameters."""
    t.add_condition(HAS_KEY_NAME, _not_empty(KEY_NAME))
    t.add_condition(HAS_CIDR_RANGE, _not_empty(CIDR_RANGE))
    t.add_condition(ALLOWS_SSH, And(_not_empty(KEY_NAME), _not_empty(CIDR_RANGE)))
    t.add_condition(HAS_JOB_TIMEOUT, Not(Equals(Ref(JOB_TIMEOUT), "0")))
    t.add_condition(HAS_SERVICE_ROLE, _not_empty(BATCH_SERVICE_ROLE_ARN))
    t.add_condition(HAS_S3_BUCKETS, _list_not_empty(S3_BUCKETS))
    t.add_condition(HAS_S3_READ_ONLY_BUCKETS, _list_not_empty(S3_READ_ONLY_BUCKETS))
    t.add_condition(HAS_KMS_KEYS, _list_not_empty(KMS_KEY_ARNS))
    t.add_condition(HAS_LOG_KMS_KEY, _not_empty(LOG_KMS_KEY_ARN))
    t.add_condition(HAS_SESSION_MANAGER, Equals(Ref(SESSION_MANAGER), "true"))
    t.add_condition(HAS_GPU_ON_DEMAND_QUEUE, Not(Equals(Ref(GPU_ON_DEMAND_MAX_VCPUS), "0")))
    for k in KINDS.values():
        t.add_condition(k.on_spot, Equals(Ref(k.capacity), limits.SPOT))
        t.add_condition(k.has_ami, _not_empty(k.ami))
        t.add_condition(k.uses_ecr, _not_empty(k.repository_name))
    t.add_condition(GPU.creates_repository, And(
        _not_empty(GPU.repository_name), Equals(Ref(GPU.repository_mode), "create")))
    # One repository can serve both kinds (current Raster Vision has one image for CPU and GPU):
    # create the CPU one only when it is a different repository.
    t.add_condition(CPU.creates_repository, And(
        _not_empty(CPU.repository_name), Equals(Ref(CPU.repository_mode), "create"),
        Not(Equals(Ref(CPU.repository_name), Ref(GPU.repository_name)))))


def add_rules(t: Template) -> None:
    """Rules CloudFormation checks before creating anything (the console shows the message)."""
    t.add_rule("DistinctAmis", {
        "RuleCondition": Not(Equals(Ref(GPU.ami), "")),
        "Assertions": [{
            "Assert": Not(Equals(Ref(GPU.ami), Ref(CPU.ami))),
            "AssertDescription": "GpuAMI and CpuAMI must differ: CPU jobs on a GPU AMI fail with "
                                 "CannotStartContainerError. Leave CpuAMI empty for the "
                                 "ECS-optimized AMI.",
        }],
    })
    add_train_rules(t)


def _any(conditions: list[Any]) -> Any:
    """Fn::Or over any number of conditions (Fn::Or takes 2 to 10)."""
    if len(conditions) == 1:
        return conditions[0]
    if len(conditions) <= 10:
        return {"Fn::Or": conditions}
    return _any([_any(conditions[i:i + 10]) for i in range(0, len(conditions), 10)])


TRAIN_RULE = "TrainGpus"


def add_train_rules(t: Template) -> None:
    """TrainGPUs above 1 needs a type (or family) with that many GPUs in GpuInstanceTypes: one
    assertion per distinct set of types that hold them (2 and 4 GPUs: the same types). The rule
    applies when every name listed is in the project's catalogue: a name it does not know is
    trusted, as the config's checks trust it (doctor and the runner check it against EC2)."""
    counts: dict[tuple[str, ...], list[int]] = {}
    for gpus in limits.TRAIN_GPUS[1:]:
        counts.setdefault(instance_types.holding(gpus), []).append(gpus)
    assertions = []
    for names, gpus in counts.items():
        other = [Equals(Ref(TRAIN_GPUS), str(g)) for g in limits.TRAIN_GPUS if g not in gpus]
        listed = [{"Fn::Contains": [Ref(GPU.instance_types), n]} for n in names]
        assertions.append({
            "Assert": _any([*other, *listed]),
            "AssertDescription": (
                f"{TRAIN_GPUS} {' or '.join(map(str, gpus))} needs an instance type with at "
                f"least that many GPUs in {GPU.instance_types}: "
                f"{instance_types.holding_text(min(gpus))}. Or lower {TRAIN_GPUS}."),
        })
    t.add_rule(TRAIN_RULE, {
        "RuleCondition": {"Fn::EachMemberIn": [Ref(GPU.instance_types),
                                               list(instance_types.known_gpu_names())]},
        "Assertions": assertions,
    })


def if_set(condition: str, value: Any) -> If:
    """`value` when `condition` holds, else the property is left out."""
    return If(condition, value, NoValue)


def checkov_skip(check_id: str, reason: str) -> dict:
    """Resource metadata suppressing one checkov check, with the reason written down."""
    return {"checkov": {"skip": [{"id": check_id, "comment": reason}]}}


# AWS's Guard rules registry's CFN_NO_EXPLICIT_RESOURCE_NAMES checks every resource of its types
# (security groups, IAM roles, ECR repositories, ...) once any one of them is not suppressed: its
# type blocks ignore the suppression its filter reads (cloudformation-guard issue 636). So the
# resources of those types that set no name carry the suppression too, with this reason.
NO_NAME_SET = "Sets no name (see docs/security.md)"


def guard_suppress(rule: str, reason: str, *more: tuple[str, str]) -> dict:
    """Resource metadata suppressing rules of AWS's CloudFormation Guard rules registry, in the
    registry's own form (`guard: SuppressedRules`), each with its reason beside it (`Reasons`,
    which cfn-guard ignores); `more` adds (rule, reason) pairs. Merge with checkov_skip's by
    `{**a, **b}`."""
    reasons = dict([(rule, reason), *more])
    return {"guard": {"SuppressedRules": list(reasons), "Reasons": reasons}}


GROUPS = [
    ("Project metadata", [PREFIX]),
    ("Required parameters", [VPC, SUBNET_IDS]),
    ("Instance types", [GPU.instance_types, GPU.capacity, CPU.instance_types, CPU.capacity,
                        GPU.ami, CPU.ami, GPU.storage, CPU.storage]),
    ("Root volume performance (gp3)", [GPU.throughput, GPU.iops, CPU.throughput, CPU.iops]),
    ("Batch compute", [MINIMUM_VCPUS, MAXIMUM_VCPUS, GPU_ON_DEMAND_MAX_VCPUS, SPOT_BID_PERCENTAGE, KEY_NAME, CIDR_RANGE,
                       SESSION_MANAGER, BATCH_SERVICE_ROLE_ARN, UPDATE_JOB_TIMEOUT]),
    ("Container images and jobs", [GPU.hosted_image, CPU.hosted_image, GPU.repository_name,
                                   GPU.repository_mode, CPU.repository_name, CPU.repository_mode,
                                   IMAGE_TAG, GPU.vcpus, GPU.memory, TRAIN_GPUS,
                                   TRAIN_VCPUS, TRAIN_MEMORY,
                                   CPU.vcpus, CPU.memory, SHARED_MEMORY_SIZE, JOB_ATTEMPTS,
                                   JOB_TIMEOUT, LOG_RETENTION_DAYS, LOG_KMS_KEY_ARN,
                                   UNRUNNABLE_JOB_TIMEOUT,
                                   CAPACITY_WAIT_TIMEOUT, NOTIFICATION_EMAIL]),
    ("Data access", [S3_BUCKETS, S3_READ_ONLY_BUCKETS, KMS_KEY_ARNS]),
    ("Budget", [MONTHLY_BUDGET, BUDGET_HARD_STOP]),
]

LABELS = {
    PREFIX: "Prefix",
    VPC: "VPC",
    SUBNET_IDS: "Subnets",
    KEY_NAME: "SSH key name (optional)",
    CIDR_RANGE: "Inbound CIDR range (optional)",
    GPU.instance_types: "GPU instance types",
    GPU.capacity: "GPU capacity",
    CPU.instance_types: "CPU instance types",
    CPU.capacity: "CPU capacity",
    GPU.ami: "GPU AMI (optional)",
    CPU.ami: "CPU AMI (optional)",
    GPU.storage: "GPU root volume (GiB)",
    CPU.storage: "CPU root volume (GiB)",
    GPU.throughput: "GPU root volume throughput (MiB/s)",
    GPU.iops: "GPU root volume IOPS",
    CPU.throughput: "CPU root volume throughput (MiB/s)",
    CPU.iops: "CPU root volume IOPS",
    MINIMUM_VCPUS: "Minimum vCPU count",
    MAXIMUM_VCPUS: "Maximum vCPU count",
    GPU_ON_DEMAND_MAX_VCPUS: "On-demand GPU queue: maximum vCPUs (0: none)",
    SPOT_BID_PERCENTAGE: "Spot bid percentage",
    BATCH_SERVICE_ROLE_ARN: "Batch service role ARN (optional)",
    SESSION_MANAGER: "Session Manager access",
    UPDATE_JOB_TIMEOUT: "Minutes jobs get before an update replaces instances",
    GPU.hosted_image: "GPU hosted image",
    CPU.hosted_image: "CPU hosted image",
    GPU.repository_name: "GPU ECR repository name (optional)",
    CPU.repository_name: "CPU ECR repository name (optional)",
    GPU.repository_mode: "GPU ECR repository: create or existing",
    CPU.repository_mode: "CPU ECR repository: create or existing",
    IMAGE_TAG: "ECR image tag",
    GPU.vcpus: "GPU job vCPUs",
    GPU.memory: "GPU job memory (MiB)",
    TRAIN_GPUS: "Train job GPUs",
    TRAIN_VCPUS: "Train job vCPUs",
    TRAIN_MEMORY: "Train job memory (MiB)",
    CPU.vcpus: "CPU job vCPUs",
    CPU.memory: "CPU job memory (MiB)",
    SHARED_MEMORY_SIZE: "Shared memory (MiB)",
    JOB_ATTEMPTS: "Job attempts",
    JOB_TIMEOUT: "Job timeout (seconds)",
    S3_BUCKETS: "S3 buckets jobs may write (optional)",
    S3_READ_ONLY_BUCKETS: "S3 buckets jobs may only read",
    KMS_KEY_ARNS: "KMS keys of SSE-KMS buckets (optional)",
    LOG_RETENTION_DAYS: "Log retention (days)",
    LOG_KMS_KEY_ARN: "KMS key of the job logs (optional)",
    UNRUNNABLE_JOB_TIMEOUT: "Cancel jobs that cannot run after (minutes)",
    CAPACITY_WAIT_TIMEOUT: "Cancel jobs waiting for capacity after (minutes)",
    NOTIFICATION_EMAIL: "Notification e-mail (optional)",
    MONTHLY_BUDGET: "Monthly budget in USD (optional)",
    BUDGET_HARD_STOP: "Stop new jobs at 100% of the budget",
}


def add_console_metadata(t: Template, groups: list[tuple[str, list[str]]] = GROUPS,
                         labels: dict[str, str] = LABELS) -> None:
    """Parameter groups and labels for the CloudFormation console (the main template's by
    default)."""
    t.set_metadata({"AWS::CloudFormation::Interface": {
        "ParameterGroups": [{"Label": {"default": label}, "Parameters": names}
                            for label, names in groups],
        "ParameterLabels": {name: {"default": label} for name, label in labels.items()},
    }})
