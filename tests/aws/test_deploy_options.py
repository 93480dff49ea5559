"""`deploy` with the options of `aws cloudformation deploy`, in-process against the emulator:
--no-execute-changeset, --parameter-overrides, --tags, --role-arn, --s3-bucket,
--disable-rollback; "did you mean" for a parameter name; no terminal without --yes."""

from __future__ import annotations

import json
import re
import subprocess
import sys

import pytest

from rv_batch_cfn import cli
from rv_batch_cfn.cli import common
from tests.emulator import ROOT, TEMPLATE, make_network, network_parameters, parameter_values

NOWHERE = "http://127.0.0.1:9"  # nothing listens: a command reaching AWS would fail


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = cli.main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def describe(emulator, name: str = "rv") -> dict:
    return emulator.client("cloudformation").describe_stacks(StackName=name)["Stacks"][0]


def test_no_execute_changeset_leaves_the_change_set_for_review(emulator, capsys):
    net = make_network(emulator)
    code, out, err = run(capsys, "deploy", "--stack", "rv", "--no-execute-changeset",
                         *network_parameters(net))
    assert code == 0, err
    assert "  + Add     GpuComputeEnvironment" in out
    assert "\nEvents:\n" not in out  # the header of the live events: nothing was executed
    cfn = emulator.client("cloudformation")
    [summary] = cfn.list_change_sets(StackName="rv")["Summaries"]
    assert summary["ExecutionStatus"] == "AVAILABLE" and summary["Status"] == "CREATE_COMPLETE"
    assert describe(emulator)["StackStatus"] == "REVIEW_IN_PROGRESS"
    execute = (f"aws cloudformation execute-change-set --region {emulator.region} "
               f"--change-set-name {summary['ChangeSetId']}")
    assert f"  {execute}\n" in out
    assert "aws cloudformation describe-change-set --region" in out

    # What the printed command does, done with boto3: the stack is then created.
    cfn.execute_change_set(ChangeSetName=summary["ChangeSetId"])
    assert describe(emulator)["StackStatus"] == "CREATE_COMPLETE"


def test_no_execute_changeset_as_json(emulator, capsys):
    net = make_network(emulator)
    code, out, err = run(capsys, "--output", "json", "deploy", "--stack", "rv",
                         "--no-execute-changeset", *network_parameters(net))
    assert code == 0, err
    data = json.loads(out)
    assert data["outcome"] == "change-set-created" and data["stack"] == "rv"
    assert {"action": "Add", "logical_id": "GpuComputeEnvironment",
            "type": "AWS::Batch::ComputeEnvironment", "replacement": None} in \
        data["change_set"]["changes"]
    assert data["commands"][1].startswith("aws cloudformation execute-change-set ")
    assert "+ Add" in err  # the plan, for a person, on standard error


def test_parameter_overrides_tags_role_and_rollback(emulator, capsys):
    net = make_network(emulator)
    role = "arn:aws:iam::123456789012:role/cfn-deployer"
    code, out, err = run(capsys, "--debug", "deploy", "--stack", "rv", "--yes",
                         "--parameter-overrides", f"VPC={net.vpc_id}",
                         f"SubnetIds={','.join(net.subnet_ids)}", "Prefix=geo",
                         "--param", f"BatchServiceRoleArn={net.service_role_arn}",
                         "--tags", "team=geo", "cost-center=42", "--role-arn", role,
                         "--disable-rollback")
    assert code == 0, err
    stack = describe(emulator)
    assert stack["StackStatus"] == "CREATE_COMPLETE"
    values = parameter_values(stack["Parameters"])
    assert (values["Prefix"], values["VPC"]) == ("geo", net.vpc_id)
    assert {t["Key"]: t["Value"] for t in stack["Tags"]} == {"team": "geo", "cost-center": "42"}
    assert stack["RoleARN"] == role
    # moto ignores DisableRollback; the request botocore sent (its --debug log) carries it.
    [execute] = [line for line in err.splitlines()
                 if "Making request for OperationModel(name=ExecuteChangeSet)" in line]
    assert "'DisableRollback': 'true'" in execute


def big_template(tmp_path):
    """The committed template, made larger: over the limit even as the compact JSON deploy
    sends for a YAML template over it (a comment would not do: JSON drops it). The committed
    template ends with its Outputs: one more, with a long value."""
    big = tmp_path / "big.yml"
    big.write_text(TEMPLATE.read_text() + "  Padding:\n    Value: " + "x" * 52_000 + "\n")
    return big


