"""`rv-batch-cfn deploy`, run as a subprocess against the emulator as a user would run it."""

from __future__ import annotations

import re

import pytest

from rv_batch_cfn.template import compute
from tests.emulator import (
    ROOT, TEMPLATE, make_network, network_parameters, outputs, parameter_values, physical_ids,
    run_cli,
)

# A port nothing listens on: a command that reached for AWS would fail with a connection error.
NOWHERE = "http://127.0.0.1:9"


def stack(emulator, name="rv") -> dict:
    return emulator.client("cloudformation").describe_stacks(StackName=name)["Stacks"][0]


def test_create_update_no_op(emulator):
    net = make_network(emulator)

    created = run_cli(emulator, "deploy", "--stack", "rv", "--yes", *network_parameters(net))
    assert created.returncode == 0, created.stderr
    assert "Creating stack rv from cloudformation/template.yml" in created.stdout
    assert "  + Add     GpuComputeEnvironment" in created.stdout
    # The live events: each resource, then the stack, as CloudFormation reports them.
    assert re.search(r"CREATE_COMPLETE +GpuComputeEnvironment +AWS::Batch::ComputeEnvironment",
                     created.stdout)
    assert re.search(r"CREATE_COMPLETE +rv +AWS::CloudFormation::Stack", created.stdout)
    first = stack(emulator)
    assert first["StackStatus"] == "CREATE_COMPLETE"
    for key, value in outputs(first).items():
        assert f"  {key} = {value.splitlines()[0]}" in created.stdout
    assert "rv-batch-cfn rv-config --stack rv --write" in created.stdout
    before = parameter_values(first["Parameters"])

    updated = run_cli(emulator, "deploy", "--stack", "rv", "--yes",
                      "--param", "GPUInstanceStorage=300", "--param", "CpuCapacity=ON_DEMAND")
    assert updated.returncode == 0, updated.stderr
    assert f"GPUInstanceStorage  {before['GPUInstanceStorage']} -> 300" in updated.stdout
    # Which resources the plan lists is the emulator's choice (tests/aws/test_deploy_plan.py
    # tests how deploy shows a plan); what the update did is read back below.
    assert "Planned changes (" in updated.stdout
    assert "UPDATE_COMPLETE" in updated.stdout
    second = stack(emulator)
    assert second["StackStatus"] == "UPDATE_COMPLETE"
    after = parameter_values(second["Parameters"])
    # What was given changed; everything else kept its previous value (VPC and subnets too).
    assert after == {**before, "GPUInstanceStorage": "300", "CpuCapacity": "ON_DEMAND"}
    ids = physical_ids(emulator, "rv")
    environment, = emulator.client("batch").describe_compute_environments(
        computeEnvironments=[ids[compute.compute_environment_id("cpu")]])["computeEnvironments"]
    assert environment["computeResources"]["type"] == "EC2"

    # Unpatched here: moto, as CloudFormation, creates this change set FAILED ("didn't contain
    # changes"), since deploy sends every parameter and the template by TemplateURL.
    again = run_cli(emulator, "deploy", "--stack", "rv", "--yes",
                    "--param", "GPUInstanceStorage=300")
    assert again.returncode == 0, again.stderr
    assert "No changes: stack rv already has this template and these values" in again.stdout
    assert "Events:" not in again.stdout
    cfn = emulator.client("cloudformation")
    assert cfn.list_change_sets(StackName="rv")["Summaries"] == []
    assert stack(emulator)["StackStatus"] == "UPDATE_COMPLETE"


