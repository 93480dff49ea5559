"""IAM: least privilege for instances and jobs, documents built with awacs, and what the policies
allow once CloudFormation has resolved them (tests/template/intrinsics.py)."""

from __future__ import annotations

import copy
import json

import pytest

from rv_batch_cfn import StackConfig
from rv_batch_cfn.template import iam, policies
from tests.named_configs import CONFIGS
from tests.template.helpers import props, resources, template
from tests.template.intrinsics import Resolver, s3_write_grants, wildcard_bucket_writes

KEY = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"


def created(**values: str) -> dict:
    """The resources CloudFormation creates from the default template with these values."""
    return Resolver(template(), **values).resources()


def test_only_two_roles_and_no_spot_fleet_or_batch_service_role():
    # And the budget's hard stop's, which exists only with BudgetHardStop (tests/template/test_budget.py).
    assert sorted(resources(of_type="AWS::IAM::Role")) == [
        "BatchInstanceRole", "BatchJobRole", "BudgetStopRole"]
    assert resources(of_type="AWS::IAM::Role")["BudgetStopRole"]["Condition"] == "StopsAtBudget"


def test_instance_role_has_only_the_ecs_agents_managed_policy():
    # Jobs use host networking, so they can use the instance role: AmazonSSMManagedInstanceCore
    # would let any job read every SSM parameter of the account (ssm:GetParameters on *).
    role = props("BatchInstanceRole")
    assert role["ManagedPolicyArns"] == [
        {"Fn::Sub": "arn:${AWS::Partition}:iam::aws:policy/service-role/"
                    "AmazonEC2ContainerServiceforEC2Role"}]
    assert "SSM" not in json.dumps(role) and "Policies" not in role
    assert "S3" not in json.dumps(role)
    principal = role["AssumeRolePolicyDocument"]["Statement"][0]["Principal"]
    assert principal == {"Service": [{"Fn::Sub": "ec2.${AWS::URLSuffix}"}]}
    # Whatever attaches to the instance role, in any configuration, grants no ssm:GetParameter*.
    for values in ({}, {"EnableSessionManager": "true"}):
        for name, resource in created(**values).items():
            text = json.dumps(resource)
            if "BatchInstanceRole" in text:
                assert "GetParameter" not in text and "ssm:*" not in text, name


def test_session_manager_is_off_by_default_and_scoped_when_on():
    assert iam.SESSION_MANAGER_POLICY not in created()
    policy = created(EnableSessionManager="true")[iam.SESSION_MANAGER_POLICY]["Properties"]
    assert policy["Roles"] == ["<BatchInstanceRole>"]
    actions = {a for s in policy["PolicyDocument"]["Statement"] for a in s["Action"]}
    assert {a.split(":")[0] for a in actions} == {"ssmmessages", "ec2messages", "ssm"}
    assert {a for a in actions if a.startswith("ssm:")} == {"ssm:UpdateInstanceInformation"}
    register = next(s for s in policy["PolicyDocument"]["Statement"]
                    if s["Action"] == ["ssm:UpdateInstanceInformation"])
    assert register["Resource"] == ["arn:aws:ec2:us-east-1:123456789012:instance/*"]


def test_instance_profile_wraps_the_instance_role():
    assert props("BatchInstanceProfile")["Roles"] == [{"Ref": "BatchInstanceRole"}]


def test_job_role_is_for_ecs_tasks_of_this_account_only():
    statement = props("BatchJobRole")["AssumeRolePolicyDocument"]["Statement"][0]
    assert statement["Principal"] == {"Service": [{"Fn::Sub": "ecs-tasks.${AWS::URLSuffix}"}]}
    assert statement["Condition"]["StringEquals"] == {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}


def statements(resources_: dict, name: str) -> list[dict]:
    return resources_[name]["Properties"]["PolicyDocument"]["Statement"]


def test_by_default_jobs_read_every_bucket_and_write_none():
    made = created()
    assert iam.JOB_S3_READ_WRITE_POLICY not in made and iam.JOB_KMS_POLICY not in made
    assert s3_write_grants(made) == []
    listing, objects = statements(made, iam.JOB_S3_READ_ONLY_POLICY)
    assert listing["Action"] == ["s3:ListBucket", "s3:GetBucketLocation"]
    assert listing["Resource"] == ["arn:*:s3:::*"]
    assert objects["Action"] == ["s3:GetObject"] and objects["Resource"] == ["arn:*:s3:::*/*"]


