"""What a valid stack is: every rule a config must keep, each reported as a Problem naming the
field, the value given and what is allowed. Nothing stops at the first problem.

`StackConfig.validate()` and `from_dict` run these; `gp3_ratio_problems` also serves `deploy`'s
checks of parameter values. The bounds are limits.py's.
"""

from __future__ import annotations

import dataclasses
import difflib
import ipaddress
import re
from dataclasses import fields
from typing import TYPE_CHECKING, Any, Callable, Sequence, get_origin, get_type_hints

from .. import instance_types
from ..errors import Problem
from .limits import (
    AMI_PATTERN, ATTEMPTS, BUCKET_NAME_PATTERN, BUCKET_PATTERN, CAPACITIES, EMAIL_PATTERN,
    GP3_IOPS, GP3_IOPS_PER_GIB, GP3_IOPS_PER_MIBS, GP3_THROUGHPUT_MIBS, GPU_TYPES_ALLOWED,
    HOSTED_IMAGE, IMAGE_PATTERN, IMAGE_TAG_PATTERN, INSTANCE_TYPE_PATTERNS, JOB_MEMORY_MIB,
    JOB_VCPUS, KEY_NAME_PATTERN, KMS_KEY_ARN_PATTERN, LOG_RETENTION_DAYS, MAX_TIMEOUT_SECONDS,
    MIN_TIMEOUT_SECONDS, MONTHLY_BUDGET_USD, PREFIX_PATTERN, REPOSITORY_MODES,
    REPOSITORY_PATTERN, ROLE_ARN_PATTERN, ROOT_VOLUME_GIB, SHARED_MEMORY_MIB,
    SPOT_BID_PERCENTAGE, TIME_LIMIT_MINUTES, TRAIN_GPUS,
    UPDATE_TIMEOUT_MINUTES, VCPUS,
)

if TYPE_CHECKING:  # annotations only: model.py imports this module to validate
    from .model import ComputeConfig, StackConfig, TrainSize


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


# The names a train size's problems use: the config's fields (deploy's checks pass the
# template's parameters instead).
TRAIN_FIELDS = {"gpus": "train.gpus", "vcpus": "train.vcpus", "memory": "train.memory_mib",
                "types": "gpu.instance_types"}


def _train_problems(t: TrainSize, gpu_types: Sequence[str]) -> list[Problem]:
    p: list[Problem] = []
    if t.gpus not in TRAIN_GPUS:
        p.append(Problem("train.gpus", t.gpus,
                         "allowed: one of " + ", ".join(map(str, TRAIN_GPUS))))
    _between(p, "train.vcpus", t.vcpus, *JOB_VCPUS)
    _between(p, "train.memory_mib", t.memory_mib, *JOB_MEMORY_MIB, " MiB")
    if not p:  # the fit only of a size within its bounds
        p.extend(train_fit_problems(t.gpus, t.vcpus, t.memory_mib, gpu_types))
    return p


def train_fit_problems(gpus: int, vcpus: int, memory_mib: int, names: Sequence[str],
                       fields: dict[str, str] = TRAIN_FIELDS) -> list[Problem]:
    """A train size no instance type of `names` (the GPU kind's types and families) holds on
    one instance: it would wait in RUNNABLE forever. The problem names the types with their
    GPUs, vCPUs and memory, and those of this project's catalogue that hold the GPUs. Names the
    catalogue does not know are trusted (as for the GPU job): nothing is said when one is
    listed. `fields`: the names to use for the size and the types (config fields, or the
    template's parameters)."""
    listed = [instance_types.members(n) for n in names]
    if not names or any(not m for m in listed):
        return []
    concrete = list(dict.fromkeys(t for m in listed for t in m))
    if not any(t.gpus for t in concrete) or any(t.fits(vcpus, memory_mib, gpus) for t in concrete):
        return []  # types without any GPU are the GPU kind's problem
    offered = ", ".join(instance_types.describe_gpus(t) for t in concrete)
    with_gpus = [t for t in concrete if t.gpus >= gpus]
    if not with_gpus:
        holding = instance_types.holding_text(gpus)
        return [Problem(fields["gpus"], gpus,
                        f"allowed: at most {max(t.gpus for t in concrete)}, the most GPUs one "
                        f"instance of {fields['types']} has ({offered}); or add a type or "
                        f"family with at least {gpus} GPUs to {fields['types']}: {holding}")]
    p = []
    if vcpus > max(t.vcpus for t in with_gpus):
        p.append(Problem(fields["vcpus"], vcpus,
                         f"allowed: at most {max(t.vcpus for t in with_gpus)}, the most vCPUs "
                         f"of a type with {gpus} GPUs or more in {fields['types']} ("
                         + ", ".join(instance_types.describe_gpus(t) for t in with_gpus)
                         + f"); or a larger type in {fields['types']}"))
    enough = [t for t in with_gpus if t.vcpus >= vcpus]
    with_vcpus = f" and {vcpus} vCPUs" if enough else ""
    enough = enough or with_gpus
    most = max(t.job_memory_mib for t in enough)
    if memory_mib > most:
        p.append(Problem(fields["memory"], memory_mib,
                         f"allowed: at most {most} MiB, the most a type with {gpus} GPUs or "
                         f"more{with_vcpus} in {fields['types']} leaves jobs after the ECS "
                         "agent's reserve of about 6% ("
                         + ", ".join(instance_types.describe_gpus(t) for t in enough)
                         + f"); or a larger type in {fields['types']}"))
    return p


