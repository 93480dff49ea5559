"""`permissions`: the IAM policy allows every resource type of the template and every AWS call
the commands make.

The policies are evaluated by moto's IAM policy evaluator (the one its access control uses),
with the actions of both sides in lower case: IAM compares actions regardless of case, moto's
evaluator does not. The calls are recorded as the fault-at-every-call test records them
(tests/aws/aws_calls.py: botocore's before-call event), each command run once against the
emulator, with every optional part of the stack switched on.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from rv_batch_cfn.aws import permissions
from tests import cli_runner
from tests import moto_like_aws_quotas as quota_stand_in
from tests.aws import fake_docker, pipeline_runs
from tests.aws.ami_helpers import make_images, day
from tests.aws.aws_calls import Calls
from tests.aws.test_every_call_fails import batch_outcome, configure_batch  # noqa: F401
from tests.aws.test_every_call_fails import stand_in
from tests.emulator import JOB_DEF_TEMPLATE, TEMPLATE, aws_env, load_template, make_network
from tests.emulator import network_parameters, outputs

ACCOUNT_ID = "123456789012"
# Operations whose IAM action has another name (Service Authorization Reference, Amazon S3;
# AWS Budgets: its Describe* operations are allowed by budgets:ViewBudget).
IAM_ACTION = {"s3:ListBuckets": "s3:ListAllMyBuckets",
              "s3:PutPublicAccessBlock": "s3:PutBucketPublicAccessBlock",
              "s3:HeadBucket": "s3:ListBucket", "s3:HeadObject": "s3:GetObject",
              "budgets:DescribeBudget": "budgets:ViewBudget",
              "budgets:DescribeBudgets": "budgets:ViewBudget",
              "budgets:DescribeNotificationsForBudget": "budgets:ViewBudget",
              "budgets:DescribeSubscribersForNotification": "budgets:ViewBudget"}
# A template over the 51,200 bytes CloudFormation takes in a request even as compact JSON:
# deploy puts it in the console's template bucket, creating that bucket.
LARGE_TEMPLATE = ("Resources:\n  Logs:\n    Type: AWS::Logs::LogGroup\n    Metadata:\n"
                  f"      Padding: {'x' * 60000}\n")


def evaluator(document: dict):
    from moto.iam.access_control import IAMPolicy

    lowered = json.loads(json.dumps(document))
    for statement in lowered["Statement"]:
        statement["Action"] = [a.lower() for a in statement["Action"]]
    return IAMPolicy(json.dumps(lowered))


def allowed(document: dict, action: str, resource: str = "*", **context: str) -> bool:
    from moto.iam.access_control import PermissionResult

    return evaluator(document).is_action_permitted(
        action.lower(), resource, incoming_condition_values=context) == PermissionResult.PERMITTED


@pytest.fixture(scope="module")
def deploy_policy() -> dict:
    return permissions.build_policy(permissions.DEPLOY).as_json()


@pytest.fixture(scope="module")
def operate_policy() -> dict:
    return permissions.build_policy(permissions.OPERATE).as_json()


def committed_resource_types() -> set[str]:
    """The resource types of the committed templates, every optional part included (the
    optional parts are resources under conditions, all in the one template)."""
    return {r["Type"] for path in (TEMPLATE, JOB_DEF_TEMPLATE)
            for r in load_template(path.read_text())["Resources"].values()}


# ---- the template's resource types

def test_every_optional_part_is_in_the_templates_read():
    types = committed_resource_types()
    # notifications (topic, key, rule), ECR repositories, the launch templates of a custom AMI
    assert {"AWS::SNS::Topic", "AWS::KMS::Key", "AWS::Events::Rule", "AWS::ECR::Repository",
            "AWS::EC2::LaunchTemplate"} <= types
    assert set(permissions.build_policy(permissions.DEPLOY).resource_types) == types


def test_the_deploy_policy_allows_creating_updating_and_deleting_every_resource_type(
        deploy_policy):
    missing = {}
    for rtype in sorted(committed_resource_types()):
        actions = permissions.resource_actions(rtype)
        assert actions, rtype
        for action in actions:
            if action.lower().startswith(permissions.UNUSED_BY_THE_STACK):
                continue
            if not permissions.known_action(action):  # e.g. s3:REST.PUT.OBJECT: no IAM action
                continue
            context = {"iam:PassedToService": "batch.amazonaws.com",
                       "iam:AWSServiceName": "batch.amazonaws.com"}
            resource = (f"arn:aws:iam::{ACCOUNT_ID}:role/aws-service-role/batch.amazonaws.com/"
                        "AWSServiceRoleForBatch")
            if not allowed(deploy_policy, action, resource, **context):
                missing.setdefault(rtype, []).append(action)
    assert missing == {}


def test_a_resource_type_added_to_the_template_adds_its_actions(deploy_policy):
    template = load_template(TEMPLATE.read_text())
    template["Resources"]["Extra"] = {"Type": "AWS::SQS::Queue", "Properties": {}}
    assert not allowed(deploy_policy, "sqs:CreateQueue")
    grown = permissions.build_policy(permissions.DEPLOY, [template]).as_json()
    assert allowed(grown, "sqs:CreateQueue") and allowed(grown, "sqs:DeleteQueue")


def test_a_resource_type_without_a_schema_is_an_error_naming_it():
    template = {"Resources": {"X": {"Type": "AWS::Nothing::Here"}}}
    with pytest.raises(permissions.RvBatchError, match="AWS::Nothing::Here"):
        permissions.build_policy(permissions.DEPLOY, [template])


def test_pass_role_and_the_service_linked_role_are_narrowed(deploy_policy, operate_policy):
    for service in permissions.PASSED_TO:
        assert allowed(deploy_policy, "iam:PassRole", "arn:aws:iam::1:role/rv-BatchJobRole-x",
                       **{"iam:PassedToService": service})
    assert not allowed(deploy_policy, "iam:PassRole", "arn:aws:iam::1:role/admin",
                       **{"iam:PassedToService": "lambda.amazonaws.com"})
    batch_role = (f"arn:aws:iam::{ACCOUNT_ID}:role/aws-service-role/batch.amazonaws.com/"
                  "AWSServiceRoleForBatch")
    assert allowed(deploy_policy, "iam:CreateServiceLinkedRole", batch_role,
                   **{"iam:AWSServiceName": "batch.amazonaws.com"})
    assert not allowed(deploy_policy, "iam:CreateServiceLinkedRole",
                       f"arn:aws:iam::{ACCOUNT_ID}:role/aws-service-role/spot.amazonaws.com/x",
                       **{"iam:AWSServiceName": "spot.amazonaws.com"})
    # Operating passes no role and creates nothing.
    actions = [a for s in operate_policy["Statement"] for a in s["Action"]]
    assert not [a for a in actions if a.startswith("iam:")
                or a.split(":")[1].startswith(("Create", "Delete", "Update"))]


def test_the_operate_policy_is_part_of_the_deploy_policy(deploy_policy, operate_policy):
    operate = [a for s in operate_policy["Statement"] for a in s["Action"]]
    assert operate and all(allowed(deploy_policy, a) for a in operate)
    assert not allowed(operate_policy, "cloudformation:CreateChangeSet")


# IAM counts a managed policy's characters without whitespace (IAM and AWS STS quotas).
MANAGED_POLICY_LIMIT = 6144
USER_INLINE_POLICY_LIMIT = 2048


@pytest.mark.parametrize("audience", permissions.AUDIENCES)
def test_each_policy_fits_a_managed_policy(audience):
    document = permissions.build_policy(audience).as_json()
    size = len(json.dumps(document, separators=(",", ":")))
    assert size <= MANAGED_POLICY_LIMIT
    if audience == permissions.OPERATE:
        assert size <= USER_INLINE_POLICY_LIMIT


def test_every_action_named_for_a_command_exists():
    unknown = {c: [a for a in actions if not permissions.known_action(a)]
               for c, actions in permissions.COMMAND_CALLS.items()}
    assert {c: a for c, a in unknown.items() if a} == {}
    assert set(permissions.DEPLOY_COMMANDS) == set(permissions.COMMAND_CALLS)


# ---- the command

def test_output_json_is_the_policy_document_and_text_says_why(deploy_policy, tmp_path):
    result = cli_runner.run(["permissions", "--for", "deploy", "--output", "json"],
                            cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == deploy_policy
    text = cli_runner.run(["permissions", "--for", "operate"], cwd=tmp_path)
    assert text.returncode == 0, text.stderr
    assert "batch:SubmitJob" in text.stdout and "rastervision run batch_retry" in text.stdout
    assert "--output json" in text.stdout


def test_a_template_given_is_read_instead(tmp_path):
    path = tmp_path / "t.yml"
    path.write_text("Resources:\n  Q:\n    Type: AWS::SQS::Queue\n")
    result = cli_runner.run(["permissions", "--template", str(path), "--output", "json"],
                            cwd=tmp_path)
    document = json.loads(result.stdout)
    assert allowed(document, "sqs:CreateQueue") and not allowed(document, "batch:CreateJobQueue")
    bad = tmp_path / "no.yml"
    bad.write_text("a: 1\n")
    refused = cli_runner.run(["permissions", "--template", str(bad)], cwd=tmp_path)
    cli_runner.assert_one_clean_error(refused, "no.yml", "not a CloudFormation template")


# ---- every call the commands make

def test_every_call_of_every_command_is_allowed(emulator, tmp_path, monkeypatch, batch_outcome,
                                                deploy_policy, operate_policy):
    calls = Calls(monkeypatch)
    network = make_network(emulator)
    [image] = make_images(emulator, [("rv-gpu-ami", day(1))])
    quota_stand_in.new_account(quota_stand_in.quotas(emulator))
    configure_batch(emulator.endpoint, use_docker=False)
    stand_in.BATCH.outcome = stand_in.SUCCEED
    fake_docker.install(tmp_path / "bin")
    env = aws_env(emulator, HOME=str(tmp_path), AWS_EC2_METADATA_DISABLED="true",
                  PATH=f"{tmp_path / 'bin'}{os.pathsep}{os.environ['PATH']}",
                  FAKE_DOCKER_LOG=str(tmp_path / "docker-calls.jsonl"),
                  FAKE_DOCKER_IMAGES="rv-local-cpu:dev,rv-local-gpu:dev")
    deploy = ["deploy", "--stack", "rv", "--yes", "--template", str(TEMPLATE),
              *network_parameters(network), "--param", "GpuRepositoryName=rv-gpu",
              "--param", "CpuRepositoryName=rv-cpu", "--param", "NotificationEmail=ops@example.com",
              "--param", f"GpuAMI={image}", "--param", "GpuOnDemandMaximumVCPUs=16",
              "--param", "MonthlyBudget=100", "--param", "BudgetHardStop=true"]
    (tmp_path / "large.yml").write_text(LARGE_TEMPLATE)
    runs = [
        (permissions.DEPLOY, ["choose-subnets", "--vpc", network.vpc_id]),
        (permissions.DEPLOY, deploy),
        (permissions.DEPLOY, ["deploy", "--stack", "rv-large", "--yes", "--template",
                              str(tmp_path / "large.yml")]),
        (permissions.OPERATE, ["rv-config", "--stack", "rv"]),
        (permissions.OPERATE, ["doctor", "--stack", "rv"]),
        (permissions.OPERATE, ["smoke-test", "--stack", "rv", "--interval", "0.02"]),
        (permissions.OPERATE, ["jobs", "--stack", "rv"]),
        (permissions.OPERATE, ["logs", "JOB"]),
        (permissions.OPERATE, ["costs", "--stack", "rv"]),
        (permissions.OPERATE, ["rerun", "nightly", "--stack", "rv", "--on-demand"]),
        (permissions.DEPLOY, ["resume", "--stack", "rv"]),
        (permissions.DEPLOY, ["request-quota", "--stack", "rv", "--kind", "all", "--yes"]),
        (permissions.DEPLOY, ["publish-container", "--stack", "rv", "--kind", "all",
                              "--cpu-image", "rv-local-cpu:dev", "--gpu-image",
                              "rv-local-gpu:dev", "--tag", "v1"]),
        (permissions.DEPLOY, ["teardown", "--stack", "rv", "--yes"]),
    ]
    refused = {}
    seen = set()
    for audience, argv in runs:
        if argv == ["logs", "JOB"]:
            argv = ["logs", a_smoke_test_job(emulator)]
        if argv[0] == "rerun":  # a dead run of the stack (tests/aws/pipeline_runs.py)
            pipeline_runs.dead_run(emulator, stack_outputs(emulator, "rv"), "nightly")
        if argv[0] == "resume":  # the stack as the budget's hard stop leaves it
            stopped(emulator, "rv")
        calls.start()
        result = cli_runner.run(argv, env=env, cwd=tmp_path)
        assert result.returncode in (0, 1), (argv, result.stdout, result.stderr)
        assert calls.actions, argv
        policy = deploy_policy if audience == permissions.DEPLOY else operate_policy
        actions = {IAM_ACTION.get(a, a) for a in calls.actions}
        assert all(permissions.known_action(a) for a in actions), (
            argv, sorted(a for a in actions if not permissions.known_action(a)))
        not_allowed = sorted(a for a in actions if not allowed(policy, a))
        if not_allowed:
            refused[argv[0]] = not_allowed
        seen.update(actions)
    assert refused == {}
    # The runs reached the optional parts: the custom AMI's check and the ECR repositories.
    assert {"ec2:DescribeImages", "ecr:DescribeRepositories", "batch:SubmitJob",
            "servicequotas:RequestServiceQuotaIncrease", "s3:CreateBucket",
            "budgets:ViewBudget", "batch:UpdateComputeEnvironment"} <= seen


def stack_outputs(emulator, stack: str) -> dict[str, str]:
    described = emulator.client("cloudformation").describe_stacks(StackName=stack)["Stacks"][0]
    return outputs(described)


def stopped(emulator, stack: str) -> None:
    """The stack's queues and compute environments DISABLED, as the hard stop leaves them."""
    batch = emulator.client("batch")
    queues = [q for q in batch.describe_job_queues()["jobQueues"]
              if q["jobQueueName"] in stack_outputs(emulator, stack).values()]
    assert queues
    for queue in queues:
        batch.update_job_queue(jobQueue=queue["jobQueueArn"], state="DISABLED")
        for order in queue["computeEnvironmentOrder"]:
            batch.update_compute_environment(computeEnvironment=order["computeEnvironment"],
                                             state="DISABLED")


def a_smoke_test_job(emulator) -> str:
    batch = emulator.client("batch")
    for queue in batch.describe_job_queues()["jobQueues"]:
        for job in batch.list_jobs(jobQueue=queue["jobQueueName"],
                                   jobStatus="SUCCEEDED")["jobSummaryList"]:
            return job["jobId"]
    raise AssertionError("smoke-test left no job")
