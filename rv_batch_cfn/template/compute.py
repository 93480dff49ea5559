"""Launch templates and compute environments: one function serves both kinds."""

from __future__ import annotations

from troposphere import Base64, GetAtt, If, Ref, Sub, Template, batch, ec2

from . import iam, network, userdata
from . import parameters as p
from .parameters import KindParameters, if_set

# The ECS-optimized Amazon Linux 2023 AMIs (and the Deep Learning base AMI) boot from /dev/xvda.
ROOT_DEVICE = "/dev/xvda"
# Batch runs ECS-EC2 jobs with host networking (Batch user guide, "Networking modes for AWS
# Batch jobs"): they reach the instance metadata service, and the instance role's credentials,
# from the host's own network stack whatever this limit is. A limit of 1 keeps out anything in a
# Docker bridge network; 2 would let such containers in and buy jobs nothing.
METADATA_HOP_LIMIT = 1
IMAGE_TYPES = {"gpu": "ECS_AL2023_NVIDIA", "cpu": "ECS_AL2023"}
# The tag that names the stack on everything Batch launches for it: the instances (the compute
# resources' tags) and their volumes (the launch template's). Cost Explorer can group the bill
# by it once it is activated as a cost allocation tag (`rv-batch-cfn costs`); CloudFormation's
# own aws:cloudformation:stack-name tag never reaches them, as Batch, not CloudFormation,
# launches them.
STACK_TAG = "rv-batch-cfn:stack"


def title(kind: str) -> str:
    """'gpu' -> 'Gpu'; a name already in capitals, such as GPU_ON_DEMAND, unchanged."""
    return kind[:1].upper() + kind[1:]


def launch_template_id(kind: str) -> str:
    """The logical ID of the kind's launch template: Gpu/CpuLaunchTemplate."""
    return f"{kind.capitalize()}LaunchTemplate"


def compute_environment_id(kind: str) -> str:
    """The logical ID of the kind's compute environment: Gpu/CpuComputeEnvironment."""
    return f"{title(kind)}ComputeEnvironment"


def add_launch_template(t: Template, k: KindParameters) -> ec2.LaunchTemplate:
    """Encrypted gp3 root volume of the configured size and performance, tagged with the stack's
    name, IMDSv2 only, and the user data that prepares the jobs' scratch folder (on NVMe
    instance store when there is)."""
    return t.add_resource(ec2.LaunchTemplate(
        launch_template_id(k.kind),
        LaunchTemplateData=ec2.LaunchTemplateData(
            BlockDeviceMappings=[ec2.LaunchTemplateBlockDeviceMapping(
                DeviceName=ROOT_DEVICE,
                Ebs=ec2.EBSBlockDevice(VolumeSize=Ref(k.storage), VolumeType="gp3",
                                       Throughput=Ref(k.throughput), Iops=Ref(k.iops),
                                       Encrypted=True, DeleteOnTermination=True),
            )],
            UserData=Base64(userdata.user_data()),
            MetadataOptions=ec2.MetadataOptions(HttpEndpoint="enabled", HttpTokens="required",
                                                HttpPutResponseHopLimit=METADATA_HOP_LIMIT),
            TagSpecifications=[ec2.TagSpecifications(
                ResourceType="volume",
                Tags=[{"Key": STACK_TAG, "Value": Ref("AWS::StackName")}])],
        ),
    ))


# The optional on-demand GPU environment (GpuOnDemandMaximumVCPUs above 0): the GPU kind's
# instance types, launch template and AMI, on on-demand instances, scaling from zero.
GPU_ON_DEMAND = "GpuOnDemand"


