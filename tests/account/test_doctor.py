"""`rv-batch-cfn doctor` against stacks deployed on the emulator from the committed template."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from rv_batch_cfn.account import doctor, rvconfig
from rv_batch_cfn.template import parameters as params
from tests.cli_runner import assert_one_clean_error
from tests.emulator import deploy, deploy_project, make_network, offer

STACK = "rv"
GOOD_RV_CONFIG = """[BATCH]
gpu_job_queue = RasterVisionGpuJobQueue
gpu_job_def = RasterVisionGpuJobDefinition
cpu_job_queue = RasterVisionCpuJobQueue
cpu_job_def = RasterVisionCpuJobDefinition
attempts = 3
"""

# The template's default instance types (the order doctor names them in).
DEFAULT_GPU_TYPES = ["g5.2xlarge", "g6.2xlarge", "g4dn.2xlarge"]
DEFAULT_CPU_TYPES = ["m6i.xlarge", "m6a.xlarge", "m7i.xlarge"]


def run_doctor(cli, **env) -> tuple[int, dict]:
    result = cli("doctor", "--stack", STACK, "--json", **env)
    assert result.returncode in (0, 1), result.stderr
    return result.returncode, json.loads(result.stdout)


def problems(report: dict) -> list[dict]:
    return [f for f in report["findings"] if f["status"] == doctor.PROBLEM]


def statuses(report: dict, check: str) -> set[str]:
    return {f["status"] for f in report["findings"] if f["check"] == check}


def write_rv_config(home: Path, text: str = GOOD_RV_CONFIG, profile: str = "default") -> Path:
    path = home / ".rastervision" / profile
    path.parent.mkdir(exist_ok=True)
    path.write_text(text)
    return path


def test_a_healthy_stack_passes(emulator, cli, home):
    deploy(emulator, STACK, make_network(emulator))
    write_rv_config(home)

    code, report = run_doctor(cli)

    assert code == 0, problems(report)
    assert report["healthy"] and report["problems"] == 0
    for check in (doctor.ENVIRONMENTS, doctor.FIT, doctor.OFFERINGS, doctor.AMI,
                  doctor.RV_CONFIG, doctor.GPU_FAMILIES, doctor.SHARED_MEMORY):
        assert statuses(report, check) == {doctor.OK}, check
    # The console default is the hosted image, which doctor does not pull to check.
    assert statuses(report, doctor.IMAGES) == {doctor.NOTE}
    text = cli("doctor", "--stack", STACK)
    assert text.returncode == 0
    assert text.stdout.rstrip().endswith("no problems found")


# 31000 MiB is less than the 32768 of the instance, but more than it leaves a job beside the ECS
# agent: doctor applies the same reserve as the generation-time check.
@pytest.mark.parametrize("memory", [100000, 31000])
def test_job_memory_larger_than_every_instance_type_fails(emulator, cli, memory):
    deploy(emulator, STACK, make_network(emulator), **{params.GPU.memory: memory})

    code, report = run_doctor(cli)

    assert code == 1
    [problem] = problems(report)
    assert problem["check"] == doctor.FIT
    assert f"GPU job definition RasterVisionGpuJobDefinition (8 vCPUs, {memory} MiB, 1 GPU) " \
           "fits no instance type" in problem["message"]
    # 32 GiB types keep 6% (1966 MiB) for the ECS agent: 32768 - 1966.
    assert "g5.2xlarge (8 vCPUs, 30802 MiB for jobs, 1 GPU)" in problem["message"]
    assert f"{params.GPU.memory} at most 30802 MiB" in problem["fix"]
    assert statuses(report, doctor.FIT) == {doctor.OK, doctor.PROBLEM}  # the CPU job still fits


def test_job_vcpus_beyond_every_instance_type_names_the_vcpu_limit(emulator, cli):
    deploy(emulator, STACK, make_network(emulator), **{params.CPU.vcpus: 16})

    code, report = run_doctor(cli)

    assert code == 1
    [problem] = problems(report)
    assert "CPU job definition RasterVisionCpuJobDefinition (16 vCPUs, 14000 MiB) fits no " \
           "instance type" in problem["message"]
    assert f"{params.CPU.vcpus} at most 4" in problem["fix"]
    assert params.CPU.memory not in problem["fix"]  # memory is not what is wrong


def test_instance_types_offered_in_every_zone_pass_the_offerings_check(emulator, cli):
    offer(emulator, dict.fromkeys("abcdef", ["g7e.2xlarge", *DEFAULT_CPU_TYPES]))
    deploy(emulator, STACK, make_network(emulator), **{params.GPU.instance_types: "g7e.2xlarge"})

    code, report = run_doctor(cli)

    assert code == 0, problems(report)
    assert statuses(report, doctor.OFFERINGS) == {doctor.OK}


def test_instance_type_not_offered_in_a_subnets_zone_fails(emulator, cli):
    # The test's offerings: g7e.2xlarge in us-east-1a and 1c only, as a new type is at first.
    offer(emulator, {"a": ["g7e.2xlarge", *DEFAULT_CPU_TYPES], "b": DEFAULT_CPU_TYPES,
                     "c": ["g7e.2xlarge", *DEFAULT_CPU_TYPES]})
    network = make_network(emulator)
    deploy(emulator, STACK, network, **{params.GPU.instance_types: "g7e.2xlarge"})

    code, report = run_doctor(cli)

    assert code == 1
    [problem] = problems(report)
    assert problem["check"] == doctor.OFFERINGS
    assert problem["message"] == (f"us-east-1b ({network.subnet_ids[1]}) does not offer GPU "
                                  "g7e.2xlarge: Batch cannot launch that type there")
    assert f"Remove {network.subnet_ids[1]} from {params.SUBNET_IDS}" in problem["fix"]
    assert f"choose-subnets --vpc {network.vpc_id} --instance-types g7e.2xlarge," \
           in problem["fix"]


def test_one_bad_subnet_is_one_finding_naming_every_type(emulator, cli):
    # us-east-1e offers none of the default GPU and CPU types (as in AWS's data): one cause, so
    # one problem, where there used to be one per type and kind.
    offer(emulator, {**dict.fromkeys("abc", DEFAULT_GPU_TYPES + DEFAULT_CPU_TYPES),
                     "e": ["m3.medium"]})
    network = make_network(emulator)
    ec2 = emulator.client("ec2")
    bad = ec2.create_subnet(VpcId=network.vpc_id, CidrBlock="10.42.9.0/24",
                            AvailabilityZone="us-east-1e")["Subnet"]["SubnetId"]
    deploy(emulator, STACK, network, SubnetIds=[*network.subnet_ids, bad])

    code, report = run_doctor(cli)

    assert code == 1
    [problem] = problems(report)
    assert problem["message"] == (f"us-east-1e ({bad}) does not offer GPU g5.2xlarge, "
                                  "g6.2xlarge, g4dn.2xlarge; CPU m6i.xlarge, m6a.xlarge, "
                                  "m7i.xlarge: Batch cannot launch those types there")
    assert problem["fix"].startswith(f"Remove {bad} from {params.SUBNET_IDS} (or the types "
                                     f"from {params.GPU.instance_types} or "
                                     f"{params.CPU.instance_types})")


def test_a_job_that_fits_only_a_far_larger_type_is_a_cost_warning(emulator, cli):
    # Beside g5.2xlarge (8 vCPUs), a 64-vCPU job fits only p5.48xlarge (192): every GPU job
    # launches one. It works, so it is a warning, not a problem (exit 0).
    deploy(emulator, STACK, make_network(emulator),
           **{params.GPU.instance_types: "g5.2xlarge,p5.48xlarge", params.GPU.vcpus: 64})

    code, report = run_doctor(cli)

    assert code == 0, problems(report)
    [warning] = [f for f in report["findings"] if f["status"] == doctor.WARNING]
    assert report["warnings"] == 1 and warning["check"] == doctor.FIT
    assert warning["message"].startswith(
        "GPU job definition RasterVisionGpuJobDefinition (64 vCPUs, 28000 MiB, 1 GPU) fits only "
        "p5.48xlarge; the cheapest of those, p5.48xlarge (192 vCPUs")
    assert "24 times the vCPUs of g5.2xlarge (8 vCPUs" in warning["message"]
    assert "g5.2xlarge never serve it" in warning["message"]
    assert f"{params.GPU.vcpus} and {params.GPU.memory} that g5.2xlarge offers" in warning["fix"]
    text = cli("doctor", "--stack", STACK)
    assert "  WARNING  job fit" in text.stdout
    assert text.stdout.rstrip().endswith(", 1 warning")


def test_missing_ecr_image_fails_until_it_is_pushed(emulator, cli):
    deploy(emulator, STACK, make_network(emulator), **{params.GPU.repository_name: "rv-gpu"})

    code, report = run_doctor(cli)

    assert code == 1
    [problem] = problems(report)
    assert problem["check"] == doctor.IMAGES
    assert problem["message"] == ("GPU jobs run 123456789012.dkr.ecr.us-east-1.amazonaws.com/"
                                  "rv-gpu:latest, which is not in ECR repository rv-gpu: every "
                                  "job fails with CannotPullContainerError")
    assert "make publish-container" in problem["fix"]

    emulator.client("ecr").put_image(repositoryName="rv-gpu", imageTag="latest",
                                     imageManifest=json.dumps(_MANIFEST))
    code, report = run_doctor(cli)
    assert code == 0, problems(report)
    assert doctor.OK in statuses(report, doctor.IMAGES)


def test_shared_or_missing_ami_override_fails(emulator, cli):
    existing = emulator.client("ec2").register_image(Name="rv-batch-gpu-shared")["ImageId"]
    deploy(emulator, STACK, make_network(emulator),
           **{params.GPU.ami: existing, params.CPU.ami: existing})
    # moto ignores the template's Rules, which refuse this same pair before creating anything.
    code, report = run_doctor(cli)
    assert code == 1
    [problem] = problems(report)
    assert problem["message"].startswith(f"GPU and CPU compute environments both use {existing}")
    assert f"{params.CPU.ami} empty" in problem["fix"]

    emulator.reset()
    deploy(emulator, STACK, make_network(emulator), **{params.GPU.ami: "ami-0123456789abcdef0"})
    code, report = run_doctor(cli)
    assert code == 1
    [problem] = problems(report)
    assert problem["message"] == ("GPU AMI ami-0123456789abcdef0 does not exist in us-east-1 "
                                  "(deregistered, or made in another region)")
    assert f"{params.GPU.ami} set to an available AMI" in problem["fix"]


def test_disabled_compute_environment_fails_with_the_command_to_enable_it(emulator, cli):
    deploy(emulator, STACK, make_network(emulator))
    batch = emulator.client("batch")
    name = next(e["computeEnvironmentName"] for e in
                batch.describe_compute_environments()["computeEnvironments"]
                if "Cpu" in e["computeEnvironmentName"])
    batch.update_compute_environment(computeEnvironment=name, state="DISABLED")

    code, report = run_doctor(cli)

    assert code == 1
    [problem] = problems(report)
    assert problem["message"] == (f"CPU compute environment {name} is DISABLED: jobs stay "
                                  "RUNNABLE")
    assert problem["fix"] == (f"aws batch update-compute-environment --compute-environment "
                              f"{name} --state ENABLED")


def test_raster_vision_config_naming_another_stack_fails(emulator, cli, home):
    deploy(emulator, STACK, make_network(emulator))
    path = write_rv_config(home, GOOD_RV_CONFIG.replace("gpu_job_queue = RasterVision",
                                                        "gpu_job_queue = old"), profile="team")

    code, report = run_doctor(cli, RV_PROFILE="team",
                              BATCH_CPU_JOB_DEF="otherRasterVisionCpuJobDefinition")

    assert code == 1
    messages = sorted(p["message"] for p in problems(report))
    assert messages == sorted([
        "environment variable BATCH_CPU_JOB_DEF=otherRasterVisionCpuJobDefinition overrides the "
        "config file and is not this stack's RasterVisionCpuJobDefinition",
        f"{path} [BATCH] gpu_job_queue is 'oldGpuJobQueue', not this stack's "
        "RasterVisionGpuJobQueue",
    ])


def test_no_raster_vision_config_is_a_note_not_a_problem(emulator, cli):
    deploy(emulator, STACK, make_network(emulator))

    code, report = run_doctor(cli)

    assert code == 0
    [note] = [f for f in report["findings"] if f["check"] == doctor.RV_CONFIG]
    assert note["status"] == doctor.NOTE
    assert note["message"].startswith("no Raster Vision config file")


def test_unreadable_stacks_are_one_clear_error(emulator, cli):
    assert_one_clean_error(cli("doctor", "--stack", "nothing-here"),
                           "stack 'nothing-here' not found in region us-east-1")
    other = ('{"Resources": {"Topic": {"Type": "AWS::SNS::Topic"}}}')
    emulator.client("cloudformation").create_stack(StackName="other", TemplateBody=other)
    assert_one_clean_error(cli("doctor", "--stack", "other"),
                           "stack 'other' has no output GpuJobQueueName")


# ----------------------------------------------------------------------------------------------
# The pieces that need no account.


@pytest.mark.parametrize("env, expected", [
    ("no variables", "{home}/.rastervision/default"),
    ("profile", "{home}/.rastervision/team"),
    ("config dir", "{tmp}/conf/team"),
    ("explicit file", "{tmp}/explicit"),
])
def test_rv_config_path_follows_raster_vision(monkeypatch, tmp_path, env, expected):
    home = tmp_path / "home"
    for path in (home / ".rastervision" / "default", home / ".rastervision" / "team",
                 tmp_path / "conf" / "team", tmp_path / "explicit"):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("[BATCH]\n")
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.chdir(tmp_path)
    for name in ("RV_CONFIG", "RV_CONFIG_DIR", "RV_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    if env != "no variables":
        monkeypatch.setenv("RV_PROFILE", "team")
    if env in ("config dir", "explicit file"):
        monkeypatch.setenv("RV_CONFIG_DIR", str(tmp_path / "conf"))
    if env == "explicit file":
        monkeypatch.setenv("RV_CONFIG", str(tmp_path / "explicit"))

    assert rvconfig.find_config() == Path(expected.format(home=home, tmp=tmp_path))


def test_rv_batch_section_is_read_whatever_the_case_of_its_name(tmp_path):
    path = tmp_path / "default"
    path.write_text("[AWS_S3]\nrequester_pays = False\n[batch]\nGPU_JOB_QUEUE = q\n")
    assert rvconfig.read_batch_section(path) == {"gpu_job_queue": "q"}
    path.write_text("[AWS_S3]\nrequester_pays = False\n")
    assert rvconfig.read_batch_section(path) is None
    path.write_text("gpu_job_queue = q\n")
    with pytest.raises(ValueError):
        rvconfig.read_batch_section(path)


def test_job_size_reads_old_and_new_job_definitions():
    new = {"containerProperties": {"resourceRequirements": [
        {"type": "VCPU", "value": "8"}, {"type": "MEMORY", "value": "28000"},
        {"type": "GPU", "value": "1"}]}}
    old = {"containerProperties": {"vcpus": 4, "memory": 14000}}
    assert doctor.job_size(new) == doctor.JobSize(8, 28000, 1)
    assert doctor.job_size(old) == doctor.JobSize(4, 14000, 0)


_MANIFEST = {
    "schemaVersion": 2,
    "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
    "config": {"mediaType": "application/vnd.docker.container.image.v1+json", "size": 1,
               "digest": "sha256:" + "0" * 64},
    "layers": [],
}


def test_job_def_stack_checks_the_per_project_job_definitions(emulator, home, capsys,
                                                              monkeypatch):
    # In-process: the command itself, with Raster Vision's config as
    # `rv-config --stack rv --job-def-stack rv-alice --write` leaves it.
    from rv_batch_cfn import cli as rv_cli
    monkeypatch.setenv("HOME", str(home))
    for key in ("RV_CONFIG", "RV_CONFIG_DIR", "RV_PROFILE"):
        monkeypatch.delenv(key, raising=False)
    deploy(emulator, STACK, make_network(emulator))
    deploy_project(emulator, "rv-alice", MainStackName=STACK, Namespace="alice",
                   RepositoryName="raster-vision")
    assert rv_cli.main(["rv-config", "--stack", STACK, "--job-def-stack", "rv-alice",
                        "--write"]) == 0
    capsys.readouterr()

    assert rv_cli.main(["doctor", "--stack", STACK, "--job-def-stack", "rv-alice",
                        "--json"]) in (0, 1)
    report = json.loads(capsys.readouterr().out)
    assert report["job_def_stack"] == "rv-alice"
    assert statuses(report, doctor.RV_CONFIG) == {doctor.OK}
    [fits] = [f["message"] for f in report["findings"]
              if f["check"] == doctor.FIT and "GPU job definition" in f["message"]]
    assert fits.startswith("GPU job definition alice-RasterVisionGpuJobDefinition ")
    # Its image is the project's ECR repository, not pushed yet: that is what is left to do.
    assert [f["check"] for f in problems(report)] == [doctor.IMAGES]

    # The main stack alone expects its own job definitions, and says how to get them.
    assert rv_cli.main(["doctor", "--stack", STACK, "--json"]) == 1
    report = json.loads(capsys.readouterr().out)
    assert doctor.PROBLEM in statuses(report, doctor.RV_CONFIG)

    # The two stacks swapped: the project stack has no queues, and the error says so.
    code = rv_cli.main(["doctor", "--stack", "rv-alice", "--job-def-stack", STACK])
    assert code == 2
    assert "stack 'rv-alice' has no output GpuJobQueueName" in capsys.readouterr().err
