"""Job queues, job definitions and the log group."""

from __future__ import annotations

import pytest

from tests.template.helpers import props, resources


@pytest.mark.parametrize("kind", ["Gpu", "Cpu"])
def test_queue_feeds_its_own_environment(kind):
    queue = props(f"{kind}JobQueue")
    assert queue["JobQueueName"] == {"Fn::Sub": f"${{Prefix}}RasterVision{kind}JobQueue"}
    assert queue["ComputeEnvironmentOrder"] == [
        {"ComputeEnvironment": {"Ref": f"{kind}ComputeEnvironment"}, "Order": 1}]


@pytest.mark.parametrize("kind,upper,gpu", [("Gpu", "GPU", True), ("Cpu", "CPU", False)])
def test_job_definition(kind, upper, gpu):
    job = props(f"{kind}JobDefinition")
    assert job["JobDefinitionName"] == {"Fn::Sub": f"${{Prefix}}RasterVision{kind}JobDefinition"}
    assert job["PropagateTags"] is True
    assert job["RetryStrategy"] == {"Attempts": {"Ref": "JobAttempts"}, "EvaluateOnExit": [
        {"OnStatusReason": "Host EC2*", "Action": "RETRY"},
        {"OnReason": "*", "Action": "EXIT"}]}
    assert job["Timeout"] == {"Fn::If": ["HasJobTimeout",
                                         {"AttemptDurationSeconds": {"Ref": "JobTimeout"}},
                                         {"Ref": "AWS::NoValue"}]}
    container = job["ContainerProperties"]
    expected = [{"Type": "VCPU", "Value": {"Ref": f"{upper}InstanceVCPUs"}},
                {"Type": "MEMORY", "Value": {"Ref": f"{upper}InstanceMemory"}}]
    if gpu:
        expected.append({"Type": "GPU", "Value": "1"})
    assert container["ResourceRequirements"] == expected
    assert "Vcpus" not in container and "Memory" not in container  # deprecated fields
    assert container["LinuxParameters"] == {"SharedMemorySize": {"Ref": "SharedMemorySize"}}
    assert container["Privileged"] is False
    assert container["MountPoints"] == [{"SourceVolume": "data", "ContainerPath": "/opt/data",
                                         "ReadOnly": False}]
    # A folder of the jobs' own, which the launch templates' user data prepares: not the home
    # of ec2-user, a sudoer, where a job could leave SSH keys or dotfiles behind.
    assert container["Volumes"] == [{"Name": "data",
                                     "Host": {"SourcePath": "/var/lib/rv-scratch"}}]
    assert container["JobRoleArn"] == {"Fn::GetAtt": ["BatchJobRole", "Arn"]}
    assert container["LogConfiguration"]["Options"]["awslogs-group"] == {"Ref": "JobLogGroup"}
    assert container["Image"] == {"Fn::If": [
        f"{kind}UsesEcr",
        {"Fn::Sub": ["${AWS::AccountId}.dkr.ecr.${AWS::Region}.${AWS::URLSuffix}/"
                     "${Repository}:${Tag}",
                     {"Repository": {"Ref": f"{kind}RepositoryName"}, "Tag": {"Ref": "ImageTag"}}]},
        {"Ref": f"{kind}Image"}]}


def test_log_group_is_owned_by_the_stack_with_retention():
    (group,) = resources(of_type="AWS::Logs::LogGroup").values()
    # Encrypted with the LogKmsKeyArn key when one is given; else CloudWatch Logs' own keys.
    assert group["Properties"] == {
        "RetentionInDays": {"Ref": "LogRetentionDays"},
        "KmsKeyId": {"Fn::If": ["HasLogKmsKey", {"Ref": "LogKmsKeyArn"}, {"Ref": "AWS::NoValue"}]}}
    assert "LogGroupName" not in group["Properties"]
