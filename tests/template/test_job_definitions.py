"""The per-project job-definitions template: committed and fresh, lint-clean, and deployed in
the emulator beside a main stack whose queues, job role and log group it uses."""

from __future__ import annotations

import configparser

import pytest

from rv_batch_cfn import build_job_definitions_template, check_template, render_yaml
from rv_batch_cfn.config import from_dict
from rv_batch_cfn.template import iam, job_queues
from rv_batch_cfn.template import job_definitions as jd
from rv_batch_cfn.template import outputs as out
from tests.emulator import (
    JOB_DEF_TEMPLATE, deploy, deploy_project, load_template, make_network, outputs, physical_ids,
    run_cli,
)

REPOSITORY = "raster-vision"


def test_committed_template_is_fresh():
    assert JOB_DEF_TEMPLATE.read_text() == render_yaml(build_job_definitions_template()), (
        "cloudformation/job-definitions.yml is stale: run make job-def-template")


# The committed job-definitions template is clean under cfn-lint: tests/template/
# test_security_scan.py lints it with cfn-lint's command line.


def test_config_sets_the_defaults():
    config = from_dict({"gpu": {"repository_name": "team/rv", "job_vcpus": 4},
                        "job_attempts": 5, "job_timeout_seconds": 3600})
    text = render_yaml(build_job_definitions_template(config))
    check_template(text)
    declared = load_template(text)["Parameters"]
    assert declared[jd.REPOSITORY_NAME]["Default"] == "team/rv"
    assert declared["GPUInstanceVCPUs"]["Default"] == 4
    assert declared["GpuJobAttempts"]["Default"] == declared["CpuJobAttempts"]["Default"] == 5
    assert declared["CpuJobTimeout"]["Default"] == "3600"  # a String, for its pattern
    # Without one in the config, the repository has no default: the console asks for it.
    assert "Default" not in load_template(JOB_DEF_TEMPLATE.read_text())["Parameters"][
        jd.REPOSITORY_NAME]


def active(emulator, name: str) -> dict:
    found = emulator.client("batch").describe_job_definitions(
        jobDefinitionName=name, status="ACTIVE")["jobDefinitions"]
    assert len(found) == 1, found
    return found[0]


@pytest.fixture
def main_stack(emulator):
    net = make_network(emulator)
    stack = deploy(emulator, "rv", net, Prefix="team")
    return {"stack": stack, "ids": physical_ids(emulator, "rv")}


def test_beside_a_main_stack(emulator, main_stack):
    project = deploy_project(emulator, "rv-alice", MainStackName="rv", Namespace="alice",
                             RepositoryName=REPOSITORY, GpuJobAttempts=4)
    account = emulator.client("sts").get_caller_identity()["Account"]
    main_outputs = outputs(main_stack["stack"])
    sent = project["sent"]
    for kind in ("gpu", "cpu"):
        title = kind.capitalize()
        name = outputs(project["stack"])[f"{title}JobDefinitionName"]
        assert name == f"alice-RasterVision{title}JobDefinition"
        definition = active(emulator, name)
        container = definition["containerProperties"]
        assert container["image"] == \
            f"{account}.dkr.ecr.{emulator.region}.amazonaws.com/{REPOSITORY}:alice"
        requirements = {r["type"]: str(r["value"]) for r in container["resourceRequirements"]}
        k = jd.KINDS[kind]
        assert requirements == {"VCPU": sent[k.size.vcpus], "MEMORY": sent[k.size.memory],
                                **({"GPU": "1"} if kind == "gpu" else {})}
        assert container["linuxParameters"]["sharedMemorySize"] == int(sent[k.shared_memory])
        assert definition["retryStrategy"]["attempts"] == int(sent[k.attempts])
        # The main stack's role and log group, through its exports.
        assert container["jobRoleArn"] == main_outputs[out.JOB_ROLE_ARN]
        assert container["logConfiguration"]["options"]["awslogs-group"] == \
            main_stack["ids"][job_queues.LOG_GROUP]
        # Built by the same function as the main stack's: everything but the image and the
        # attempts (set apart above) is the same as on the main stack's job definition.
        main = active(emulator, main_outputs[f"{title}JobDefinitionName"])
        assert {key: v for key, v in container.items() if key != "image"} == \
            {key: v for key, v in main["containerProperties"].items() if key != "image"}
        assert definition["retryStrategy"]["evaluateOnExit"] == \
            main["retryStrategy"]["evaluateOnExit"]
    role_name = main_stack["ids"][iam.JOB_ROLE]
    assert main_outputs[out.JOB_ROLE_ARN].endswith(f"/{role_name}")


