"""Parameters, console metadata and Rules, read from the generated template."""

from __future__ import annotations

import re

import pytest

from rv_batch_cfn import StackConfig, build_template, render_yaml
from tests.emulator import load_template
from tests.template.helpers import INTERFACE, PARAMETERS, template
from tests.named_configs import CUSTOM_FAMILIES

TEMPLATE = template()

# Names of the original raster-vision-aws template that keep their meaning, so an existing stack
# can be updated with the new template.
ORIGINAL_NAMES = ["Prefix", "VPC", "SubnetIds", "KeyName", "GpuAMI", "CpuAMI", "GpuInstanceTypes",
                  "CpuInstanceTypes", "MinimumVCPUs", "MaximumVCPUs", "CidrRange",
                  "SpotFleetBidPercentage", "GpuRepositoryName", "CpuRepositoryName", "ImageTag",
                  "GPUInstanceVCPUs", "GPUInstanceMemory", "GPUInstanceStorage", "CPUInstanceVCPUs",
                  "CPUInstanceMemory", "CPUInstanceStorage"]
NEW_NAMES = ["GpuCapacity", "CpuCapacity", "GpuImage", "CpuImage", "SharedMemorySize",
             "JobAttempts", "JobTimeout", "S3Buckets", "LogRetentionDays", "BatchServiceRoleArn",
             "S3ReadOnlyBuckets", "S3KmsKeyArns", "UpdateJobTimeoutMinutes", "EnableSessionManager",
             "GpuRepositoryMode", "CpuRepositoryMode", "GPURootVolumeThroughput",
             "GPURootVolumeIops", "CPURootVolumeThroughput", "CPURootVolumeIops",
             "UnrunnableJobTimeout", "CapacityWaitTimeout", "NotificationEmail", "LogKmsKeyArn",
             "TrainGPUs", "TrainVCPUs", "TrainMemory", "GpuOnDemandMaximumVCPUs",
             "MonthlyBudget", "BudgetHardStop"]


def test_parameter_names_are_the_original_ones_plus_the_new_ones():
    assert sorted(PARAMETERS) == sorted(ORIGINAL_NAMES + NEW_NAMES)
    assert "DesiredVCPUs" not in PARAMETERS  # lowering it in an update fails


def test_only_vpc_and_subnets_are_required():
    assert sorted(n for n, p in PARAMETERS.items() if "Default" not in p) == ["SubnetIds", "VPC"]


@pytest.mark.parametrize("name", sorted(PARAMETERS))
def test_every_parameter_has_description_label_and_constraint(name):
    p = PARAMETERS[name]
    assert len(p["Description"]) > 20
    assert INTERFACE["ParameterLabels"][name]["default"]
    typed = p["Type"].startswith(("AWS::", "List<AWS::"))
    constrained = {"AllowedPattern", "AllowedValues", "MinValue"} & set(p)
    assert typed or constrained, name
    if {"AllowedPattern", "MinValue", "MaxValue"} & set(p):
        assert p.get("ConstraintDescription"), name


def test_groups_keep_the_original_order_and_cover_every_parameter():
    labels = [g["Label"]["default"] for g in INTERFACE["ParameterGroups"]]
    assert labels == ["Project metadata", "Required parameters", "Instance types",
                      "Root volume performance (gp3)", "Batch compute",
                      "Container images and jobs", "Data access", "Budget"]
    grouped = [n for g in INTERFACE["ParameterGroups"] for n in g["Parameters"]]
    assert sorted(grouped) == sorted(PARAMETERS)
    assert len(grouped) == len(set(grouped))


@pytest.mark.parametrize("name", [n for n, p in PARAMETERS.items() if "Default" in p])
def test_defaults_satisfy_their_own_constraints(name):
    p = PARAMETERS[name]
    default = str(p["Default"])
    if "AllowedPattern" in p:
        values = default.split(",") if p["Type"] == "CommaDelimitedList" else [default]
        assert all(re.fullmatch(p["AllowedPattern"], v) for v in values), (name, default)
    if "AllowedValues" in p:
        assert default in [str(v) for v in p["AllowedValues"]]
    if "MinValue" in p:
        assert float(default) >= float(p["MinValue"])
    if "MaxValue" in p:
        assert float(default) <= float(p["MaxValue"])


