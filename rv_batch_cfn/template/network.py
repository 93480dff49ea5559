"""The security group of the Batch instances: outbound web traffic only, inbound only on request."""

from __future__ import annotations

from troposphere import Ref, Sub, Tags, Template, ec2

from . import parameters as p

SECURITY_GROUP = "BatchSecurityGroup"
SSH_INGRESS = "SshIngress"
TENSORBOARD_INGRESS = "TensorBoardIngress"


def add_security_group(t: Template) -> ec2.SecurityGroup:
    """The group, its egress, and ingress rules that exist only when CidrRange is set."""
    group = t.add_resource(ec2.SecurityGroup(
        SECURITY_GROUP,
        GroupDescription="Raster Vision Batch instances",
        VpcId=Ref(p.VPC),
        # Instances pull images, talk to ECS, CloudWatch and S3, and jobs fetch data and weights:
        # all over HTTPS, a few mirrors over HTTP. DNS and NTP go to the VPC's resolver and the
        # link-local time service, which security groups do not filter.
        SecurityGroupEgress=[
            ec2.SecurityGroupRule(IpProtocol="tcp", FromPort=443, ToPort=443, CidrIp="0.0.0.0/0",
                                  Description="HTTPS: images, AWS APIs, S3, data"),
            ec2.SecurityGroupRule(IpProtocol="tcp", FromPort=80, ToPort=80, CidrIp="0.0.0.0/0",
                                  Description="HTTP: package mirrors and public data"),
        ],
        Tags=Tags(Name=Sub("${Prefix}RasterVisionBatch")),
        Metadata=p.guard_suppress(
            "EC2_SECURITY_GROUP_EGRESS_OPEN_TO_WORLD_RULE",
            "Jobs download from anywhere; HTTPS and HTTP only",
            ("CFN_NO_EXPLICIT_RESOURCE_NAMES", p.NO_NAME_SET)),
    ))
    t.add_resource(ec2.SecurityGroupIngress(
        SSH_INGRESS, Condition=p.ALLOWS_SSH, GroupId=Ref(group), IpProtocol="tcp",
        FromPort=22, ToPort=22, CidrIp=Ref(p.CIDR_RANGE),
        Description="SSH from CidrRange (only with a key pair)"))
    t.add_resource(ec2.SecurityGroupIngress(
        TENSORBOARD_INGRESS, Condition=p.HAS_CIDR_RANGE, GroupId=Ref(group), IpProtocol="tcp",
        FromPort=6006, ToPort=6006, CidrIp=Ref(p.CIDR_RANGE),
        Description="TensorBoard from CidrRange"))
    return group
