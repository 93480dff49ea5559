"""What `deploy` refuses or warns about before the change set: a switch of the Batch service role,
the stack's current values the new template refuses, a custom AMI larger than the root volume,
and updates that replace the instances running jobs. Unit tests of the pure functions, then the
CLI against the emulator."""

from __future__ import annotations

import json
import re

import boto3
import pytest

from rv_batch_cfn.aws.ami import checks as ami_checks
from rv_batch_cfn.aws.deploy import update_checks
from rv_batch_cfn.aws.deploy import deploy
from rv_batch_cfn.errors import ConfigError
from rv_batch_cfn.template import parameters as p
from tests.emulator import (
    TEMPLATE, load_template, make_network, network_parameters, parameter_values, run_cli,
)

DATA = load_template(TEMPLATE.read_text())
SLR = "arn:aws:iam::123456789012:role/aws-service-role/batch.amazonaws.com/AWSServiceRoleForBatch"
CUSTOM = "arn:aws:iam::123456789012:role/my-batch-service-role"


def defaults(**values: str) -> dict[str, str]:
    found = {n: ",".join(map(str, d["Default"])) if isinstance(d.get("Default"), list)
             else str(d["Default"]) for n, d in DATA["Parameters"].items() if "Default" in d}
    return {**found, "VPC": "vpc-0123456789abcdef0",
            "SubnetIds": "subnet-0123456789abcdef0", **values}


# ----------------------------------------------------------------------------------------------
# The service role


@pytest.mark.parametrize("old, new, refused", [
    ("", CUSTOM, True),
    (CUSTOM, "", True),
    (SLR, CUSTOM, True),
    (CUSTOM, SLR, True),
    ("", SLR, False),  # the service-linked role, named or not
    (SLR, "", False),
    (CUSTOM, "arn:aws:iam::123456789012:role/another-service-role", False),
    ("", "", False),
])
def test_a_switch_between_the_service_linked_role_and_a_custom_one(old, new, refused):
    reason = update_checks.service_role_switch({p.BATCH_SERVICE_ROLE_ARN: old},
                                               {p.BATCH_SERVICE_ROLE_ARN: new})
    assert (reason is not None) is refused
    if refused:
        assert update_checks.SERVICE_ROLE_RULE in reason
        assert "AWS Batch API reference, UpdateComputeEnvironment" in reason


# ----------------------------------------------------------------------------------------------
# Which updates replace instances


@pytest.mark.parametrize("changes, replaced", [
    ({}, {}),
    ({"MaximumVCPUs": "160", "MinimumVCPUs": "8"}, {}),  # scaling only
    ({"UpdateJobTimeoutMinutes": "4320"}, {}),
    ({"JobAttempts": "5", "S3Buckets": "rv-data"}, {}),  # jobs and IAM, not instances
    ({"GpuInstanceTypes": "g5.4xlarge"}, {"GpuComputeEnvironment": "InstanceTypes"}),
    ({"GPUInstanceStorage": "300"}, {"GpuComputeEnvironment": "LaunchTemplate (its data)"}),
    ({"GpuAMI": "ami-0123456789abcdef0"}, {"GpuComputeEnvironment": "Ec2Configuration"}),
    # On demand: another type and allocation strategy, and no bid percentage.
    ({"CpuCapacity": "ON_DEMAND"}, {"CpuComputeEnvironment":
                                    "AllocationStrategy, BidPercentage, Type"}),
    ({"KeyName": "rv-key"}, {"GpuComputeEnvironment": "Ec2KeyPair",
                             "CpuComputeEnvironment": "Ec2KeyPair"}),
    ({"SubnetIds": "subnet-0fedcba9876543210"}, {"GpuComputeEnvironment": "Subnets",
                                                 "CpuComputeEnvironment": "Subnets"}),
    ({"Prefix": "team"}, {"GpuComputeEnvironment": "Tags", "CpuComputeEnvironment": "Tags"}),
])
def test_update_warnings_name_the_environments_whose_instances_are_replaced(changes, replaced):
    old, new = defaults(), defaults(**changes)
    warnings = update_checks.update_warnings(old, new, DATA)
    found = dict(re.match(r"this update replaces the instances of (\w+) \(changed: (.*)\): "
                          r"running jobs", w).groups() for w in warnings)
    assert found == replaced
    for warning in warnings:
        assert f"running jobs get {new['UpdateJobTimeoutMinutes']} minutes " \
               "(UpdateJobTimeoutMinutes) to finish" in warning


def test_a_new_template_changing_the_launch_template_is_warned_about():
    # The template before this version: metadata hop limit 2.
    old_template = json.loads(json.dumps(DATA).replace('"HttpPutResponseHopLimit": 1',
                                                       '"HttpPutResponseHopLimit": 2'))
    assert old_template != DATA
    warnings = update_checks.update_warnings(defaults(), defaults(), DATA, old_template)
    assert len(warnings) == 2
    assert all("(changed: LaunchTemplate (its data))" in w for w in warnings)


# ----------------------------------------------------------------------------------------------
# Custom AMIs and their root volume