def test_asks_before_executing(emulator, capsys, monkeypatch):
    # In-process, with a terminal to ask on: without one, deploy refuses unless --yes
    # (test_deploy_options.py).
    from rv_batch_cfn import cli
    from rv_batch_cfn.cli import common

    net = make_network(emulator)
    answers = iter(["n", "y"])
    monkeypatch.setattr(common, "stdin_is_terminal", lambda: True)
    monkeypatch.setattr("builtins.input", lambda question: print(question) or next(answers))
    code = cli.main(["deploy", "--stack", "rv", *network_parameters(net)])
    declined = capsys.readouterr()
    assert code == 1
    assert "Execute this change set on stack rv? [y/N]" in declined.out
    assert "Cancelled: nothing was changed." in declined.out
    # The empty stack a CREATE change set leaves behind is removed too.
    names = {s["StackName"] for s in emulator.client("cloudformation").list_stacks(
        StackStatusFilter=["REVIEW_IN_PROGRESS", "CREATE_COMPLETE"])["StackSummaries"]}
    assert "rv" not in names

    code = cli.main(["deploy", "--stack", "rv", *network_parameters(net)])
    assert code == 0, capsys.readouterr().err
    assert stack(emulator)["StackStatus"] == "CREATE_COMPLETE"


def test_failure_names_the_first_failing_resource(emulator):
    net = make_network(emulator)
    # An instance type that does not exist: Batch refuses the CPU environment, and
    # CloudFormation rolls the whole stack back.
    failed = run_cli(emulator, "deploy", "--stack", "rv", "--yes", *network_parameters(net),
                     "--param", "CpuInstanceTypes=m6i.xlarge,x9.nosuchsize")
    assert failed.returncode == 2
    assert "CREATE_FAILED" in failed.stdout
    assert "ROLLBACK_COMPLETE" in failed.stdout
    error = failed.stderr.strip().splitlines()
    assert len(error) == 1, failed.stderr  # one message, no traceback
    assert error[0].startswith("rv-batch-cfn deploy: error: stack 'rv' ended in ROLLBACK_COMPLETE")
    assert "the first failure: CpuComputeEnvironment (AWS::Batch::ComputeEnvironment): " \
           "Instance type x9.nosuchsize does not exist" in error[0]
    assert "delete the stack" in error[0]

    # A stack in that state cannot be updated; deploy says so instead of trying.
    again = run_cli(emulator, "deploy", "--stack", "rv", "--yes", *network_parameters(net))
    assert again.returncode == 2
    assert "is ROLLBACK_COMPLETE" in again.stderr and "delete it" in again.stderr


def test_failed_update_rolls_back_and_keeps_previous_values(emulator):
    net = make_network(emulator)
    assert run_cli(emulator, "deploy", "--stack", "rv", "--yes",
                   *network_parameters(net)).returncode == 0
    before = parameter_values(stack(emulator)["Parameters"])
    failed = run_cli(emulator, "deploy", "--stack", "rv", "--yes",
                     "--param", "GpuInstanceTypes=x9.nosuchsize")
    assert failed.returncode == 2
    assert "UPDATE_ROLLBACK_COMPLETE" in failed.stderr
    assert "the first failure: GpuComputeEnvironment" in failed.stderr
    assert "back as it was before this update" in failed.stderr
    assert parameter_values(stack(emulator)["Parameters"]) == before


