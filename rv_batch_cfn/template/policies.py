"""IAM policy documents, as pure functions returning awacs objects."""

from __future__ import annotations

from typing import Any

from awacs import ec2messages, kms, s3, ssm, ssmmessages, sts
from awacs.aws import (
    Allow, ArnLike, Condition, PolicyDocument, Principal, Statement, StringEquals, StringLike,
)
from troposphere import AccountId, Join, Split, Sub

VERSION = "2012-10-17"


def service_principal(service: str) -> Principal:
    """`<service>.amazonaws.com`, with the partition's own DNS suffix (amazonaws.com.cn in China)."""
    return Principal("Service", [Sub(f"{service}.${{AWS::URLSuffix}}")])


def assume_role(service: str, condition: Condition | None = None) -> PolicyDocument:
    """Trust policy letting one AWS service assume the role."""
    statement = Statement(Effect=Allow, Action=[sts.AssumeRole], Principal=service_principal(service))
    if condition is not None:
        statement.Condition = condition
    return PolicyDocument(Version=VERSION, Statement=[statement])


def ecs_task_trust() -> PolicyDocument:
    """Trust policy of the job role: ECS tasks of this account and region only (confused deputy)."""
    return assume_role("ecs-tasks", Condition([
        StringEquals("aws:SourceAccount", AccountId),
        ArnLike("aws:SourceArn", Sub("arn:${AWS::Partition}:ecs:${AWS::Region}:${AWS::AccountId}:*")),
    ]))


def _arns(buckets: Any, suffix: str) -> Split:
    # CloudFormation cannot map a prefix over a list, and Fn::Join's delimiter must be a literal,
    # so the partition cannot be spliced between the names; `arn:*:` matches only the role's own
    # partition anyway, since a role exists in exactly one.
    return Split(",", Join("", ["arn:*:s3:::", Join(f"{suffix},arn:*:s3:::", buckets), suffix]))


def s3_access(buckets: Any) -> PolicyDocument:
    """Read, write and list access to the given buckets (a CloudFormation list of names, never
    `*`) and their objects."""
    return PolicyDocument(Version=VERSION, Statement=[
        Statement(Sid="ListBuckets", Effect=Allow,
                  Action=[s3.ListBucket, s3.GetBucketLocation, s3.ListBucketMultipartUploads],
                  Resource=_arns(buckets, "")),
        Statement(Sid="ReadWriteObjects", Effect=Allow,
                  Action=[s3.GetObject, s3.PutObject, s3.DeleteObject, s3.AbortMultipartUpload,
                          s3.ListMultipartUploadParts],
                  Resource=_arns(buckets, "/*")),
    ])


def s3_read_only(buckets: Any) -> PolicyDocument:
    """List and get access to the given buckets (names, or `*` for every bucket): nothing that
    writes, deletes or changes a bucket."""
    return PolicyDocument(Version=VERSION, Statement=[
        Statement(Sid="ListReadOnlyBuckets", Effect=Allow,
                  Action=[s3.ListBucket, s3.GetBucketLocation], Resource=_arns(buckets, "")),
        Statement(Sid="ReadObjects", Effect=Allow, Action=[s3.GetObject],
                  Resource=_arns(buckets, "/*")),
    ])


def kms_for_s3(keys: Any) -> PolicyDocument:
    """What reading and writing SSE-KMS objects takes, with the given keys only (a list of key
    ARNs), and only through S3."""
    return PolicyDocument(Version=VERSION, Statement=[
        Statement(Sid="S3EncryptionKeys", Effect=Allow,
                  Action=[kms.Decrypt, kms.GenerateDataKey], Resource=keys,
                  Condition=Condition(StringLike("kms:ViaService",
                                                 Sub("s3.*.${AWS::URLSuffix}")))),
    ])


def session_manager() -> PolicyDocument:
    """What the SSM agent needs for Session Manager shells, and nothing of Systems Manager's
    parameters, documents or inventory (AmazonSSMManagedInstanceCore would allow
    ssm:GetParameters on every parameter of the account). The messaging actions have no
    resource-level permissions; UpdateInstanceInformation is limited to this account's instances."""
    return PolicyDocument(Version=VERSION, Statement=[
        Statement(Sid="SessionChannels", Effect=Allow,
                  Action=[ssmmessages.CreateControlChannel, ssmmessages.CreateDataChannel,
                          ssmmessages.OpenControlChannel, ssmmessages.OpenDataChannel,
                          ec2messages.AcknowledgeMessage, ec2messages.DeleteMessage,
                          ec2messages.FailMessage, ec2messages.GetEndpoint,
                          ec2messages.GetMessages, ec2messages.SendReply],
                  Resource=["*"]),
        Statement(Sid="RegisterInstance", Effect=Allow,
                  Action=[ssm.UpdateInstanceInformation],
                  Resource=[Sub("arn:${AWS::Partition}:ec2:${AWS::Region}:${AWS::AccountId}:"
                                "instance/*")]),
    ])


def managed_policy(name: str) -> Sub:
    """The ARN of an AWS managed policy, in the stack's partition."""
    return Sub(f"arn:${{AWS::Partition}}:iam::aws:policy/{name}")
