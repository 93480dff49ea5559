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


def test_one_environment_per_kind():
    assert sorted(resources(of_type="AWS::Batch::ComputeEnvironment")) == [
        "CpuComputeEnvironment", "GpuComputeEnvironment"]
