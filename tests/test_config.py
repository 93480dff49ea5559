"""StackConfig validation: every message, exact text, and every problem reported at once."""

from __future__ import annotations

import dataclasses

import pytest

from rv_batch_cfn import ConfigError, StackConfig
from rv_batch_cfn.config import as_dict, from_dict
from rv_batch_cfn.instance_types import lookup

DEFAULT = StackConfig()


def gpu(**changes):
    return dataclasses.replace(DEFAULT, gpu=dataclasses.replace(DEFAULT.gpu, **changes))


def cpu(**changes):
    return dataclasses.replace(DEFAULT, cpu=dataclasses.replace(DEFAULT.cpu, **changes))


def top(**changes):
    return dataclasses.replace(DEFAULT, **changes)


CASES = [
    ("prefix with capitals and dash", top(prefix="My-Team"),
     ["prefix: got 'My-Team'; allowed: lower-case letters and digits, at most 12 characters"]),
    ("prefix too long", top(prefix="abcdefghijklm"),
     ["prefix: got 'abcdefghijklm'; allowed: lower-case letters and digits, at most 12 characters"]),
    ("no instance types", gpu(instance_types=()),
     ["gpu.instance_types: got (); allowed: at least one instance type, e.g. ['g5.2xlarge']"]),
    ("malformed instance type", cpu(instance_types=("m6i.xlarge", "M6I LARGE")),
     ["cpu.instance_types[1]: got 'M6I LARGE'; allowed: an EC2 instance type (m6i.xlarge), a "
      "family (m6i) or 'optimal'"]),
    ("capacity in lower case", gpu(capacity="spot"),
     ["gpu.capacity: got 'spot'; allowed: one of SPOT, ON_DEMAND"]),
    ("short AMI id", gpu(ami="ami-123"),
     ["gpu.ami: got 'ami-123'; allowed: empty (Batch's current ECS-optimized AMI) or an AMI id "
      "like ami-0123456789abcdef0"]),
    ("same AMI for both kinds",
     dataclasses.replace(DEFAULT, gpu=dataclasses.replace(DEFAULT.gpu, ami="ami-0123456789abcdef0"),
                         cpu=dataclasses.replace(DEFAULT.cpu, ami="ami-0123456789abcdef0")),
     ["cpu.ami: got 'ami-0123456789abcdef0'; allowed: an AMI other than gpu.ami; a GPU AMI makes "
      "CPU jobs fail with CannotStartContainerError (leave cpu.ami empty for the ECS-optimized "
      "AMI)"]),
    ("zero job vCPUs", cpu(job_vcpus=0), ["cpu.job_vcpus: got 0; allowed: 1 to 192"]),
    ("tiny job memory", cpu(job_memory_mib=100),
     ["cpu.job_memory_mib: got 100; allowed: 512 to 4194304 MiB",
      "shared_memory_mib: got 8192; allowed: less than cpu.job_memory_mib (100); /dev/shm counts "
      "against it"]),
    ("root volume below the AMI snapshot", gpu(root_volume_gib=20),
     ["gpu.root_volume_gib: got 20; allowed: 30 to 16384 GiB"]),
    ("image with a space", gpu(hosted_image="my image"),
     ["gpu.hosted_image: got 'my image'; allowed: a container image reference without spaces, "
      "e.g. quay.io/azavea/raster-vision:pytorch-0.31"]),
    ("repository name with capitals", gpu(repository_name="Raster_Vision"),
     ["gpu.repository_name: got 'Raster_Vision'; allowed: empty (use the hosted image) or an ECR "
      "repository name: lower-case letters, digits, and . _ - / between them"]),
    ("job needs more vCPUs than the instances have", gpu(job_vcpus=16),
     ["gpu.job_vcpus: got 16; allowed: at most 8 vCPUs, so that every instance type can run the "
      "job (g5.2xlarge offers 8 vCPUs, g6.2xlarge offers 8 vCPUs, g4dn.2xlarge offers 8 vCPUs); "
      "or larger types in gpu.instance_types"]),
    ("job needs more memory than the ECS agent leaves", cpu(job_memory_mib=16000),
     ["cpu.job_memory_mib: got 16000; allowed: at most 15401 MiB, so that every instance type "
      "can run the job (m6i.xlarge offers 15401 MiB, m6a.xlarge offers 15401 MiB, m7i.xlarge "
      "offers 15401 MiB after the ECS agent's reserve of about 6%); or larger types in "
      "cpu.instance_types"]),
    ("GPU kind on a CPU instance type", gpu(instance_types=("g5.2xlarge", "m6i.2xlarge")),
     ["gpu.instance_types: got 'm6i.2xlarge'; allowed: an EC2 instance type (g5.2xlarge) or "
      "family (g5) with a GPU; not 'optimal', which picks only C, M and R types, without GPUs"]),
    ("GPU kind on a CPU family", gpu(instance_types=("m6i",)),
     ["gpu.instance_types: got 'm6i'; allowed: an EC2 instance type (g5.2xlarge) or family (g5) "
      "with a GPU; not 'optimal', which picks only C, M and R types, without GPUs"]),
    ("GPU kind on optimal", gpu(instance_types=("optimal",)),
     ["gpu.instance_types[0]: got 'optimal'; allowed: an EC2 instance type (g5.2xlarge) or "
      "family (g5) with a GPU; not 'optimal', which picks only C, M and R types, without GPUs"]),
    ("every bucket and one more, read-only", top(s3_read_only_buckets=("*", "my-bucket")),
     ["s3_read_only_buckets: got ('*', 'my-bucket'); allowed: '*' alone (every bucket) or "
      "bucket names without '*'"]),
    ("write access to every bucket", top(s3_buckets=("*",)),
     ["s3_buckets[0]: got '*'; allowed: an S3 bucket name (3-63 lower-case letters, digits, . -); "
      "jobs may write and delete here, so never '*' (s3_read_only_buckets can be '*')"]),
    ("write access to a bucket pattern", top(s3_buckets=("rv-*",)),
     ["s3_buckets[0]: got 'rv-*'; allowed: an S3 bucket name (3-63 lower-case letters, digits, "
      ". -); jobs may write and delete here, so never '*' (s3_read_only_buckets can be '*')"]),
    ("a KMS alias instead of a key", top(kms_key_arns=("arn:aws:kms:us-east-1:123456789012:"
                                                       "alias/data",)),
     ["kms_key_arns[0]: got 'arn:aws:kms:us-east-1:123456789012:alias/data'; allowed: a KMS key "
      "ARN such as arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab "
      "(an alias ARN does not work in IAM policies)"]),
    ("a log key that is an alias", top(log_kms_key_arn="arn:aws:kms:us-east-1:123456789012:"
                                                       "alias/logs"),
     ["log_kms_key_arn: got 'arn:aws:kms:us-east-1:123456789012:alias/logs'; allowed: '' or a "
      "KMS key ARN such as arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-"
      "1234567890ab (CloudWatch Logs takes no alias)"]),
    ("repository mode misspelled", gpu(repository_name="rv", repository_mode="exists"),
     ["gpu.repository_mode: got 'exists'; allowed: create (the stack creates the repository) or "
      "existing (it already exists, e.g. retained from a deleted stack)"]),
    ("update timeout beyond Batch's maximum", top(update_job_timeout_minutes=7201),
     ["update_job_timeout_minutes: got 7201; allowed: 1 to 7200 minutes"]),
    ("update timeout of zero", top(update_job_timeout_minutes=0),
     ["update_job_timeout_minutes: got 0; allowed: 1 to 7200 minutes"]),
    ("maximum vCPUs no account has", top(max_vcpus=8_000_000),
     ["max_vcpus: got 8000000; allowed: 1 to 100000"]),
    ("minimum vCPUs no account has", top(min_vcpus=200_000, max_vcpus=200_000),
     ["max_vcpus: got 200000; allowed: 1 to 100000",
      "min_vcpus: got 200000; allowed: 0 to 100000"]),
    ("job memory no instance has", gpu(job_memory_mib=5_000_000),
     ["gpu.job_memory_mib: got 5000000; allowed: 512 to 4194304 MiB"]),
    ("shared memory no instance has", top(shared_memory_mib=5_000_000),
     ["shared_memory_mib: got 5000000; allowed: 64 to 4194304 MiB"]),
    ("timeout beyond the parameter's nine digits", top(job_timeout_seconds=1_000_000_000),
     ["job_timeout_seconds: got 1000000000; allowed: 0 (no timeout) or 60 to 999999999 seconds"]),
    ("not a number: NaN", top(max_vcpus=float("nan")),
     ["max_vcpus: got nan; allowed: a whole number"]),
    ("not a number: infinity", gpu(job_memory_mib=float("inf")),
     ["gpu.job_memory_mib: got inf; allowed: a whole number"]),
    ("not a whole number", top(update_job_timeout_minutes=90.5),
     ["update_job_timeout_minutes: got 90.5; allowed: a whole number"]),
    ("session manager as text", top(session_manager="true"),
     ["session_manager: got 'true'; allowed: true or false"]),
    ("number given as text in Python", top(max_vcpus="80"),
     ["max_vcpus: got '80'; allowed: a whole number"]),
    ("None for a string", top(prefix=None), ["prefix: got None; allowed: a string"]),
    ("one bucket name instead of a list", top(s3_buckets="my-bucket"),
     ["s3_buckets: got 'my-bucket'; allowed: a list of strings, e.g. ('my-bucket',)"]),
    ("a kind that is not a ComputeConfig", top(gpu="g5.2xlarge"),
     ["gpu: got 'g5.2xlarge'; allowed: a ComputeConfig"]),
    ("a float for a whole number", gpu(job_vcpus=8.0),
     ["gpu.job_vcpus: got 8.0; allowed: a whole number"]),
    ("negative minimum vCPUs", top(min_vcpus=-1), ["min_vcpus: got -1; allowed: 0 to 100000"]),
    ("an on-demand GPU queue too small for one GPU job", top(gpu_on_demand_max_vcpus=4),
     ["gpu_on_demand_max_vcpus: got 4; allowed: 0 (no on-demand GPU queue) or at least "
      "gpu.job_vcpus (8), or no job of that queue can ever start"]),
    ("an on-demand GPU queue no account has", top(gpu_on_demand_max_vcpus=100_001),
     ["gpu_on_demand_max_vcpus: got 100001; allowed: 0 to 100000"]),
    ("maximum below minimum", top(min_vcpus=100, max_vcpus=90),
     ["max_vcpus: got 90; allowed: at least min_vcpus (100) and at least 1"]),
    ("maximum below a job's vCPUs", top(max_vcpus=6),
     ["max_vcpus: got 6; allowed: at least gpu.job_vcpus (8), or no gpu job can ever start"]),
    ("zero spot bid", top(spot_bid_percentage=0),
     ["spot_bid_percentage: got 0; allowed: 1 to 100 (% of on-demand price)"]),
    ("tag starting with a dot", top(image_tag=".bad"),
     ["image_tag: got '.bad'; allowed: a Docker tag: letters, digits, _ . - (not first), at most "
      "128 characters"]),
    ("tiny shared memory", top(shared_memory_mib=10),
     ["shared_memory_mib: got 10; allowed: 64 to 4194304 MiB"]),
    ("shared memory as large as a job", top(shared_memory_mib=14000),
     ["shared_memory_mib: got 14000; allowed: less than cpu.job_memory_mib (14000); /dev/shm "
      "counts against it"]),
    ("too many attempts", top(job_attempts=11), ["job_attempts: got 11; allowed: 1 to 10"]),
    ("timeout under a minute", top(job_timeout_seconds=30),
     ["job_timeout_seconds: got 30; allowed: 0 (no timeout) or 60 to 999999999 seconds"]),
    ("bucket with capitals", top(s3_buckets=("ok-bucket", "Bad_Bucket")),
     ["s3_buckets[1]: got 'Bad_Bucket'; allowed: an S3 bucket name (3-63 lower-case letters, "
      "digits, . -); jobs may write and delete here, so never '*' (s3_read_only_buckets can be "
      "'*')"]),
    ("retention CloudWatch does not offer", top(log_retention_days=10),
     ["log_retention_days: got 10; allowed: one of 1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, "
      "365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653"]),
    ("ingress from everywhere", top(cidr_range="0.0.0.0/0"),
     ["cidr_range: got '0.0.0.0/0'; allowed: empty (no inbound traffic at all) or an IPv4 CIDR "
      "range such as 203.0.113.0/24, narrower than 0.0.0.0/0"]),
    ("address out of range", top(cidr_range="10.0.0.300/8"),
     ["cidr_range: got '10.0.0.300/8'; allowed: empty (no inbound traffic at all) or an IPv4 "
      "CIDR range such as 203.0.113.0/24, narrower than 0.0.0.0/0"]),
    ("address without a mask", top(cidr_range="10.0.0.1"),
     ["cidr_range: got '10.0.0.1'; allowed: empty (no inbound traffic at all) or an IPv4 CIDR "
      "range such as 203.0.113.0/24, narrower than 0.0.0.0/0"]),
    ("key name not ASCII", top(key_name="ключ"),
     ["key_name: got 'ключ'; allowed: empty (no key pair) or an EC2 key pair name of printable "
      "ASCII"]),
    ("service role given as a name", top(batch_service_role_arn="AWSBatchServiceRole"),
     ["batch_service_role_arn: got 'AWSBatchServiceRole'; allowed: empty (the "
      "AWSServiceRoleForBatch service-linked role) or an IAM role ARN"]),
]


