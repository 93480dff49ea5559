"""Roles and the instance profile. No role names: two stacks never collide, and a replacement
update can create the new role before deleting the old one."""

from __future__ import annotations

from troposphere import GetAtt, Ref, Template, iam

from . import parameters as p
from . import policies

INSTANCE_ROLE = "BatchInstanceRole"
INSTANCE_PROFILE = "BatchInstanceProfile"
JOB_ROLE = "BatchJobRole"


def add_instance_role(t: Template) -> iam.InstanceProfile:
    """Role of the EC2 instances: the ECS agent's needs and Session Manager, and no data access
    (jobs get theirs from the job role)."""
    role = t.add_resource(iam.Role(
        INSTANCE_ROLE,
        Description="Raster Vision Batch instances: ECS agent and Session Manager",
        AssumeRolePolicyDocument=policies.assume_role("ec2"),
        ManagedPolicyArns=[
            policies.managed_policy("service-role/AmazonEC2ContainerServiceforEC2Role"),
            policies.managed_policy("AmazonSSMManagedInstanceCore"),
        ],
    ))
    return t.add_resource(iam.InstanceProfile(INSTANCE_PROFILE, Roles=[Ref(role)]))


def add_job_role(t: Template) -> iam.Role:
    """Role of the job containers: S3 access limited to the configured buckets."""
    return t.add_resource(iam.Role(
        JOB_ROLE,
        Description="Raster Vision Batch jobs: S3 access to the configured buckets",
        AssumeRolePolicyDocument=policies.ecs_task_trust(),
        Policies=[iam.Policy(PolicyName="s3-access",
                             PolicyDocument=policies.s3_access(Ref(p.S3_BUCKETS)))],
    ))


def instance_profile_arn() -> GetAtt:
    """What Batch wants as InstanceRole (Ref on a profile is its name)."""
    return GetAtt(INSTANCE_PROFILE, "Arn")


def job_role_arn() -> GetAtt:
    """What a job definition wants as JobRoleArn."""
    return GetAtt(JOB_ROLE, "Arn")