def value_problems(cfg: StackConfig) -> list[Problem]:
    """Every rule a well-typed config breaks, in the order of its fields."""
    p: list[Problem] = []
    _pattern(p, "prefix", cfg.prefix, PREFIX_PATTERN,
             "allowed: lower-case letters and digits, at most 12 characters")
    for kind, compute in cfg.kinds():
        p.extend(_compute_problems(kind, compute))
    p.extend(_train_problems(cfg.train, cfg.gpu.instance_types))
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
        if cfg.max_vcpus < cfg.train.vcpus and cfg.train.vcpus > cfg.gpu.job_vcpus:
            p.append(Problem("max_vcpus", cfg.max_vcpus,
                             f"allowed: at least train.vcpus ({cfg.train.vcpus}), or no train "
                             "job can ever start"))
    if _between(p, "gpu_on_demand_max_vcpus", cfg.gpu_on_demand_max_vcpus, 0, VCPUS[1]) and (
            0 < cfg.gpu_on_demand_max_vcpus < cfg.gpu.job_vcpus):
        p.append(Problem("gpu_on_demand_max_vcpus", cfg.gpu_on_demand_max_vcpus,
                         f"allowed: 0 (no on-demand GPU queue) or at least gpu.job_vcpus "
                         f"({cfg.gpu.job_vcpus}), or no job of that queue can ever start"))
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
        # (a train size of the GPU job's memory has had its message above)
        if cfg.train.memory_mib <= cfg.shared_memory_mib and (
                cfg.train.memory_mib != cfg.gpu.job_memory_mib):
            p.append(Problem("shared_memory_mib", cfg.shared_memory_mib,
                             f"allowed: less than train.memory_mib ({cfg.train.memory_mib}); "
                             "/dev/shm counts against it"))
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
    _between(p, "monthly_budget_usd", cfg.monthly_budget_usd, *MONTHLY_BUDGET_USD,
             " USD a month (0: no budget)")
    if cfg.budget_hard_stop and cfg.monthly_budget_usd == 0:
        p.append(Problem("budget_hard_stop", cfg.budget_hard_stop,
                         "allowed: true only with a monthly_budget_usd above 0 (the stop acts at "
                         "100% of the budget)"))
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
    if cfg.log_kms_key_arn:
        _pattern(p, "log_kms_key_arn", cfg.log_kms_key_arn, KMS_KEY_ARN_PATTERN,
                 "allowed: '' or a KMS key ARN such as arn:aws:kms:us-east-1:123456789012:key/"
                 "1234abcd-12ab-34cd-56ef-1234567890ab (CloudWatch Logs takes no alias)")
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
# Field types: a config built in Python may hold a value of the wrong type anywhere.


def did_you_mean(key: object, names: Sequence[str]) -> str:
    """The start of the message for an unknown key, field or parameter name: "did you mean
    'GpuAMI'? " for the closest name (case ignored), or '' when none is close. The config's
    keys and fields and deploy's --param names all use this one."""
    by_lower = {str(name).lower(): str(name) for name in names}
    wanted = str(key).lower()
    if wanted in by_lower:
        return f"did you mean {by_lower[wanted]!r}? "
    close = difflib.get_close_matches(wanted, list(by_lower), n=1)
    return f"did you mean {by_lower[close[0]]!r}? " if close else ""


# What convert() returns for a value of the wrong type (None is a value).
INVALID = object()


def convert(hint: Any, value: Any) -> Any:
    """`value` as a field of type `hint` holds it (a list as a tuple, "a,b" as two strings), or
    INVALID when it is not of that type."""
    if hint is bool:
        return value if isinstance(value, bool) else INVALID
    if hint is int:
        return value if isinstance(value, int) and not isinstance(value, bool) else INVALID
    if hint is str:
        return value if isinstance(value, str) else INVALID
    if get_origin(hint) is tuple:
        if isinstance(value, str):  # "a,b" as in the console's comma-delimited fields
            value = [v.strip() for v in value.split(",") if v.strip()]
        if not isinstance(value, (list, tuple)) or not all(isinstance(v, str) for v in value):
            return INVALID
        return tuple(value)
    return INVALID  # pragma: no cover - every field type is handled above


def type_problems(obj: Any, path: str = "") -> list[Problem]:
    """Fields of a dataclass built in Python (not from_dict) whose values have the wrong type."""
    problems: list[Problem] = []
    hints = get_type_hints(type(obj))
    for f in fields(obj):
        value, hint, where = getattr(obj, f.name), hints[f.name], f"{path}{f.name}"
        if dataclasses.is_dataclass(hint):
            if isinstance(value, hint):
                problems.extend(type_problems(value, where + "."))
            else:
                problems.append(Problem(where, value, f"allowed: a {hint.__name__}"))
        elif isinstance(value, str) and get_origin(hint) is tuple:
            problems.append(Problem(where, value, f"allowed: {describe(hint)}, e.g. ({value!r},)"))
        elif convert(hint, value) is INVALID:
            problems.append(Problem(where, value, f"allowed: {describe(hint)}"))
    return problems


def describe(hint: Any) -> str:
    """A field type in the words of an error message."""
    if hint is bool:
        return "true or false"
    if hint is int:
        return "a whole number"
    if hint is str:
        return "a string"
    return "a list of strings"