@pytest.mark.parametrize("name,good,bad", [
    ("Prefix", ["", "team1", "abcdefghijkl"], ["Team", "my-team", "abcdefghijklm"]),
    ("GpuAMI", ["", "ami-12345678", "ami-0123456789abcdef0"], ["ami-123", "AMI-12345678", "x"]),
    ("CidrRange", ["", "203.0.113.0/24", "10.0.0.1/32"],
     ["0.0.0.0/0", "10.0.0.1", "300.1.1.1/8", "10.0.0.0/33"]),
    ("GpuRepositoryName", ["", "raster-vision", "team/rv.gpu"], ["Raster", "-rv", "rv-"]),
    ("ImageTag", ["latest", "v1.2_3"], ["", ".hidden", "a b"]),
    # On lists the pattern applies to each element.
    ("GpuInstanceTypes", ["g5.2xlarge", "g6"], ["G5.2XLARGE", "g5 .2xlarge", ""]),
    # Write access only ever to named buckets; read-only access may be to every bucket. The
    # empty member is the empty list (CloudFormation matches "" against the pattern).
    ("S3Buckets", ["", "my-bucket", "data.example.org"],
     ["*", "my-*", "My_Bucket", "ab", "s3://x"]),
    ("S3ReadOnlyBuckets", ["", "*", "my-bucket"], ["my-*", "**", "My_Bucket", "s3://x"]),
    ("S3KmsKeyArns", ["", "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-"
                          "1234567890ab", "arn:aws-us-gov:kms:us-gov-west-1:123456789012:key/"
                          "mrk-1234abcd12ab34cd56ef1234567890ab"],
     ["*", "arn:aws:kms:us-east-1:123456789012:alias/s3", "arn:aws:kms:*:*:key/*",
      "1234abcd-12ab-34cd-56ef-1234567890ab"]),
    ("LogKmsKeyArn", ["", "arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-"
                          "1234567890ab"],
     ["arn:aws:kms:us-east-1:123456789012:alias/logs", "1234abcd-12ab-34cd-56ef-1234567890ab",
      "arn:aws:kms:us-east-1:123456789012:key/a,arn:aws:kms:us-east-1:123456789012:key/b"]),
    # Batch refuses attempt durations under a minute.
    ("JobTimeout", ["0", "60", "86400"], ["30", "59", "059", "-1", "", "1.5"]),
    # optimal picks only C, M and R types, none of which has a GPU.
    ("CpuInstanceTypes", ["m6i.xlarge", "c7i", "optimal"], ["M6I", ""]),
    ("GpuInstanceTypes", ["g5.2xlarge", "p4d.24xlarge", "g6e"], ["optimal", "gpu"]),
    ("NotificationEmail", ["", "team@example.com", "first.last+rv@mail.example.co.uk"],
     ["team", "team@", "@example.com", "team@example", "a b@example.com", "x@y.c", " "]),
])
def test_console_refuses_bad_input(name, good, bad):
    pattern = PARAMETERS[name]["AllowedPattern"]
    assert all(re.fullmatch(pattern, v) for v in good)
    assert not any(re.fullmatch(pattern, v) for v in bad)


@pytest.mark.parametrize("name", [n for n, p in PARAMETERS.items() if p["Type"] == "Number"])
def test_every_number_has_bounds_and_they_match_the_configs(name):
    """A Number without MaxValue lets the console send values no account can have; the bounds
    are config's, so StackConfig.validate() refuses what CloudFormation would."""
    p = PARAMETERS[name]
    assert "MinValue" in p and "MaxValue" in p, name
    assert float(p["MinValue"]) <= float(p["Default"]) <= float(p["MaxValue"])


def test_defaults_come_from_the_config():
    custom = load_template(render_yaml(build_template(CUSTOM_FAMILIES)))["Parameters"]
    assert custom["Prefix"]["Default"] == "geo"
    assert custom["GpuInstanceTypes"]["Default"] == "g6e.2xlarge,g5.4xlarge"
    assert custom["CpuCapacity"]["Default"] == "ON_DEMAND"
    assert custom["S3Buckets"]["Default"] == "geo-training-data,geo-experiments"
    assert str(custom["JobTimeout"]["Default"]) == "86400"
    assert custom["S3ReadOnlyBuckets"]["Default"] == "geo-public-imagery"
    assert custom["UpdateJobTimeoutMinutes"]["Default"] == 2880
    assert custom["EnableSessionManager"]["Default"] == "true"
    # The console template: no write access, read access everywhere, a day for running jobs.
    assert PARAMETERS["S3Buckets"]["Default"] == ""
    assert PARAMETERS["S3ReadOnlyBuckets"]["Default"] == "*"
    assert PARAMETERS["S3KmsKeyArns"]["Default"] == ""
    assert PARAMETERS["UpdateJobTimeoutMinutes"]["Default"] == 1440
    assert PARAMETERS["EnableSessionManager"]["Default"] == "false"
    assert PARAMETERS["GpuImage"]["Default"] == StackConfig().gpu.hosted_image


# -- Rules: moto ignores them, so each assertion is evaluated here for the defaults, a good
# combination and the bad one it exists to refuse.