@pytest.mark.parametrize("size, volume, problem", [(100, 30, True), (100, 99, True),
                                                   (100, 100, False), (30, 200, False),
                                                   (None, 30, False)])
def test_an_ami_larger_than_the_root_volume(size, volume, problem):
    image = {"ImageId": "ami-0123456789abcdef0", "RootDeviceName": "/dev/xvda",
             "BlockDeviceMappings": [{"DeviceName": "/dev/xvdb", "Ebs": {"VolumeSize": 500}}]}
    if size is not None:
        image["BlockDeviceMappings"].append({"DeviceName": "/dev/xvda",
                                             "Ebs": {"VolumeSize": size}})
    reason = ami_checks.too_small(image, volume)
    assert (reason is not None) is problem
    if problem:
        assert reason.startswith(f"AMI ami-0123456789abcdef0's root snapshot is {size} GiB and "
                                 f"a {volume} GiB root volume cannot hold it")


def gpu_image(emulator, size_gib: int) -> str:
    """An AMI whose root snapshot is `size_gib` (moto reports 15 GiB for every image; the
    fixture reads `root_volume_size` from its record, tests/moto_like_aws.py)."""
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.ec2.models import ec2_backends

    ami = emulator.client("ec2").register_image(Name=f"rv-batch-gpu-{size_gib}",
                                                RootDeviceName="/dev/xvda")["ImageId"]
    record = ec2_backends[DEFAULT_ACCOUNT_ID][emulator.region].amis[ami]
    # moto's RegisterImage keeps no root device name (it reports /dev/sda1).
    record.root_device_name = "/dev/xvda"
    record.root_volume_size = size_gib
    return ami


def test_deploy_refuses_a_root_volume_smaller_than_the_custom_ami(emulator):
    net = make_network(emulator)
    ami = gpu_image(emulator, 100)
    refused = run_cli(emulator, "deploy", "--stack", "rv", "--yes", *network_parameters(net),
                      "--param", f"GpuAMI={ami}", "--param", "GPUInstanceStorage=30")
    assert refused.returncode == 2
    assert (f"--param GPUInstanceStorage: got '30'; allowed: at least 100 GiB with GpuAMI {ami}; "
            f"AMI {ami}'s root snapshot is 100 GiB and a 30 GiB root volume cannot hold it"
            ) in refused.stderr
    assert "Traceback" not in refused.stderr
    assert emulator.client("cloudformation").list_stacks()["StackSummaries"] == []

    missing = run_cli(emulator, "deploy", "--stack", "rv", "--yes", *network_parameters(net),
                      "--param", "GpuAMI=ami-0123456789abcdef0")
    assert missing.returncode == 2
    assert "--param GpuAMI: got 'ami-0123456789abcdef0'; allowed: an AMI this account can use " \
           "in us-east-1" in missing.stderr

    fits = run_cli(emulator, "deploy", "--stack", "rv", "--yes", *network_parameters(net),
                   "--param", f"GpuAMI={ami}", "--param", "GPUInstanceStorage=100")
    assert fits.returncode == 0, fits.stderr

    # The stack keeps GpuAMI; lowering the volume below it is refused on update too.
    lowered = run_cli(emulator, "deploy", "--stack", "rv", "--yes",
                      "--param", "GPUInstanceStorage=50")
    assert lowered.returncode == 2
    assert "at least 100 GiB with GpuAMI" in lowered.stderr


def test_doctor_reports_a_root_volume_smaller_than_the_custom_ami(emulator):
    from tests.emulator import deploy as console_deploy

    net = make_network(emulator)
    ami = gpu_image(emulator, 100)
    # The console does not check it: the stack is created, and its instances would never start.
    stack = console_deploy(emulator, "rv", net, GpuAMI=ami, GPUInstanceStorage=30)
    assert stack["StackStatus"] == "CREATE_COMPLETE"
    report = run_cli(emulator, "doctor", "--stack", "rv", "--json")
    findings = json.loads(report.stdout)["findings"]
    [problem] = [f for f in findings if f["check"] == "AMI override" and f["status"] == "problem"]
    assert f"GPU AMI {ami}'s root snapshot is 100 GiB" in problem["message"]
    assert "30 GiB root volume" in problem["message"]
    assert "GPUInstanceStorage" in problem["fix"] and "100" in problem["fix"]


# ----------------------------------------------------------------------------------------------
# Through the CLI: refusals before any change, warnings before the plan


def calls_made(emulator, run) -> list[str]:
    """The AWS operations `run(session)` makes, in order."""
    session = boto3.Session(aws_access_key_id="testing", aws_secret_access_key="testing",
                            region_name=emulator.region)
    made: list[str] = []
    session.events.register("before-call", lambda model, **_: made.append(model.name))
    run(session)
    return made


