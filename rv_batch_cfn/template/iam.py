"""Roles, their policies and the instance profile. No role names: two stacks never collide, and
a replacement update can create the new role before deleting the old one.

Batch runs ECS-EC2 jobs with host networking, so every job can reach the instance metadata
service and use the instance role's credentials: the instance role holds only what the ECS
agent needs (and, when asked for, Session Manager's few actions), and all data access is the
job role's.
"""

from __future__ import annotations

from troposphere import GetAtt, Ref, Template, iam

from . import parameters as p
from . import policies

INSTANCE_ROLE = "BatchInstanceRole"
INSTANCE_PROFILE = "BatchInstanceProfile"
JOB_ROLE = "BatchJobRole"
# Policies attached only when their parameter asks for them (AWS::IAM::Policy with a Condition).
SESSION_MANAGER_POLICY = "SessionManagerPolicy"
JOB_S3_READ_WRITE_POLICY = "JobS3ReadWritePolicy"
JOB_S3_READ_ONLY_POLICY = "JobS3ReadOnlyPolicy"
JOB_KMS_POLICY = "JobKmsPolicy"
# The only managed policy of the instance role: the ECS agent's (AWS maintains it as the agent
# changes; it grants no data access and no Systems Manager action).
ECS_INSTANCE_POLICY = "service-role/AmazonEC2ContainerServiceforEC2Role"


def add_instance_role(t: Template) -> iam.InstanceProfile:
    """Role of the EC2 instances: the ECS agent's needs; Session Manager only when enabled."""
    role = t.add_resource(iam.Role(
        INSTANCE_ROLE,
        Description="Raster Vision Batch instances: the ECS agent (and optional Session Manager)",
        AssumeRolePolicyDocument=policies.assume_role("ec2"),
        ManagedPolicyArns=[policies.managed_policy(ECS_INSTANCE_POLICY)],
        Metadata=p.guard_suppress("CFN_NO_EXPLICIT_RESOURCE_NAMES", p.NO_NAME_SET),
    ))
    t.add_resource(iam.PolicyType(
        SESSION_MANAGER_POLICY, Condition=p.HAS_SESSION_MANAGER,
        PolicyName="session-manager", Roles=[Ref(role)],
        PolicyDocument=policies.session_manager(),
        Metadata=p.guard_suppress(
            "IAM_POLICYDOCUMENT_NO_WILDCARD_RESOURCE",
            "These actions take only Resource *")))
    return t.add_resource(iam.InstanceProfile(INSTANCE_PROFILE, Roles=[Ref(role)]))


def add_job_role(t: Template) -> iam.Role:
    """Role of the job containers: write access to the named buckets only, read access to the
    read-only ones, and the KMS keys given for SSE-KMS buckets."""
    role = t.add_resource(iam.Role(
        JOB_ROLE,
        Description="Raster Vision Batch jobs: S3 access to the configured buckets",
        AssumeRolePolicyDocument=policies.ecs_task_trust(),
        Metadata=p.guard_suppress("CFN_NO_EXPLICIT_RESOURCE_NAMES", p.NO_NAME_SET),
    ))
    for logical_id, condition, name, document in (
            (JOB_S3_READ_WRITE_POLICY, p.HAS_S3_BUCKETS, "s3-read-write",
             policies.s3_access(Ref(p.S3_BUCKETS))),
            (JOB_S3_READ_ONLY_POLICY, p.HAS_S3_READ_ONLY_BUCKETS, "s3-read-only",
             policies.s3_read_only(Ref(p.S3_READ_ONLY_BUCKETS))),
            (JOB_KMS_POLICY, p.HAS_KMS_KEYS, "kms-s3-keys",
             policies.kms_for_s3(Ref(p.KMS_KEY_ARNS)))):
        t.add_resource(iam.PolicyType(logical_id, Condition=condition, PolicyName=name,
                                      Roles=[Ref(role)], PolicyDocument=document))
    return role


def instance_profile_arn() -> GetAtt:
    """What Batch wants as InstanceRole (Ref on a profile is its name)."""
    return GetAtt(INSTANCE_PROFILE, "Arn")


def job_role_arn() -> GetAtt:
    """What a job definition wants as JobRoleArn."""
    return GetAtt(JOB_ROLE, "Arn")