def add_compute_environment(t: Template, k: KindParameters) -> batch.ComputeEnvironment:
    """A managed environment scaling between MinimumVCPUs and MaximumVCPUs.

    No ComputeEnvironmentName, so an update that needs a replacement can create the new
    environment before deleting the old one; ReplaceComputeEnvironment false with
    UpdateToLatestImageVersion lets instance types, AMI and launch template change in place.
    """
    add_launch_template(t, k)
    return t.add_resource(_environment(
        compute_environment_id(k.kind), k, k.title,
        Type=If(k.on_spot, "SPOT", "EC2"),
        AllocationStrategy=If(k.on_spot, "SPOT_PRICE_CAPACITY_OPTIMIZED", "BEST_FIT_PROGRESSIVE"),
        BidPercentage=if_set(k.on_spot, Ref(p.SPOT_BID_PERCENTAGE)),
        MinvCpus=Ref(p.MINIMUM_VCPUS),
        MaxvCpus=Ref(p.MAXIMUM_VCPUS)))


def add_on_demand_gpu_environment(t: Template) -> batch.ComputeEnvironment:
    """The on-demand GPU environment (condition HasGpuOnDemandQueue): the GPU kind's instance
    types and launch template, on-demand instances, from 0 to GpuOnDemandMaximumVCPUs. Always
    at 0 when idle, whatever MinimumVCPUs says: it is there for the jobs spot cannot place."""
    return t.add_resource(_environment(
        compute_environment_id(GPU_ON_DEMAND), p.GPU, GPU_ON_DEMAND, Condition=p.HAS_GPU_ON_DEMAND_QUEUE,
        Type="EC2", AllocationStrategy="BEST_FIT_PROGRESSIVE", MinvCpus=0,
        MaxvCpus=Ref(p.GPU_ON_DEMAND_MAX_VCPUS)))


def _environment(logical_id: str, k: KindParameters, title: str, Condition: str = "",
                 **capacity: object) -> batch.ComputeEnvironment:
    """A managed environment of kind `k` (its instance types, AMI and launch template), named
    `title` in its instances' Name tag; `capacity`: Type, AllocationStrategy, vCPU bounds."""
    template = launch_template_id(k.kind)
    environment = batch.ComputeEnvironment(
        logical_id,
        Type="MANAGED",
        State="ENABLED",
        ServiceRole=if_set(p.HAS_SERVICE_ROLE, Ref(p.BATCH_SERVICE_ROLE_ARN)),
        ReplaceComputeEnvironment=False,
        ComputeResources=batch.ComputeResources(
            **capacity,
            InstanceTypes=Ref(k.instance_types),
            InstanceRole=iam.instance_profile_arn(),
            SecurityGroupIds=[GetAtt(network.SECURITY_GROUP, "GroupId")],
            Subnets=Ref(p.SUBNET_IDS),
            Ec2KeyPair=if_set(p.HAS_KEY_NAME, Ref(p.KEY_NAME)),
            Ec2Configuration=[batch.Ec2ConfigurationObject(
                ImageType=IMAGE_TYPES[k.kind],
                ImageIdOverride=if_set(k.has_ami, Ref(k.ami)),
            )],
            LaunchTemplate=batch.LaunchTemplateSpecification(
                LaunchTemplateId=Ref(template),
                Version=GetAtt(template, "LatestVersionNumber"),
            ),
            UpdateToLatestImageVersion=True,
            Tags={"Name": Sub(f"${{Prefix}}RasterVision{title}"),
                  "rv-batch-cfn:prefix": Ref(p.PREFIX),
                  STACK_TAG: Ref("AWS::StackName"),
                  "rv-batch-cfn:kind": k.kind},
        ),
        **({"Condition": Condition} if Condition else {}),
    )
    # A property named like the UpdatePolicy resource attribute, which troposphere would hoist
    # out of Properties: running jobs get UpdateJobTimeoutMinutes to finish before an update
    # replaces their instances (Batch's own default, 30 minutes, cuts training runs short).
    environment.properties["UpdatePolicy"] = batch.UpdatePolicy(
        TerminateJobsOnUpdate=False, JobExecutionTimeoutMinutes=Ref(p.UPDATE_JOB_TIMEOUT))
    return environment
