"""`rv-batch-cfn doctor` against stacks deployed on the emulator from the committed template."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from rv_batch_cfn.aws import doctor
from rv_batch_cfn.aws.doctor.findings import REGION
from rv_batch_cfn.aws.rv_config import profile as rvconfig
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


def test_the_stack_raster_vision_and_the_environment_use_one_region(emulator, cli, home):
    """Where the batch_retry runner would submit ([BATCH] region, else the environment) and
    which environment setting names another region; the stack is in the emulator's region."""
    deploy(emulator, STACK, make_network(emulator))
    here = emulator.region

    def region(env: dict, config: str = GOOD_RV_CONFIG) -> tuple[int, list[tuple[str, str]]]:
        path = write_rv_config(home, config)
        code, report = run_doctor(cli, **env)
        return code, [(f["status"], f["message"].replace(str(path), "PATH"))
                      for f in report["findings"] if f["check"] == REGION]

    pinned = GOOD_RV_CONFIG + f"region = {here}\n"
    # What rv-config --write leaves, and a shell whose default region is the stack's.
    assert region({"AWS_DEFAULT_REGION": here}, pinned) == (0, [
        (doctor.OK, f"the stack, Raster Vision's config and the environment use {here}")])
    # The config names another region: the runner would submit there.
    code, found = region({"AWS_DEFAULT_REGION": here}, GOOD_RV_CONFIG + "region = eu-west-3\n")
    assert code == 1 and found == [
        (doctor.PROBLEM, f"PATH [BATCH] region is eu-west-3, not the stack's region {here}: "
                         "the batch_retry runner submits there")]
    # BATCH_REGION comes before the file, as Raster Vision reads it.
    code, found = region({"AWS_DEFAULT_REGION": here, "BATCH_REGION": "eu-west-3"}, pinned)
    assert code == 1 and found[0][1].startswith("environment variable BATCH_REGION is eu-west-3")
    # A config written before the key existed, in a shell whose default region is another:
    # the runner would submit there too; and boto3 and the stock runner use it.
    code, found = region({"AWS_DEFAULT_REGION": "eu-west-3"})
    assert code == 1 and found == [
        (doctor.PROBLEM, "the [BATCH] section has no region: the batch_retry runner submits in "
                         f"eu-west-3 (AWS_DEFAULT_REGION), not in the stack's region {here}"),
        (doctor.WARNING, f"AWS_DEFAULT_REGION is eu-west-3, not the stack's region {here}: boto3 "
                         "and Raster Vision's own `batch` runner (and the AWS CLI when AWS_REGION "
                         "is unset) would work in eu-west-3, where the stack's queues do not "
                         "exist (the batch_retry runner submits in [BATCH] region)")]
    # AWS_REGION alone (the tests' emulator environment): the runner falls back to it; the
    # stock runner has no region at all.
    code, found = region({})
    assert code == 0 and [status for status, _ in found] == [doctor.NOTE, doctor.NOTE]
    assert found[1][1].startswith("neither AWS_DEFAULT_REGION nor the profile sets a region: "
                                  "boto3 and Raster Vision's own `batch` runner stop with "
                                  "NoRegionError")


# -- The train size: its fit on the GPU types, and the shared memory serving it.

TRAIN = {params.TRAIN_GPUS: 4, params.TRAIN_VCPUS: 48, params.TRAIN_MEMORY: 180000}


def findings_of(report: dict, check: str) -> list[dict]:
    return [f for f in report["findings"] if f["check"] == check]


def test_a_train_size_no_gpu_type_holds_is_a_problem(emulator, cli, home):
    # moto ignores the template's Rules, which would refuse this stack: it stands for one whose
    # instance types were changed after the train size was set.
    deploy(emulator, STACK, make_network(emulator), **TRAIN)
    write_rv_config(home)

    code, report = run_doctor(cli)

    assert code == 1
    [problem] = [f for f in problems(report) if f["check"] == doctor.FIT]
    assert problem["message"].startswith(
        "train size (48 vCPUs, 180000 MiB, 4 GPUs; TrainGPUs, TrainVCPUs, TrainMemory) fits no "
        "GPU instance type: ")
    assert "g5.2xlarge (8 vCPUs, 30802 MiB for jobs, 1 GPU)" in problem["message"]
    assert "GpuInstanceTypes" in problem["fix"] and "g5.12xlarge" in problem["fix"]


