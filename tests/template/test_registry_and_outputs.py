"""ECR repositories and Outputs."""

from __future__ import annotations

import configparser
import json

import pytest

from tests.template.helpers import resources, template


@pytest.mark.parametrize("kind", ["Gpu", "Cpu"])
def test_repository_is_optional_scanned_encrypted_and_retained(kind):
    repo = resources()[f"{kind}Repository"]
    assert repo["Condition"] == f"Create{kind}Repository"
    assert repo["DeletionPolicy"] == repo["UpdateReplacePolicy"] == "Retain"
    p = repo["Properties"]
    assert p["ImageScanningConfiguration"] == {"ScanOnPush": True}
    assert p["EncryptionConfiguration"] == {"EncryptionType": "KMS"}
    rules = json.loads(p["LifecyclePolicy"]["LifecyclePolicyText"])["rules"]
    assert rules[0]["selection"]["tagStatus"] == "untagged"
    assert rules[0]["action"] == {"type": "expire"}
    skip = repo["Metadata"]["checkov"]["skip"][0]
    assert skip["id"] == "CKV_AWS_51" and "publish-container" in skip["comment"]


def test_one_repository_serves_both_kinds_when_the_names_are_equal():
    create_cpu = template()["Conditions"]["CreateCpuRepository"]["Fn::And"]
    assert {"Fn::Not": [{"Fn::Equals": [{"Ref": "CpuRepositoryName"},
                                        {"Ref": "GpuRepositoryName"}]}]} in create_cpu


def test_outputs_name_the_raster_vision_keys_they_feed():
    outputs = template()["Outputs"]
    keys = {name: o["Description"] for name, o in outputs.items()}
    assert keys["GpuJobQueueName"] == "Raster Vision [BATCH] gpu_job_queue"
    assert keys["GpuJobDefinitionName"] == "Raster Vision [BATCH] gpu_job_def"
    assert keys["CpuJobQueueName"] == "Raster Vision [BATCH] cpu_job_queue"
    assert keys["CpuJobDefinitionName"] == "Raster Vision [BATCH] cpu_job_def"


def test_rv_config_output_is_a_section_raster_vision_reads():
    section, names = template()["Outputs"]["RasterVisionConfig"]["Value"]["Fn::Sub"]
    filled = section.replace("${JobAttempts}", "3").replace("${AWS::Region}", "eu-west-3")
    filled = filled.replace("${TrainGPUs}", "4")
    filled = filled.replace("${TrainVCPUs}", "48").replace("${TrainMemory}", "180000")
    for name, value in names.items():  # each itself a !Sub of the prefix
        filled = filled.replace(f"${{{name}}}", value["Fn::Sub"].replace("${Prefix}", "team"))
    parser = configparser.ConfigParser()
    parser.read_string(filled)
    assert dict(parser["BATCH"]) == {
        "gpu_job_queue": "teamRasterVisionGpuJobQueue",
        "gpu_job_def": "teamRasterVisionGpuJobDefinition",
        "cpu_job_queue": "teamRasterVisionCpuJobQueue",
        "cpu_job_def": "teamRasterVisionCpuJobDefinition",
        "attempts": "3", "region": "eu-west-3",
        "train_gpus": "4", "train_vcpus": "48", "train_memory": "180000"}


def test_no_hard_coded_partition_or_dns_suffix():
    text = json.dumps(template())
    assert "arn:aws:" not in text
    assert "amazonaws.com" not in text


@pytest.mark.parametrize("values, created", [
    ({}, set()),
    ({"GpuRepositoryName": "rv"}, {"GpuRepository"}),
    ({"GpuRepositoryName": "rv", "GpuRepositoryMode": "existing"}, set()),
    ({"GpuRepositoryName": "rv", "CpuRepositoryName": "rv"}, {"GpuRepository"}),
    ({"GpuRepositoryName": "rv", "CpuRepositoryName": "rv", "GpuRepositoryMode": "existing"},
     set()),
    ({"GpuRepositoryName": "a", "CpuRepositoryName": "b", "CpuRepositoryMode": "existing"},
     {"GpuRepository"}),
    ({"CpuRepositoryName": "b"}, {"CpuRepository"}),
])
def test_repositories_are_created_only_in_create_mode(values, created):
    from tests.template.intrinsics import Resolver

    made = Resolver(template(), **values).resources()
    assert {n for n, r in made.items() if r["Type"] == "AWS::ECR::Repository"} == created


def test_repository_uris_are_built_from_the_name_so_existing_ones_have_them_too():
    from tests.template.intrinsics import Resolver

    outputs = template()["Outputs"]
    for kind in ("Gpu", "Cpu"):
        assert outputs[f"{kind}RepositoryUri"]["Condition"] == f"{kind}UsesEcr"
    resolver = Resolver(template(), GpuRepositoryName="team/rv", GpuRepositoryMode="existing")
    assert resolver.resolve(outputs["GpuRepositoryUri"]["Value"]) == \
        "123456789012.dkr.ecr.us-east-1.amazonaws.com/team/rv"
    image = resolver.resources()["GpuJobDefinition"]["Properties"]["ContainerProperties"]["Image"]
    assert image == "123456789012.dkr.ecr.us-east-1.amazonaws.com/team/rv:latest"