@pytest.mark.parametrize("name,config,messages", CASES, ids=[c[0] for c in CASES])
def test_validation_message(name, config, messages):
    with pytest.raises(ConfigError) as raised:
        config.validate()
    assert [str(p) for p in raised.value.problems] == messages


def test_every_problem_is_reported_at_once():
    config = dataclasses.replace(top(prefix="Bad!", job_attempts=0, cidr_range="0.0.0.0/0"))
    with pytest.raises(ConfigError) as raised:
        config.validate()
    assert [p.field for p in raised.value.problems] == ["prefix", "job_attempts", "cidr_range"]
    assert str(raised.value).startswith("3 problems in the configuration:\n  - prefix: got 'Bad!'")


def test_defaults_are_valid_and_every_default_job_fits_every_default_instance_type():
    assert DEFAULT.validate() is DEFAULT
    for kind, compute in DEFAULT.kinds():
        for name in compute.instance_types:
            instance = lookup(name)
            assert instance is not None, f"{name} missing from the instance table"
            assert compute.job_vcpus <= instance.vcpus, (kind, name)
            assert compute.job_memory_mib <= instance.job_memory_mib, (kind, name)
            assert DEFAULT.shared_memory_mib < compute.job_memory_mib
            assert (instance.gpus >= 1) == (kind == "gpu"), name