@pytest.mark.parametrize("name, args, expected", [
    ("unknown parameter", ["--param", "GpuInstanceType=g5.xlarge"],
     ["--param GpuInstanceType: got 'g5.xlarge'; unknown parameter; did you mean "
      "'GpuInstanceTypes'? allowed: "]),
    ("value below MinValue", ["--param", "GPUInstanceStorage=10"],
     ["--param GPUInstanceStorage: got '10'; allowed: at least 30 and at most 16384"]),
    ("not a number", ["--param", "MaximumVCPUs=lots"],
     ["--param MaximumVCPUs: got 'lots'; allowed: a number"]),
    ("value outside AllowedValues", ["--param", "GpuCapacity=spot"],
     ["--param GpuCapacity: got 'spot'; allowed: one of SPOT, ON_DEMAND"]),
    ("pattern", ["--param", "Prefix=Team-1"],
     ["--param Prefix: got 'Team-1'; allowed: a value matching ^[a-z0-9]{0,12}$"]),
    ("malformed subnet id", ["--param", "SubnetIds=subnet-0123456789abcdef0,my-subnet"],
     ["--param SubnetIds: got 'subnet-0123456789abcdef0,my-subnet'; item 'my-subnet': allowed: "
      "an id like subnet-0123456789abcdef0"]),
    # CloudFormation matches a list's AllowedPattern against each member, empty ones too.
    ("list member breaking the pattern", ["--param", "S3Buckets=rv-data,Bad_Bucket"],
     ["--param S3Buckets: got 'rv-data,Bad_Bucket'; item 'Bad_Bucket': allowed: a value "
      "matching ^([a-z0-9][a-z0-9.-]{1,61}[a-z0-9])?$ (each must be an S3 bucket name"]),
    ("write access to every bucket", ["--param", "S3Buckets=*"],
     ["--param S3Buckets: got '*'; item '*': allowed: a value matching",
      "(no *: write access is only ever to named buckets)"]),
    # CloudFormation takes 1.5 or 1e3 for a Number; the integer property fails mid-deployment.
    ("not a whole number", ["--param", "MaximumVCPUs=80.5"],
     ["--param MaximumVCPUs: got '80.5'; allowed: a whole number"]),
    ("a number in exponent form", ["--param", "MaximumVCPUs=1e3"],
     ["--param MaximumVCPUs: got '1e3'; allowed: a whole number"]),
    ("not a number: nan", ["--param", "GPUInstanceMemory=nan"],
     ["--param GPUInstanceMemory: got 'nan'; allowed: a finite number"]),
    ("not a number: infinity", ["--param", "MinimumVCPUs=inf"],
     ["--param MinimumVCPUs: got 'inf'; allowed: a finite number"]),
    ("above the new upper bounds", ["--param", "MaximumVCPUs=1000000", "--param",
                                    "UpdateJobTimeoutMinutes=7201"],
     ["--param MaximumVCPUs: got '1000000'; allowed: at most 100000",
      "--param UpdateJobTimeoutMinutes: got '7201'; allowed: at most 7200"]),
    ("list members breaking the pattern, one empty", ["--param", "GpuInstanceTypes=G5 X,,"],
     ["--param GpuInstanceTypes: got 'G5 X,,'; item 'G5 X', an empty item (two commas in a "
      "row, or a comma at either end): allowed: a value matching ",
      "(each must be an instance type (g5.2xlarge) or a family (g5) with an NVIDIA GPU"]),
    ("empty list", ["--param", "CpuInstanceTypes="],
     ["--param CpuInstanceTypes: got ''; an empty item"]),
    ("no equals sign", ["--param", "Prefix"], ["--param: got 'Prefix'; allowed: KEY=VALUE"]),
    ("every problem at once", ["--param", "Prefix=A", "--param", "JobAttempts=0"],
     ["2 problems", "--param Prefix", "--param JobAttempts: got '0'; allowed: at least 1"]),
])
def test_bad_values_refused_before_any_call(name, args, expected):
    # NOWHERE has no AWS behind it, so any call would end in a connection error instead.
    result = run_cli(None, "deploy", "--stack", "rv", "--yes", *args, endpoint=NOWHERE)
    assert result.returncode == 2
    assert result.stdout == ""
    for fragment in expected:
        assert fragment in result.stderr
    assert "Traceback" not in result.stderr


def test_rules_checked_before_the_change_set(emulator):
    net = make_network(emulator)
    ami = "ami-0123456789abcdef0"
    refused = run_cli(emulator, "deploy", "--stack", "rv", "--yes", *network_parameters(net),
                      "--param", f"GpuAMI={ami}", "--param", f"CpuAMI={ami}")
    assert refused.returncode == 2
    assert "rule DistinctAmis" in refused.stderr
    assert "GpuAMI and CpuAMI must differ" in refused.stderr
    assert emulator.client("cloudformation").list_stacks()["StackSummaries"] == []


def test_missing_required_parameters_on_create(emulator):
    result = run_cli(emulator, "deploy", "--stack", "rv", "--yes")
    assert result.returncode == 2
    assert "--param VPC: got None; required" in result.stderr
    assert "--param SubnetIds: got None; required" in result.stderr
    assert emulator.client("cloudformation").list_stacks()["StackSummaries"] == []