def test_a_template_over_51200_bytes_goes_through_your_s3_bucket(emulator, capsys, tmp_path):
    net = make_network(emulator)
    big = big_template(tmp_path)
    s3 = emulator.client("s3")
    s3.create_bucket(Bucket="rv-templates")
    code, out, err = run(capsys, "deploy", "--stack", "rv", "--yes", "--template", str(big),
                         "--s3-bucket", "rv-templates", "--s3-prefix", "cfn/",
                         *network_parameters(net))
    assert code == 0, err
    [uploaded] = s3.list_objects_v2(Bucket="rv-templates")["Contents"]
    assert uploaded["Key"].startswith("cfn/") and uploaded["Key"].endswith(".template")
    assert 51_200 < uploaded["Size"] < len(big.read_bytes())  # the compact JSON
    assert f"Uploaded the template to https://s3.{emulator.region}.amazonaws.com/rv-templates/" \
           f"{uploaded['Key']}" in out
    assert describe(emulator)["StackStatus"] == "CREATE_COMPLETE"
    # Only the given bucket: no console bucket made beside it.
    assert [b["Name"] for b in s3.list_buckets()["Buckets"]] == ["rv-templates"]


def test_without_a_bucket_a_large_template_goes_where_the_console_puts_it(emulator, capsys,
                                                                           tmp_path):
    # The console stores an uploaded template in its bucket cf-templates-<random>-<region>
    # and creates the stack from there (TemplateURL, up to 1 MB): deploy does the same, so a
    # template the console takes deploys from the command line too.
    net = make_network(emulator)
    big = big_template(tmp_path)
    s3 = emulator.client("s3")
    code, out, err = run(capsys, "deploy", "--stack", "rv", "--yes", "--template", str(big),
                         *network_parameters(net))
    assert code == 0, err
    [bucket] = [b["Name"] for b in s3.list_buckets()["Buckets"]]
    assert re.fullmatch(rf"cf-templates-[a-z0-9]{{12}}-{emulator.region}", bucket)
    assert f"Created S3 bucket {bucket} for templates" in out
    block = s3.get_public_access_block(Bucket=bucket)["PublicAccessBlockConfiguration"]
    assert all(block.values()) and len(block) == 4
    [uploaded] = s3.list_objects_v2(Bucket=bucket)["Contents"]
    assert f"Uploaded the template to https://s3.{emulator.region}.amazonaws.com/{bucket}/" \
           f"{uploaded['Key']}" in out
    assert describe(emulator)["StackStatus"] == "CREATE_COMPLETE"

    # The next large template goes to the same bucket: found, not made again.
    code, out, err = run(capsys, "deploy", "--stack", "rv2", "--yes", "--template", str(big),
                         *network_parameters(net), "--param", "Prefix=second")
    assert code == 0, err
    assert [b["Name"] for b in s3.list_buckets()["Buckets"]] == [bucket]
    assert "Created S3 bucket" not in out