def test_default_instance_types_are_current_generation():
    previous_generation = ("p2", "p3", "g3", "g4ad", "m4", "c4", "r4", "m5", "c5", "r5")
    for _, compute in DEFAULT.kinds():
        for name in compute.instance_types:
            assert name.split(".")[0] not in previous_generation, name


def test_unknown_instance_types_are_trusted():
    # Only types the table knows are fit-checked; `doctor` checks the rest against EC2.
    assert gpu(instance_types=("g7.2xlarge",)).validate()


FILE_CASES = [
    ("unknown key with a suggestion", {"prefx": "a"},
     "prefx: got 'a'; unknown key; did you mean 'prefix'? allowed keys: prefix, gpu, cpu, "
     "train, min_vcpus, max_vcpus, spot_bid_percentage, image_tag, shared_memory_mib, "
     "job_attempts, job_timeout_seconds, s3_buckets, log_retention_days, cidr_range, key_name, "
     "batch_service_role_arn, s3_read_only_buckets, kms_key_arns, update_job_timeout_minutes, "
     "session_manager, unrunnable_job_timeout_minutes, capacity_wait_timeout_minutes, "
     "gpu_on_demand_max_vcpus, notification_email, log_kms_key_arn, monthly_budget_usd, "
     "budget_hard_stop"),
    ("unknown nested key", {"gpu": {"memory": 3}},
     "gpu.memory: got 3; unknown key; did you mean 'job_memory_mib'? allowed keys: "
     "instance_types, job_vcpus, job_memory_mib, root_volume_gib, capacity, ami, hosted_image, "
     "repository_name, repository_mode, root_volume_throughput_mibs, root_volume_iops"),
    ("number given as text", {"gpu": {"job_vcpus": "8"}},
     "gpu.job_vcpus: got '8'; allowed: a whole number"),
    ("boolean is not a number", {"max_vcpus": True}, "max_vcpus: got True; allowed: a whole number"),
    ("a number with a fraction", {"max_vcpus": 80.5},
     "max_vcpus: got 80.5; allowed: a whole number"),
    ("not a number from YAML (.nan)", {"gpu": {"job_vcpus": float("nan")}},
     "gpu.job_vcpus: got nan; allowed: a whole number"),
    ("text for a boolean", {"session_manager": "yes"},
     "session_manager: got 'yes'; allowed: true or false"),
    ("a number for a boolean", {"session_manager": 1},
     "session_manager: got 1; allowed: true or false"),
    ("list of numbers", {"s3_buckets": [1, 2]}, "s3_buckets: got [1, 2]; allowed: a list of strings"),
    ("kind is not a mapping", {"gpu": 3}, "gpu: got 3; allowed: a mapping of keys to values"),
    ("top level is a list", [1], "(top level): got [1]; allowed: a mapping of keys to values"),
    ("valid shape, invalid value", {"prefix": "UPPER"},
     "prefix: got 'UPPER'; allowed: lower-case letters and digits, at most 12 characters"),
]