def test_the_service_role_switch_is_refused_before_any_change(emulator, monkeypatch):
    net = make_network(emulator)
    assert run_cli(emulator, "deploy", "--stack", "rv", "--yes",
                   *network_parameters(net)).returncode == 0
    role = emulator.client("iam").create_role(
        RoleName="my-batch-service-role", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    cfn = emulator.client("cloudformation")
    before = cfn.describe_stacks(StackName="rv")["Stacks"][0]

    refused = run_cli(emulator, "deploy", "--stack", "rv", "--yes",
                      "--param", f"BatchServiceRoleArn={role}")
    assert refused.returncode == 2
    assert refused.stdout == ""
    assert "--param BatchServiceRoleArn" in refused.stderr
    assert update_checks.SERVICE_ROLE_RULE in refused.stderr
    assert "Traceback" not in refused.stderr
    assert cfn.list_change_sets(StackName="rv")["Summaries"] == []
    assert cfn.describe_stacks(StackName="rv")["Stacks"][0] == before

    # In the library: the stack is read, and nothing else is called.
    monkeypatch.setenv("AWS_ENDPOINT_URL", emulator.endpoint)
    with pytest.raises(ConfigError, match="can't be changed to use a regular IAM role"):
        calls_made(emulator, lambda session: deploy(
            session, "rv", TEMPLATE, {"BatchServiceRoleArn": role}, assume_yes=True))
    made = calls_made(emulator, lambda session: _ignore(ConfigError, lambda: deploy(
        session, "rv", TEMPLATE, {"BatchServiceRoleArn": role}, assume_yes=True)))
    assert made == ["DescribeStacks"]


def test_a_python_caller_gets_the_parameter_checks_before_any_call(emulator, monkeypatch):
    # deploy() itself checks the values against the template's Parameters (the command runs
    # the same checks earlier, for its own messages): nothing reaches AWS.
    monkeypatch.setenv("AWS_ENDPOINT_URL", emulator.endpoint)
    bad = {"JobAttempts": "0", "Prefix": "A", "NoSuchParameter": "1"}
    with pytest.raises(ConfigError) as refused:
        calls_made(emulator, lambda session: deploy(session, "rv", TEMPLATE, bad,
                                                    assume_yes=True))
    message = str(refused.value)
    assert "--param JobAttempts: got '0'; allowed: at least 1" in message
    assert "--param Prefix: got 'A'" in message
    assert "--param NoSuchParameter: got '1'; unknown parameter" in message
    made = calls_made(emulator, lambda session: _ignore(ConfigError, lambda: deploy(
        session, "rv", TEMPLATE, bad, assume_yes=True)))
    assert made == []


def _ignore(error, action):
    try:
        action()
    except error:
        pass


def test_an_update_that_replaces_instances_is_announced(emulator):
    net = make_network(emulator)
    assert run_cli(emulator, "deploy", "--stack", "rv", "--yes",
                   *network_parameters(net)).returncode == 0
    scaled = run_cli(emulator, "deploy", "--stack", "rv", "--yes",
                     "--param", "MaximumVCPUs=160", "--param", "UpdateJobTimeoutMinutes=4320")
    assert scaled.returncode == 0, scaled.stderr
    assert "Warning:" not in scaled.stdout

    replaced = run_cli(emulator, "deploy", "--stack", "rv", "--yes",
                       "--param", "GpuInstanceTypes=g5.4xlarge,g6.4xlarge")
    assert replaced.returncode == 0, replaced.stderr
    warning = ("Warning: this update replaces the instances of GpuComputeEnvironment (changed: "
               "InstanceTypes): running jobs get 4320 minutes (UpdateJobTimeoutMinutes) to "
               "finish before their instances go.")
    assert warning in replaced.stdout
    assert replaced.stdout.index(warning) < replaced.stdout.index("Planned changes")
    assert "CpuComputeEnvironment (changed" not in replaced.stdout


def test_an_update_from_a_template_granting_write_everywhere_must_name_the_buckets(emulator,
                                                                                 tmp_path):
    # The original template's S3Buckets: `*` by default, allowed by its pattern.
    old = TEMPLATE.read_text()
    old_s3 = load_template(old)["Parameters"]["S3Buckets"]
    older = old.replace(f"AllowedPattern: {old_s3['AllowedPattern']}",
                        "AllowedPattern: '^(\\*|[a-z0-9][a-z0-9.-]{1,61}[a-z0-9])?$'", 1)
    assert older != old
    path = tmp_path / "older.yml"
    path.write_text(older)
    net = make_network(emulator)
    created = run_cli(emulator, "deploy", "--stack", "rv", "--yes", "--template", str(path),
                      *network_parameters(net), "--param", "S3Buckets=*")
    assert created.returncode == 0, created.stderr

    kept = run_cli(emulator, "deploy", "--stack", "rv", "--yes")
    assert kept.returncode == 2
    assert ("S3Buckets (the stack's current value, kept when not given): got '*'; item '*': "
            "allowed: a value matching") in kept.stderr
    assert "give --param S3Buckets=..." in kept.stderr
    named = run_cli(emulator, "deploy", "--stack", "rv", "--yes", "--param", "S3Buckets=rv-data")
    assert named.returncode == 0, named.stderr
    stack = emulator.client("cloudformation").describe_stacks(StackName="rv")["Stacks"][0]
    assert parameter_values(stack["Parameters"])["S3Buckets"] == "rv-data"