def test_the_console_bucket_of_another_region_is_not_used(emulator, capsys, tmp_path):
    net = make_network(emulator)
    s3 = emulator.client("s3")
    s3.create_bucket(Bucket="cf-templates-abcdefghijkl-eu-west-1",
                     CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
    code, out, err = run(capsys, "deploy", "--stack", "rv", "--yes", "--no-execute-changeset",
                         "--template", str(big_template(tmp_path)), *network_parameters(net))
    assert code == 0, err
    [made] = [b["Name"] for b in s3.list_buckets()["Buckets"]
              if b["Name"] != "cf-templates-abcdefghijkl-eu-west-1"]
    assert made.endswith(f"-{emulator.region}")


def test_a_template_over_the_s3_limit_is_refused_before_any_call(capsys, monkeypatch, tmp_path):
    monkeypatch.setenv("AWS_ENDPOINT_URL", NOWHERE)
    huge = tmp_path / "huge.yml"
    huge.write_text(TEMPLATE.read_text() + "  Padding:\n    Value: " + "x" * 960_000 + "\n")
    code, out, err = run(capsys, "deploy", "--stack", "rv", "--yes", "--template", str(huge))
    assert code == 2 and out == ""
    assert "bytes; CloudFormation takes a template of at most 1000000 bytes from S3" in err


@pytest.mark.parametrize("given, hint", [
    ("GpuAmi=ami-0123456789abcdef0", "--param GpuAmi: got 'ami-0123456789abcdef0'; unknown "
                                     "parameter; did you mean 'GpuAMI'? allowed: "),
    ("GpuInstanceType=g5.xlarge", "did you mean 'GpuInstanceTypes'?"),
    ("Colour=red", "--param Colour: got 'red'; unknown parameter; allowed: "),
])
def test_did_you_mean_for_a_parameter_name(capsys, monkeypatch, given, hint):
    monkeypatch.setenv("AWS_ENDPOINT_URL", NOWHERE)
    code, out, err = run(capsys, "deploy", "--stack", "rv", "--yes", "--param", given)
    assert code == 2 and out == ""
    assert hint in err


@pytest.mark.parametrize("args, fragment", [
    (["--tags", "aws:owner=me"], "--tags aws:owner: got 'me'; allowed: a key of 1 to 128"),
    (["--tags", "team"], "--tags: got 'team'; allowed: KEY=VALUE"),
    (["--role-arn", "cfn-deployer"], "--role-arn: got 'cfn-deployer'; allowed: an IAM role ARN"),
    (["--s3-bucket", "s3://bucket"], "--s3-bucket: got 's3://bucket'; allowed: an S3 bucket"),
    (["--s3-prefix", "cfn"], "--s3-prefix: got 'cfn'; allowed: only with --s3-bucket"),
    (["--param", "Prefix=a", "--parameter-overrides", "Prefix=b"],
     "--param Prefix: got 'b'; given twice"),
])
def test_bad_options_refused_before_any_call(capsys, monkeypatch, args, fragment):
    monkeypatch.setenv("AWS_ENDPOINT_URL", NOWHERE)
    code, out, err = run(capsys, "deploy", "--stack", "rv", "--yes", *args)
    assert code == 2 and out == ""
    assert fragment in err and "Traceback" not in err


def test_without_a_terminal_deploy_refuses_unless_yes(capsys, monkeypatch):
    monkeypatch.setenv("AWS_ENDPOINT_URL", NOWHERE)
    monkeypatch.setattr(common, "stdin_is_terminal", lambda: False)
    code, out, err = run(capsys, "deploy", "--stack", "rv")
    assert code == 2 and out == ""
    assert ("standard input is not a terminal, so deploy cannot ask before executing the "
            "change set; nothing was done. Pass --yes to go ahead without asking, or "
            "--no-execute-changeset to create it for review only") in err


def test_a_pipe_on_standard_input_is_not_an_answer():
    # A real process whose standard input is a pipe holding "y": still refused, before AWS.
    done = subprocess.run([sys.executable, "-m", "rv_batch_cfn", "deploy", "--stack", "rv"],
                          input="y\n", capture_output=True, text=True, cwd=ROOT, timeout=60,
                          env={"PATH": "/usr/bin:/bin", "AWS_ENDPOINT_URL": NOWHERE,
                               "AWS_REGION": "us-east-1", "HOME": str(ROOT / "nonexistent")})
    assert done.returncode == 2, done.stderr
    assert "standard input is not a terminal" in done.stderr


def test_make_deploy_passes_the_new_options():
    import os
    import shutil

    make = shutil.which("make")
    if make is None:
        pytest.skip("make is not installed")
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    done = subprocess.run([make, "-s", "-n", "-o", ".venv/bin/.installed", "-o", str(TEMPLATE),
                           "deploy", "STACK=rv", "TAGS=team=geo cost=42", "S3_BUCKET=bkt",
                           "NO_EXECUTE=1", "SETTINGS_MK=/nonexistent"], capture_output=True,
                          text=True, cwd=ROOT, env=env)
    assert done.returncode == 0, done.stderr
    [command] = [line for line in done.stdout.splitlines() if " deploy --stack " in line]
    assert command.rstrip().endswith("--tags 'team=geo' 'cost=42' --s3-bucket 'bkt' "
                            "--no-execute-changeset")
    argv = [a.strip("'") for a in command.split()[1:]]
    args = cli.build_parser().parse_args(argv)  # what make runs, the CLI accepts
    assert (args.tags, args.s3_bucket, args.no_execute_changeset) == \
        (["team=geo", "cost=42"], "bkt", True)