def evaluate(expr, params):
    """A small evaluator of the functions CloudFormation allows in Rules (a list parameter's
    Ref is its values, as CloudFormation splits them)."""
    if isinstance(expr, dict):
        (fn, arg), = expr.items()
        if fn == "Ref":
            if PARAMETERS[arg]["Type"] == "CommaDelimitedList":
                return [v.strip() for v in params[arg].split(",")]
            return params[arg]
        if fn == "Fn::Contains":
            values, wanted = (evaluate(x, params) for x in arg)
            return wanted in values
        if fn == "Fn::EachMemberIn":
            values, allowed = (evaluate(x, params) for x in arg)
            return all(v in allowed for v in values)
        if fn == "Fn::Equals":
            a, b = (evaluate(x, params) for x in arg)
            return a == b
        if fn == "Fn::Not":
            return not evaluate(arg[0], params)
        if fn == "Fn::And":
            return all(evaluate(x, params) for x in arg)
        if fn == "Fn::Or":
            return any(evaluate(x, params) for x in arg)
        raise AssertionError(f"unexpected function {fn} in a rule")
    return expr


def rule_failures(params):
    values = {n: str(p.get("Default", "")) for n, p in PARAMETERS.items()}
    values.update(params)
    failures = []
    for name, rule in TEMPLATE["Rules"].items():
        if "RuleCondition" in rule and not evaluate(rule["RuleCondition"], values):
            continue
        failures += [a["AssertDescription"] for a in rule["Assertions"]
                     if not evaluate(a["Assert"], values)]
    return failures


@pytest.mark.parametrize("params,refused", [
    ({}, False),
    ({"GpuAMI": "ami-0123456789abcdef0"}, False),
    ({"GpuAMI": "ami-0123456789abcdef0", "CpuAMI": "ami-0fedcba9876543210"}, False),
    ({"CpuAMI": "ami-0fedcba9876543210"}, False),
    ({"GpuAMI": "ami-0123456789abcdef0", "CpuAMI": "ami-0123456789abcdef0"}, True),
], ids=["defaults", "gpu-ami-only", "two-amis", "cpu-ami-only", "same-ami"])
def test_distinct_amis_rule(params, refused):
    failures = rule_failures(params)
    assert bool(failures) == refused
    if refused:
        assert "CannotStartContainerError" in failures[0]


# A train size of 4 or 8 GPUs needs a type (or family) with that many in GpuInstanceTypes.
# Each rule's assertion for the defaults, good combinations and the bad ones it exists for.
@pytest.mark.parametrize("params,refused", [
    ({}, None),
    ({"TrainGPUs": "4", "GpuInstanceTypes": "g5.2xlarge,g5.12xlarge"}, None),
    ({"TrainGPUs": "2", "GpuInstanceTypes": "g6.12xlarge"}, None),
    ({"TrainGPUs": "8", "GpuInstanceTypes": "g5.2xlarge,g6e"}, None),  # g6e.48xlarge
    ({"TrainGPUs": "8", "GpuInstanceTypes": "g4dn.metal"}, None),
    # A type the catalogue does not know is trusted, as the config's checks trust it.
    ({"TrainGPUs": "8", "GpuInstanceTypes": "g5.2xlarge,g7.48xlarge"}, None),
    ({"TrainGPUs": "4"}, "TrainGPUs 2 or 4 needs"),
    ({"TrainGPUs": "2", "GpuInstanceTypes": "g5.2xlarge,g6.8xlarge"}, "TrainGPUs 2 or 4 needs"),
    ({"TrainGPUs": "8", "GpuInstanceTypes": "g5.12xlarge,g6.24xlarge"}, "TrainGPUs 8 needs"),
], ids=["defaults", "g5.12xlarge-4", "g6.12xlarge-2", "family-8", "metal-8", "unknown-type",
        "defaults-4", "single-gpu-types-2", "four-gpu-types-8"])
def test_train_gpus_rules(params, refused):
    failures = rule_failures(params)
    assert len(failures) == (1 if refused else 0), failures
    if refused:
        assert failures[0].startswith(refused)
        # The message names the types that hold the GPUs, with their GPU counts.
        assert "g5.12xlarge" in failures[0] or "g5.48xlarge" in failures[0]
        assert "(8 GPUs)" in failures[0]


def test_train_rules_name_every_catalogue_type_that_holds_the_gpus():
    from rv_batch_cfn.instance_types import CATALOGUE, GPU_FAMILIES
    for gpus, assertion in ((4, 0), (8, 1)):
        text = TEMPLATE["Rules"]["TrainGpus"]["Assertions"][assertion]["AssertDescription"]
        holding = [t.name for t in CATALOGUE.values() if t.gpus >= gpus]
        assert holding and all(name in text for name in holding)
        assert all(f"{t.name}," not in text and f"{t.name} " not in text
                   for t in CATALOGUE.values() if 0 < t.gpus < gpus)
        for family in GPU_FAMILIES:  # every family has a size with 8 GPUs
            assert family in text
