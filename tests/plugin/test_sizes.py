"""The batch_retry runner's per-command sizes (rastervision/batch_retry/sizes.py) where the
emulator cannot show them: a refused permission (moto does not enforce IAM) and a family or
'optimal' among a queue's instance types. The Batch and EC2 answers are botocore's Stubber on
real clients, each answer in the form the service documents. The submissions themselves are
shown with Raster Vision against the emulator (test_batch_retry_runner.py)."""

from __future__ import annotations

import logging

import boto3
import pytest
from botocore.stub import Stubber

from rastervision.batch_retry import sizes

QUEUE_ARN = "arn:aws:batch:us-east-1:123456789012:job-queue/q"
ENV_ARN = "arn:aws:batch:us-east-1:123456789012:compute-environment/gpu"


def clients():
    session = boto3.Session(region_name="us-east-1", aws_access_key_id="x",
                            aws_secret_access_key="x")
    return session.client("batch"), session.client("ec2")


def queue_answers(stub: Stubber, instance_types: list[str]) -> None:
    stub.add_response("describe_job_queues", {"jobQueues": [{
        "jobQueueName": "q", "jobQueueArn": QUEUE_ARN, "state": "ENABLED", "priority": 1,
        "computeEnvironmentOrder": [{"order": 1, "computeEnvironment": ENV_ARN}]}]},
        {"jobQueues": ["q"]})
    stub.add_response("describe_compute_environments", {"computeEnvironments": [{
        "computeEnvironmentName": "gpu", "computeEnvironmentArn": ENV_ARN,
        "computeResources": {"type": "SPOT", "maxvCpus": 96, "subnets": [],
                             "instanceTypes": instance_types}}]},
        {"computeEnvironments": [ENV_ARN]})


def ec2_type(name: str, vcpus: int, gib: int, gpus: int) -> dict:
    return {"InstanceType": name, "VCpuInfo": {"DefaultVCpus": vcpus},
            "MemoryInfo": {"SizeInMiB": gib * 1024},
            "GpuInfo": {"Gpus": [{"Count": gpus}]} if gpus else {}}


def test_a_family_is_every_size_of_it_and_the_largest_holds_the_size():
    batch, ec2 = clients()
    with Stubber(batch) as b, Stubber(ec2) as e:
        queue_answers(b, ["g5"])
        e.add_response("describe_instance_types", {"InstanceTypes": [
            ec2_type("g5.2xlarge", 8, 32, 1), ec2_type("g5.12xlarge", 48, 192, 4)]},
            {"Filters": [{"Name": "instance-type", "Values": ["g5.*"]}]})
        types = sizes.QueueTypes(batch, ec2)
        sizes.check("train", {"GPU": 4, "VCPU": 48, "MEMORY": 180000}, "q", None, types)
        with pytest.raises(sizes.SizeError) as refused:
            sizes.check("train", {"GPU": 8}, "q", None, types)  # the queue is read once
    assert ("no instance type of job queue q holds on one instance: g5.2xlarge (1 GPU, 8 "
            "vCPUs, 30802 MiB for jobs), g5.12xlarge (4 GPUs, 48 vCPUs, 184812 MiB for jobs)"
            ) in str(refused.value)


@pytest.mark.parametrize("code", ["AccessDeniedException", "UnauthorizedOperation"])
def test_a_refused_permission_leaves_the_size_unchecked_with_a_warning(code, caplog):
    batch, ec2 = clients()
    with Stubber(batch) as b, caplog.at_level(logging.WARNING):
        b.add_client_error("describe_job_queues", code, "not authorized", 400)
        sizes.check("train", {"GPU": 4}, "q", None, sizes.QueueTypes(batch, ec2))
    assert f"the instance types of job queue q could not be read ({code})" in caplog.text


def test_an_optimal_environment_leaves_the_size_unchecked_with_a_warning(caplog):
    batch, ec2 = clients()
    with Stubber(batch) as b, caplog.at_level(logging.WARNING):
        queue_answers(b, ["optimal"])
        sizes.check("chip", {"VCPU": 64}, "q", None, sizes.QueueTypes(batch, ec2))
    assert "compute environment gpu has 'optimal' instance types" in caplog.text


def test_other_errors_are_not_taken_for_a_refusal():
    batch, ec2 = clients()
    with Stubber(batch) as b:
        b.add_client_error("describe_job_queues", "ServerException", "boom", 500)
        with pytest.raises(Exception, match="ServerException"):
            sizes.check("train", {"GPU": 4}, "q", None, sizes.QueueTypes(batch, ec2))


def test_the_job_definition_completes_a_partial_size():
    batch, ec2 = clients()
    with Stubber(batch) as b, Stubber(ec2) as e:
        queue_answers(b, ["g5.2xlarge"])
        e.add_response("describe_instance_types", {"InstanceTypes": [
            ec2_type("g5.2xlarge", 8, 32, 1)]},
            {"Filters": [{"Name": "instance-type", "Values": ["g5.2xlarge"]}]})
        b.add_response("describe_job_definitions", {"jobDefinitions": [{
            "jobDefinitionName": "d", "jobDefinitionArn": "arn:d:1", "revision": 1,
            "type": "container", "containerProperties": {"resourceRequirements": [
                {"type": "VCPU", "value": "8"}, {"type": "MEMORY", "value": "28000"},
                {"type": "GPU", "value": "1"}]}}]},
            {"jobDefinitionName": "d", "status": "ACTIVE"})
        with pytest.raises(sizes.SizeError) as refused:
            sizes.check("train", {"GPU": 2}, "q", "d", sizes.QueueTypes(batch, ec2))
    assert "train asks for 2 GPUs, 8 vCPUs, 28000 MiB ([BATCH] train_gpus)" in str(refused.value)


@pytest.mark.parametrize("gpus, expected", [(1, []), (2, ["MASTER_PORT"]), (8, ["MASTER_PORT"])])
def test_only_a_job_with_several_gpus_gets_a_port_of_its_own(gpus, expected):
    assert [v["name"] for v in sizes.environment({"GPU": gpus})] == expected
    assert sizes.environment({"GPU": 4}, port=21000) == [{"name": "MASTER_PORT",
                                                          "value": "21000"}]