def test_two_namespaces_coexist(emulator, main_stack):
    own_role = emulator.client("iam").create_role(
        RoleName="bob-jobs", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    deploy_project(emulator, "rv-alice", MainStackName="rv", Namespace="alice",
                   RepositoryName=REPOSITORY)
    deploy_project(emulator, "rv-bob", MainStackName="rv", Namespace="bob",
                   RepositoryName="bob/rv", ImageTag="v2", JobRoleArn=own_role)
    alice = active(emulator, "alice-RasterVisionGpuJobDefinition")["containerProperties"]
    bob = active(emulator, "bob-RasterVisionGpuJobDefinition")["containerProperties"]
    assert alice["image"].endswith(f"/{REPOSITORY}:alice")
    assert bob["image"].endswith("/bob/rv:v2")
    assert alice["jobRoleArn"] == outputs(main_stack["stack"])[out.JOB_ROLE_ARN]
    assert bob["jobRoleArn"] == own_role
    names = {d["jobDefinitionName"] for d in emulator.client("batch").describe_job_definitions(
        status="ACTIVE")["jobDefinitions"]}
    assert names == {"teamRasterVisionGpuJobDefinition", "teamRasterVisionCpuJobDefinition",
                     "alice-RasterVisionGpuJobDefinition", "alice-RasterVisionCpuJobDefinition",
                     "bob-RasterVisionGpuJobDefinition", "bob-RasterVisionCpuJobDefinition"}


def test_deploy_and_rv_config_with_job_def_stack(emulator, main_stack):
    deployed = run_cli(emulator, "deploy", "--stack", "rv-alice", "--yes",
                       "--template", str(JOB_DEF_TEMPLATE), "--param", "MainStackName=rv",
                       "--param", "Namespace=alice", "--param", f"RepositoryName={REPOSITORY}",
                       "--param", "GpuJobAttempts=4", "--param", "CpuJobAttempts=2")
    assert deployed.returncode == 0, deployed.stderr
    assert "Next: rv-batch-cfn rv-config --stack rv --job-def-stack rv-alice --write" in \
        deployed.stdout

    result = run_cli(emulator, "rv-config", "--stack", "rv", "--job-def-stack", "rv-alice")
    assert result.returncode == 0, result.stderr
    parser = configparser.ConfigParser()
    parser.read_string(result.stdout)
    main_outputs = outputs(main_stack["stack"])
    assert dict(parser[out.BATCH_SECTION]) == {
        "gpu_job_queue": main_outputs[out.GPU_JOB_QUEUE],
        "gpu_job_def": active(emulator, "alice-RasterVisionGpuJobDefinition")["jobDefinitionName"],
        "cpu_job_queue": main_outputs[out.CPU_JOB_QUEUE],
        "cpu_job_def": active(emulator, "alice-RasterVisionCpuJobDefinition")["jobDefinitionName"],
        # Raster Vision passes one attempts value to every job: the larger of the two.
        "attempts": "4",
        # The main stack's region, which the batch_retry runner submits in.
        "region": emulator.region,
        # The train size is the main stack's: train jobs run on its GPU queue.
        "train_gpus": "1", "train_vcpus": "8", "train_memory": "28000"}

    # The job-definitions stack has no queues: naming it as the main stack is a clear error.
    wrong = run_cli(emulator, "rv-config", "--stack", "rv-alice")
    assert wrong.returncode == 2
    assert "stack 'rv-alice' has no output GpuJobQueueName" in wrong.stderr


def test_rv_config_refuses_a_job_def_stack_of_another_main_stack(emulator, main_stack):
    deploy(emulator, "rv-other", make_network(emulator, key_name="other-key"), Prefix="other")
    deploy_project(emulator, "rv-alice", MainStackName="rv", Namespace="alice",
                   RepositoryName=REPOSITORY)
    result = run_cli(emulator, "rv-config", "--stack", "rv-other", "--job-def-stack", "rv-alice")
    assert result.returncode == 2, result.stdout
    error = result.stderr.strip().splitlines()
    assert len(error) == 1 and "Traceback" not in result.stderr, result.stderr
    assert error[0].startswith(
        "rv-batch-cfn rv-config: error: stack 'rv-alice' (--job-def-stack) was deployed for "
        "main stack 'rv' (MainStackName=rv), not for 'rv-other' (--stack)")
    assert "Pass --stack rv, or deploy job definitions with MainStackName=rv-other" in error[0]
    assert result.stdout == ""

    # A main stack is no job-definitions stack: it has no MainStackName.
    result = run_cli(emulator, "rv-config", "--stack", "rv", "--job-def-stack", "rv-other")
    assert result.returncode == 2
    assert "stack 'rv-other' (--job-def-stack) has no parameter MainStackName" in result.stderr


def test_main_stack_that_does_not_export(emulator, main_stack):
    failed = run_cli(emulator, "deploy", "--stack", "rv-alice", "--yes",
                     "--template", str(JOB_DEF_TEMPLATE), "--param", "MainStackName=nosuch",
                     "--param", "Namespace=alice", "--param", f"RepositoryName={REPOSITORY}")
    assert failed.returncode == 2
    assert "nosuch-JobRoleArn" in failed.stderr or "nosuch-JobLogGroupName" in failed.stderr