def test_write_access_names_exactly_the_given_buckets():
    made = created(S3Buckets="rv-data,rv-results", S3ReadOnlyBuckets="")
    assert iam.JOB_S3_READ_ONLY_POLICY not in made
    listing, objects = statements(made, iam.JOB_S3_READ_WRITE_POLICY)
    assert listing["Resource"] == ["arn:*:s3:::rv-data", "arn:*:s3:::rv-results"]
    assert objects["Resource"] == ["arn:*:s3:::rv-data/*", "arn:*:s3:::rv-results/*"]
    assert set(objects["Action"]) == {"s3:GetObject", "s3:PutObject", "s3:DeleteObject",
                                      "s3:AbortMultipartUpload", "s3:ListMultipartUploadParts"}
    assert made[iam.JOB_S3_READ_WRITE_POLICY]["Properties"]["Roles"] == ["<BatchJobRole>"]
    assert "s3:*" not in json.dumps(made)


@pytest.mark.parametrize("name", sorted(CONFIGS))
@pytest.mark.parametrize("values", [{}, {"S3Buckets": "rv-data", "S3KmsKeyArns": KEY,
                                         "EnableSessionManager": "true"}],
                         ids=["defaults", "everything-on"])
def test_no_s3_write_on_a_wildcard_bucket(name, values):
    """checkov passes `arn:*:s3:::*/*` hidden in Fn::Split; resolved, no policy may write to a
    bucket named with a wildcard."""
    from rv_batch_cfn import build_template, render_yaml
    from tests.emulator import load_template

    data = load_template(render_yaml(build_template(CONFIGS[name])))
    made = Resolver(data, **values).resources()
    assert wildcard_bucket_writes(made) == []
    if values or CONFIGS[name].s3_buckets:
        assert s3_write_grants(made), "nothing to check: the write policy is missing"


def test_the_wildcard_check_catches_the_original_default():
    # The original template's S3Buckets default `*`, forced past the parameter's pattern.
    data = copy.deepcopy(template())
    data["Parameters"]["S3Buckets"]["Default"] = "*"
    found = wildcard_bucket_writes(Resolver(data).resources())
    assert "JobS3ReadWritePolicy: s3:PutObject on arn:*:s3:::*/*" in found
    assert "JobS3ReadWritePolicy: s3:DeleteObject on arn:*:s3:::*/*" in found


def test_read_only_access_never_writes_even_to_every_bucket():
    made = created(S3ReadOnlyBuckets="*")
    for statement in statements(made, iam.JOB_S3_READ_ONLY_POLICY):
        assert set(statement["Action"]) <= {"s3:GetObject", "s3:ListBucket",
                                            "s3:GetBucketLocation"}


def test_kms_statement_exists_only_with_keys_and_names_only_them():
    assert iam.JOB_KMS_POLICY not in created()
    other = KEY.replace("1234abcd", "5678abcd")
    [statement] = statements(created(S3KmsKeyArns=f"{KEY},{other}"), iam.JOB_KMS_POLICY)
    assert statement["Action"] == ["kms:Decrypt", "kms:GenerateDataKey"]
    assert statement["Resource"] == [KEY, other]
    assert statement["Condition"] == {"StringLike": {"kms:ViaService": "s3.*.amazonaws.com"}}


def test_policy_functions_are_pure_awacs_documents():
    from awacs.aws import PolicyDocument
    from troposphere import Ref, encode_to_dict

    first, second = policies.s3_access(Ref("S3Buckets")), policies.s3_access(Ref("S3Buckets"))
    assert isinstance(first, PolicyDocument)
    assert encode_to_dict(first) == encode_to_dict(second)
    assert encode_to_dict(first)["Statement"][0]["Sid"] == "ListBuckets"


def test_the_config_refuses_a_wildcard_write_bucket():
    from rv_batch_cfn.errors import ConfigError

    with pytest.raises(ConfigError, match=r"s3_buckets\[0\]: got '\*'; allowed: an S3 bucket name"):
        StackConfig(s3_buckets=("*",)).validate()
