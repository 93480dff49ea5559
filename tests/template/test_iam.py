"""IAM: least privilege for instances and jobs, documents built with awacs."""

from __future__ import annotations

import json

from rv_batch_cfn.template import policies
from tests.template.helpers import props, resources


def test_only_two_roles_and_no_spot_fleet_or_batch_service_role():
    assert sorted(resources(of_type="AWS::IAM::Role")) == ["BatchInstanceRole", "BatchJobRole"]


def test_instance_role_has_ecs_and_ssm_and_no_data_access():
    role = props("BatchInstanceRole")
    assert role["ManagedPolicyArns"] == [
        {"Fn::Sub": "arn:${AWS::Partition}:iam::aws:policy/service-role/"
                    "AmazonEC2ContainerServiceforEC2Role"},
        {"Fn::Sub": "arn:${AWS::Partition}:iam::aws:policy/AmazonSSMManagedInstanceCore"},
    ]
    assert "Policies" not in role
    assert "S3" not in json.dumps(role)
    principal = role["AssumeRolePolicyDocument"]["Statement"][0]["Principal"]
    assert principal == {"Service": [{"Fn::Sub": "ec2.${AWS::URLSuffix}"}]}


def test_instance_profile_wraps_the_instance_role():
    assert props("BatchInstanceProfile")["Roles"] == [{"Ref": "BatchInstanceRole"}]


def test_job_role_is_for_ecs_tasks_of_this_account_only():
    statement = props("BatchJobRole")["AssumeRolePolicyDocument"]["Statement"][0]
    assert statement["Principal"] == {"Service": [{"Fn::Sub": "ecs-tasks.${AWS::URLSuffix}"}]}
    assert statement["Condition"]["StringEquals"] == {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}


def expand(resource, buckets):
    """What CloudFormation makes of the Split/Join expression for a given S3Buckets list."""
    split = resource["Fn::Split"]
    assert split[0] == ","
    join = split[1]["Fn::Join"]
    parts = []
    for part in join[1]:
        if isinstance(part, dict):
            delimiter, _ = part["Fn::Join"]
            parts.append(delimiter.join(buckets))
        else:
            parts.append(part)
    return join[0].join(parts).split(",")


def test_job_role_s3_access_names_only_the_configured_buckets():
    document = props("BatchJobRole")["Policies"][0]["PolicyDocument"]
    list_statement, object_statement = document["Statement"]
    assert expand(list_statement["Resource"], ["a", "b"]) == ["arn:*:s3:::a", "arn:*:s3:::b"]
    assert expand(object_statement["Resource"], ["a", "b"]) == ["arn:*:s3:::a/*", "arn:*:s3:::b/*"]
    assert expand(object_statement["Resource"], ["*"]) == ["arn:*:s3:::*/*"]
    assert "s3:*" not in json.dumps(document)
    assert set(object_statement["Action"]) == {"s3:GetObject", "s3:PutObject", "s3:DeleteObject",
                                               "s3:AbortMultipartUpload",
                                               "s3:ListMultipartUploadParts"}


def test_policy_functions_are_pure_awacs_documents():
    from awacs.aws import PolicyDocument
    from troposphere import Ref, encode_to_dict

    first, second = policies.s3_access(Ref("S3Buckets")), policies.s3_access(Ref("S3Buckets"))
    assert isinstance(first, PolicyDocument)
    assert encode_to_dict(first) == encode_to_dict(second)
    assert encode_to_dict(first)["Statement"][0]["Sid"] == "ListBuckets"
