"""What the template's Parameters cannot say, checked by `deploy` before any call to AWS and by
`doctor` on a deployed stack: GPU families the AL2023 NVIDIA AMIs cannot use (each message names
the families to use instead), gp3's ratios, and shared memory beside a job's memory.

moto does not check a parameter's AllowedPattern (CloudFormation does), so a stack deployed
here with a refused GPU family stands for one made with an older template that allowed it. moto
knows p3dn, inf, trn and dl2q types, not p3 or g4ad, and refuses types it does not know."""

from __future__ import annotations

import json

import pytest

from rv_batch_cfn.aws import doctor
from rv_batch_cfn.aws.deploy import parameter_values as checks
from rv_batch_cfn.aws.deploy import load_template
from rv_batch_cfn.errors import ConfigError
from rv_batch_cfn.instance_types import refused_gpu_family
from rv_batch_cfn.template import parameters as params
from tests.emulator import TEMPLATE, deploy, make_network, network_parameters, run_cli
from tests.samples import INSTEAD, REFUSED

TEMPLATE_DATA = load_template(TEMPLATE)[1]
NOWHERE = "http://127.0.0.1:9"  # nothing listens: a call to AWS would fail differently
IDS = [case[0] for case in REFUSED]


def problems(call, *args) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        call(*args)
    return [str(p) for p in caught.value.problems]


@pytest.mark.parametrize("name, family, has", REFUSED, ids=IDS)
def test_deploy_checks_name_the_reason_and_what_to_use(name, family, has):
    found, = problems(checks.check_values, TEMPLATE_DATA,
                      {params.GPU.instance_types: f"g5.2xlarge,{name}"})
    assert found == (f"--param GpuInstanceTypes: got 'g5.2xlarge,{name}'; allowed: GPU families "
                     "the Amazon Linux 2023 NVIDIA AMIs support; item "
                     f"{name!r}: {refused_gpu_family(name)}")
    assert found.endswith(INSTEAD)


@pytest.mark.parametrize("name, family, has", REFUSED, ids=IDS)
def test_deploy_checks_values_kept_from_the_stack(name, family, has):
    values = checks.effective_values(TEMPLATE_DATA, {}, {params.GPU.instance_types: name})
    found, = problems(checks.check_combinations, TEMPLATE_DATA, values)
    assert found.startswith(f"GpuInstanceTypes: got {name!r}; allowed: GPU families")
    assert found.endswith(INSTEAD)


def test_other_items_of_the_list_are_checked_too():
    found, = problems(checks.check_values, TEMPLATE_DATA,
                      {params.GPU.instance_types: "p3.2xlarge,optimal"})
    assert "item 'p3.2xlarge': p3 has NVIDIA V100 GPUs" in found
    assert "item 'optimal': allowed: a value matching" in found


def test_deploy_refuses_a_family_before_any_call():
    result = run_cli(None, "deploy", "--stack", "rv", "--yes", "--param",
                     "GpuInstanceTypes=g5.2xlarge,p3.8xlarge", endpoint=NOWHERE)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "item 'p3.8xlarge': p3 has NVIDIA V100 GPUs" in result.stderr
    assert INSTEAD in result.stderr


@pytest.mark.parametrize("given, expected", [
    ({"GPURootVolumeThroughput": "1000"},
     ["GPURootVolumeThroughput: got 1000; allowed: at most 750 MiB/s with GPURootVolumeIops "
      "3000 (gp3 gives 1 MiB/s per 4 IOPS); or at least 4000 IOPS"]),
    ({"CPUInstanceStorage": "30", "CPURootVolumeIops": "16000"},
     ["CPURootVolumeIops: got 16000; allowed: at most 15000 IOPS, 500 per GiB of "
      "CPUInstanceStorage (30); or a larger volume"]),
    ({"GPURootVolumeThroughput": "1000", "GPURootVolumeIops": "4000"}, []),
], ids=["throughput per IOPS", "IOPS per GiB", "within gp3's limits"])
def test_deploy_checks_gp3_ratios(given, expected):
    values = checks.effective_values(TEMPLATE_DATA, given, {})
    if expected:
        assert problems(checks.check_combinations, TEMPLATE_DATA, values) == expected
    else:
        checks.check_combinations(TEMPLATE_DATA, values)