@pytest.mark.parametrize("name,data,message", FILE_CASES, ids=[c[0] for c in FILE_CASES])
def test_from_dict_messages(name, data, message):
    with pytest.raises(ConfigError) as raised:
        from_dict(data)
    assert [str(p) for p in raised.value.problems] == [message]


def test_from_dict_merges_over_the_defaults_and_round_trips():
    config = from_dict({"prefix": "team", "gpu": {"capacity": "ON_DEMAND"},
                        "s3_buckets": "a-bucket, b-bucket"})
    assert config.prefix == "team"
    assert config.gpu.capacity == "ON_DEMAND"
    assert config.gpu.instance_types == DEFAULT.gpu.instance_types  # kept from the defaults
    assert config.s3_buckets == ("a-bucket", "b-bucket")  # the console's comma-separated form
    assert from_dict(as_dict(config)) == config


def test_from_dict_reports_shape_and_value_problems_together():
    with pytest.raises(ConfigError) as raised:
        from_dict({"prefx": "geo", "gpu": {"instance_types": ["g6e.2xlarge", "g5.4xlarge"],
                                           "job_memory_mib": 64000}})
    assert [p.field for p in raised.value.problems] == ["prefx", "gpu.job_memory_mib"]
    assert "at most 61604 MiB, so that every instance type" in str(raised.value.problems[1])
