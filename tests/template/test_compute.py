"""Launch templates and compute environments."""

from __future__ import annotations

import pytest

from tests.template.helpers import props, resources


@pytest.mark.parametrize("kind,storage", [("Gpu", "GPUInstanceStorage"),
                                          ("Cpu", "CPUInstanceStorage")])
def test_launch_template_encrypts_gp3_root_and_requires_imdsv2(kind, storage):
    data = props(f"{kind}LaunchTemplate")["LaunchTemplateData"]
    (mapping,) = data["BlockDeviceMappings"]
    assert mapping["DeviceName"] == "/dev/xvda"
    upper = kind.upper()
    assert mapping["Ebs"] == {"VolumeSize": {"Ref": storage}, "VolumeType": "gp3",
                              "Throughput": {"Ref": f"{upper}RootVolumeThroughput"},
                              "Iops": {"Ref": f"{upper}RootVolumeIops"},
                              "Encrypted": True, "DeleteOnTermination": True}
    assert data["MetadataOptions"] == {"HttpEndpoint": "enabled", "HttpTokens": "required",
                                       "HttpPutResponseHopLimit": 1}


@pytest.mark.parametrize("kind,image_type", [("Gpu", "ECS_AL2023_NVIDIA"), ("Cpu", "ECS_AL2023")])
def test_compute_environment(kind, image_type):
    env = props(f"{kind}ComputeEnvironment")
    assert env["Type"] == "MANAGED"
    assert "ComputeEnvironmentName" not in env  # so a replacement update can succeed
    assert env["ReplaceComputeEnvironment"] is False
    # Running jobs get the parameter's minutes (a day by default), not Batch's default 30.
    assert env["UpdatePolicy"] == {"TerminateJobsOnUpdate": False,
                                   "JobExecutionTimeoutMinutes": {"Ref": "UpdateJobTimeoutMinutes"}}
    assert env["ServiceRole"] == {"Fn::If": ["HasBatchServiceRole",
                                             {"Ref": "BatchServiceRoleArn"},
                                             {"Ref": "AWS::NoValue"}]}
    res = env["ComputeResources"]
    spot = f"{kind}OnSpot"
    assert res["Type"] == {"Fn::If": [spot, "SPOT", "EC2"]}
    assert res["AllocationStrategy"] == {"Fn::If": [spot, "SPOT_PRICE_CAPACITY_OPTIMIZED",
                                                    "BEST_FIT_PROGRESSIVE"]}
    assert res["MinvCpus"] == {"Ref": "MinimumVCPUs"}
    assert res["InstanceTypes"] == {"Ref": f"{kind}InstanceTypes"}
    assert res["InstanceRole"] == {"Fn::GetAtt": ["BatchInstanceProfile", "Arn"]}
    assert res["UpdateToLatestImageVersion"] is True
    assert res["LaunchTemplate"] == {
        "LaunchTemplateId": {"Ref": f"{kind}LaunchTemplate"},
        "Version": {"Fn::GetAtt": [f"{kind}LaunchTemplate", "LatestVersionNumber"]}}
    (ec2_config,) = res["Ec2Configuration"]
    assert ec2_config["ImageType"] == image_type
    assert ec2_config["ImageIdOverride"] == {"Fn::If": [f"Has{kind}AMI", {"Ref": f"{kind}AMI"},
                                                        {"Ref": "AWS::NoValue"}]}
    assert res["Tags"]["Name"] == {"Fn::Sub": f"${{Prefix}}RasterVision{kind}"}


def test_one_environment_per_kind_and_the_optional_on_demand_gpu_one():
    environments = resources(of_type="AWS::Batch::ComputeEnvironment")
    assert sorted(environments) == [
        "CpuComputeEnvironment", "GpuComputeEnvironment", "GpuOnDemandComputeEnvironment"]
    assert [n for n, r in environments.items() if "Condition" in r] == [
        "GpuOnDemandComputeEnvironment"]
    on_demand = environments["GpuOnDemandComputeEnvironment"]
    assert on_demand["Condition"] == "HasGpuOnDemandQueue"
    res, gpu = (environments[n]["Properties"]["ComputeResources"]
                for n in ("GpuOnDemandComputeEnvironment", "GpuComputeEnvironment"))
    # on-demand, from zero to its own maximum, otherwise the GPU kind's instances
    assert {k: res[k] for k in ("Type", "AllocationStrategy", "MinvCpus", "MaxvCpus")} == {
        "Type": "EC2", "AllocationStrategy": "BEST_FIT_PROGRESSIVE", "MinvCpus": 0,
        "MaxvCpus": {"Ref": "GpuOnDemandMaximumVCPUs"}}
    assert "BidPercentage" not in res
    for key in ("InstanceTypes", "LaunchTemplate", "Ec2Configuration", "Subnets",
                "SecurityGroupIds", "InstanceRole"):
        assert res[key] == gpu[key], key