def test_deploy_refuses_a_gp3_ratio_before_the_change_set(emulator):
    net = make_network(emulator)
    refused = run_cli(emulator, "deploy", "--stack", "rv", "--yes", *network_parameters(net),
                      "--param", "GPURootVolumeThroughput=800")
    assert refused.returncode == 2, refused.stderr
    assert "GPURootVolumeThroughput: got 800; allowed: at most 750 MiB/s" in refused.stderr
    assert emulator.client("cloudformation").list_stacks()["StackSummaries"] == []


def test_deploy_refuses_to_keep_a_refused_family_on_update(emulator):
    net = make_network(emulator)
    deploy(emulator, "rv", net, GpuInstanceTypes="p3dn.24xlarge")
    refused = run_cli(emulator, "deploy", "--stack", "rv", "--yes")
    assert refused.returncode == 2, refused.stderr
    assert "GpuInstanceTypes: got 'p3dn.24xlarge'" in refused.stderr and INSTEAD in refused.stderr
    cfn = emulator.client("cloudformation")
    assert cfn.list_change_sets(StackName="rv")["Summaries"] == []


def run_doctor(cli) -> dict:
    result = cli("doctor", "--stack", "rv", "--json")
    assert result.returncode in (0, 1), result.stderr
    return json.loads(result.stdout)


def findings(report: dict, check: str) -> list[dict]:
    return [f for f in report["findings"] if f["check"] == check]


@pytest.mark.parametrize("name", ["p3dn.24xlarge", "inf2.xlarge", "trn1.2xlarge",
                                  "dl2q.24xlarge"])
def test_doctor_names_the_family_and_what_to_use(emulator, cli, name):
    deploy(emulator, "rv", make_network(emulator), GpuInstanceTypes=f"g5.2xlarge,{name}")
    report = run_doctor(cli)
    assert not report["healthy"]
    found, = findings(report, doctor.GPU_FAMILIES)
    assert found["status"] == doctor.PROBLEM
    assert found["message"] == f"GPU instance type {name}: {refused_gpu_family(name)}"
    assert found["message"].endswith(INSTEAD)
    assert found["fix"] == "Replace it in GpuInstanceTypes and update the stack."


def test_doctor_finds_shared_memory_that_cannot_fit(emulator, cli):
    # 16000 MiB fits beside the GPU job's 28000 MiB, not beside the CPU job's 14000.
    deploy(emulator, "rv", make_network(emulator), SharedMemorySize=16000)
    report = run_doctor(cli)
    by_status = {f["status"]: f for f in findings(report, doctor.SHARED_MEMORY)}
    assert set(by_status) == {doctor.OK, doctor.PROBLEM}
    problem = by_status[doctor.PROBLEM]
    assert problem["message"].startswith(
        "CPU job definition RasterVisionCpuJobDefinition: /dev/shm of 16000 MiB cannot fit "
        "beside the job's 14000 MiB of memory")
    assert "SharedMemorySize well below CPUInstanceMemory" in problem["fix"]
    assert by_status[doctor.OK]["message"] == (
        "GPU job definition RasterVisionGpuJobDefinition: /dev/shm of 16000 MiB fits beside "
        "its 28000 MiB of memory")


def test_doctor_notes_little_shared_memory_for_several_gpus(emulator, cli):
    deploy(emulator, "rv", make_network(emulator), GpuInstanceTypes="g5.12xlarge")
    # A newer revision asking for the 4 GPUs of a g5.12xlarge, as a user might register it.
    batch = emulator.client("batch")
    current = batch.describe_job_definitions(jobDefinitionName="RasterVisionGpuJobDefinition",
                                             status="ACTIVE")["jobDefinitions"][0]
    container = current["containerProperties"]
    container["resourceRequirements"] = [{"type": "VCPU", "value": "32"},
                                         {"type": "MEMORY", "value": "150000"},
                                         {"type": "GPU", "value": "4"}]
    batch.register_job_definition(jobDefinitionName="RasterVisionGpuJobDefinition",
                                  type="container", containerProperties=container)
    report = run_doctor(cli)
    note, = [f for f in findings(report, doctor.SHARED_MEMORY) if f["status"] == doctor.NOTE]
    assert note["message"].startswith(
        "GPU job definition RasterVisionGpuJobDefinition uses 4 GPUs with 8192 MiB of /dev/shm")
    assert "about 8192 MiB per GPU (32768 MiB)" in note["message"]