def test_unreadable_template(tmp_path):
    result = run_cli(None, "deploy", "--stack", "rv", "--template", str(tmp_path / "none.yml"),
                     endpoint=NOWHERE)
    assert result.returncode == 2
    assert "cannot read the template" in result.stderr and "none.yml" in result.stderr


def test_no_credentials(emulator):
    result = run_cli(emulator, "deploy", "--stack", "rv", "--yes",
                     env={"AWS_ACCESS_KEY_ID": "", "AWS_SECRET_ACCESS_KEY": ""})
    assert result.returncode == 2
    assert result.stderr.startswith("rv-batch-cfn deploy: error: no AWS credentials found")
    assert emulator.client("cloudformation").list_stacks()["StackSummaries"] == []


def test_constants_have_one_definition():
    # The default template path and the job-definitions template's parameter naming its main
    # stack are defined once, where they belong, and imported: never redefined here.
    from rv_batch_cfn import template
    from rv_batch_cfn.aws.deploy import change_set as deploy
    from rv_batch_cfn.cli import deploy as deploy_command
    from rv_batch_cfn.template import job_definitions

    assert deploy_command.TEMPLATE_PATH is template.TEMPLATE_PATH
    assert deploy.MAIN_STACK_NAME is job_definitions.MAIN_STACK_NAME
    for path in [*(ROOT / "rv_batch_cfn" / "account").rglob("*.py"),
                 *(ROOT / "rv_batch_cfn" / "cli").glob("*.py")]:
        text = path.read_text()
        assert f'"{template.TEMPLATE_PATH}")' not in text, path.name
        assert f'= "{job_definitions.MAIN_STACK_NAME}"' not in text, path.name

def test_points_to_the_recorded_ami_without_ever_using_it_unasked(emulator, cli, tmp_path):
    # `cli` runs in tmp_path, where this test records an AMI as create-ami would.
    net = make_network(emulator)
    ami = emulator.client("ec2").register_image(Name="rv-batch-gpu-test")["ImageId"]
    (tmp_path / "packer").mkdir()
    (tmp_path / "packer" / "last-ami").write_text(ami + "\n")
    template = str(TEMPLATE)
    hint = (f"Hint: packer/last-ami records {ami} (built by create-ami); pass --param "
            f"GpuAMI={ami} to use it (make deploy STACK=rv GPU_AMI={ami}); GpuAMI is not "
            "changed otherwise.")

    created = cli("deploy", "--stack", "rv", "--template", template, "--yes",
                  *network_parameters(net))
    assert created.returncode == 0, created.stderr
    assert hint in created.stdout
    assert parameter_values(stack(emulator)["Parameters"])["GpuAMI"] == ""

    another = emulator.client("ec2").register_image(Name="another-gpu-image")["ImageId"]
    other = cli("deploy", "--stack", "rv", "--template", template, "--yes",
                "--param", f"GpuAMI={another}")
    assert other.returncode == 0, other.stderr
    assert hint in other.stdout  # another AMI than the recorded one

    used = cli("deploy", "--stack", "rv", "--template", template, "--yes",
               "--param", f"GpuAMI={ami}")
    assert used.returncode == 0, used.stderr
    assert "Hint:" not in used.stdout
    assert parameter_values(stack(emulator)["Parameters"])["GpuAMI"] == ami

    kept = cli("deploy", "--stack", "rv", "--template", template, "--yes",
               "--param", "GPUInstanceStorage=300")  # GpuAMI keeps the recorded AMI
    assert kept.returncode == 0, kept.stderr
    assert "Hint:" not in kept.stdout

    (tmp_path / "packer" / "last-ami").unlink()
    again = cli("deploy", "--stack", "rv", "--template", template, "--yes",
                "--param", "GpuAMI=")
    assert again.returncode == 0, again.stderr
    assert "Hint:" not in again.stdout