def test_a_train_size_a_gpu_type_holds_fits(emulator, cli, home):
    deploy(emulator, STACK, make_network(emulator), **TRAIN,
           **{params.GPU.instance_types: "g5.2xlarge,g5.12xlarge", params.MAXIMUM_VCPUS: 96})
    write_rv_config(home)

    _, report = run_doctor(cli)

    assert "train size (48 vCPUs, 180000 MiB, 4 GPUs; TrainGPUs, TrainVCPUs, TrainMemory) " \
           "fits g5.12xlarge" in [f["message"] for f in findings_of(report, doctor.FIT)]
    assert statuses(report, doctor.SHARED_MEMORY) == {doctor.OK}


def test_shared_memory_below_what_ddp_needs_is_a_note_for_a_multi_gpu_train_size(
        emulator, cli, home):
    deploy(emulator, STACK, make_network(emulator), **TRAIN,
           **{params.GPU.instance_types: "g5.2xlarge,g5.12xlarge", params.MAXIMUM_VCPUS: 96,
              params.SHARED_MEMORY_SIZE: 2048})
    write_rv_config(home)

    _, report = run_doctor(cli)

    gpu, cpu = findings_of(report, doctor.SHARED_MEMORY)
    assert gpu["status"] == doctor.NOTE and cpu["status"] == doctor.OK
    assert gpu["message"].startswith(
        "GPU job definition RasterVisionGpuJobDefinition serves jobs of 4 GPUs with 2048 MiB of "
        "/dev/shm: Raster Vision trains on every GPU (DDP), whose NCCL and data loader workers "
        "need about 8192 MiB")
    assert gpu["fix"] == "Update the stack with SharedMemorySize 8192."


def test_shared_memory_as_large_as_the_train_memory_is_a_problem(emulator, cli, home):
    deploy(emulator, STACK, make_network(emulator), **{
        params.TRAIN_GPUS: 1, params.TRAIN_VCPUS: 8, params.TRAIN_MEMORY: 8000})
    write_rv_config(home)

    _, report = run_doctor(cli)

    [problem] = [f for f in problems(report) if f["check"] == doctor.SHARED_MEMORY]
    assert problem["message"] == (
        "GPU job definition RasterVisionGpuJobDefinition: /dev/shm of 8192 MiB cannot fit "
        "beside the 8000 MiB of memory of its train jobs (8 vCPUs, 8000 MiB, 1 GPU), which it "
        "counts against: a job that fills it is killed for lack of memory")
    assert "TrainMemory" in problem["fix"]


def test_a_maximum_below_one_job_is_a_problem_for_the_job_and_the_train_size(
        emulator, cli, home):
    # moto ignores the template's Rules, which would refuse these values: the stack stands for
    # one whose sizes were changed past them.
    deploy(emulator, STACK, make_network(emulator), **{
        params.MAXIMUM_VCPUS: 4, params.TRAIN_GPUS: 1, params.TRAIN_VCPUS: 6,
        params.TRAIN_MEMORY: 20000})
    write_rv_config(home)

    code, report = run_doctor(cli)

    assert code == 1
    fit = [f for f in problems(report) if f["check"] == doctor.FIT]
    below = [f for f in fit if "may use at most 4 vCPUs" in f["message"]]
    assert [f["message"].split(", fewer than ")[1] for f in below] == [
        "the 8 of one GPU job", "the 6 of one train job"]
    assert all(f["fix"] == f"Update the stack with {params.MAXIMUM_VCPUS} at least "
               f"{f['message'].split('the ')[-1].split()[0]}." for f in below)
