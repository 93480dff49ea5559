"""The train size (StackConfig.train; TrainGPUs, TrainVCPUs, TrainMemory): what the config's
checks, `deploy`'s checks and the template's Rules refuse, and the shared memory of the job
definition that serves it. Pure logic: the emulator ignores Rules, so they are evaluated here
by deploy's own evaluator (rules.py) on the committed template."""

from __future__ import annotations

import pytest

from rv_batch_cfn import ConfigError, StackConfig, TrainSize, build_template
from rv_batch_cfn.aws.deploy import load_template
from rv_batch_cfn.aws.deploy import parameter_values as deploy_checks
from rv_batch_cfn.aws.deploy.rules import check_rules
from rv_batch_cfn.config import limits
from rv_batch_cfn.instance_types import CATALOGUE, lookup
from rv_batch_cfn.template import parameters as params
from tests.emulator import TEMPLATE

TEMPLATE_DATA = load_template(TEMPLATE)[1]
FOUR_GPUS = TrainSize(gpus=4, vcpus=48, memory_mib=180000)
WITH_G5_12XLARGE = {"instance_types": ("g5.2xlarge", "g5.12xlarge")}


def problems(config: StackConfig) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        config.validate()
    return [str(p) for p in caught.value.problems]


def test_the_default_train_size_is_the_gpu_job_and_valid():
    cfg = StackConfig()
    assert (cfg.train.gpus, cfg.train.vcpus, cfg.train.memory_mib) == (
        1, cfg.gpu.job_vcpus, cfg.gpu.job_memory_mib)
    assert cfg.validate() is cfg


def test_a_train_size_a_listed_type_holds_is_valid():
    cfg = StackConfig().with_(gpu=WITH_G5_12XLARGE, train=FOUR_GPUS)
    assert cfg.validate() is cfg
    # A family holds what its largest size holds: g6e.48xlarge has 8 GPUs.
    StackConfig().with_(gpu={"instance_types": ("g6e",)}, max_vcpus=192,
                        train={"gpus": 8, "vcpus": 96, "memory_mib": 700000}).validate()


def test_a_train_size_on_single_gpu_types_is_refused_naming_the_types_and_their_gpus():
    found, = problems(StackConfig().with_(train=FOUR_GPUS))
    assert found.startswith(
        "train.gpus: got 4; allowed: at most 1, the most GPUs one instance of "
        "gpu.instance_types has (g5.2xlarge (1 GPU, 8 vCPUs, 30802 MiB for jobs), g6.2xlarge "
        "(1 GPU, 8 vCPUs, 30802 MiB for jobs), g4dn.2xlarge (1 GPU, 8 vCPUs, 30802 MiB for "
        "jobs)); or add a type or family with at least 4 GPUs to gpu.instance_types: ")
    holding = [t for t in CATALOGUE.values() if t.gpus >= 4]
    assert all(t.name in found for t in holding)
    assert "g5.12xlarge, g5.24xlarge, g6.12xlarge" in found and "(4 GPUs)" in found


def test_vcpus_and_memory_beyond_the_types_with_the_gpus_are_refused():
    found = problems(StackConfig().with_(
        gpu=WITH_G5_12XLARGE, train={"gpus": 4, "vcpus": 64, "memory_mib": 190000}))
    g5 = lookup("g5.12xlarge")
    assert found == [
        "train.vcpus: got 64; allowed: at most 48, the most vCPUs of a type with 4 GPUs or more "
        f"in gpu.instance_types (g5.12xlarge (4 GPUs, 48 vCPUs, {g5.job_memory_mib} MiB for "
        "jobs)); or a larger type in gpu.instance_types",
        f"train.memory_mib: got 190000; allowed: at most {g5.job_memory_mib} MiB, the most a "
        "type with 4 GPUs or more in gpu.instance_types leaves jobs after the ECS agent's "
        f"reserve of about 6% (g5.12xlarge (4 GPUs, 48 vCPUs, {g5.job_memory_mib} MiB for "
        "jobs)); or a larger type in gpu.instance_types"]


@pytest.mark.parametrize("change, expected", [
    ({"train": {"gpus": 3}}, "train.gpus: got 3; allowed: one of 1, 2, 4, 8"),
    ({"train": {"vcpus": 0}}, "train.vcpus: got 0; allowed: 1 to 192"),
    ({"train": {"memory_mib": 5_000_000}},
     "train.memory_mib: got 5000000; allowed: 512 to 4194304 MiB"),
    ({"gpu": WITH_G5_12XLARGE, "train": FOUR_GPUS, "max_vcpus": 40},
     "max_vcpus: got 40; allowed: at least train.vcpus (48), or no train job can ever start"),
    ({"train": {"memory_mib": 8000}},
     "shared_memory_mib: got 8192; allowed: less than train.memory_mib (8000); /dev/shm counts "
     "against it"),
], ids=["gpus", "vcpus", "memory", "max-vcpus", "shared-memory"])
def test_train_size_bounds(change, expected):
    assert problems(StackConfig().with_(**change)) == [expected]


def test_types_the_catalogue_does_not_know_are_trusted():
    StackConfig().with_(gpu={"instance_types": ("g7e.48xlarge",)}, train=FOUR_GPUS).validate()


# -- deploy: the template's Rules (CloudFormation checks them first; the emulator ignores them)
# and the numbers Rules cannot compare, on the values a deployment sends.

def values(**given: str) -> dict[str, str]:
    return deploy_checks.effective_values(TEMPLATE_DATA, given, {})


@pytest.mark.parametrize("given", [
    {},
    {"TrainGPUs": "4", "TrainVCPUs": "48", "TrainMemory": "180000",
     "GpuInstanceTypes": "g5.2xlarge,g5.12xlarge"},
    {"TrainGPUs": "8", "TrainVCPUs": "96", "TrainMemory": "350000",
     "GpuInstanceTypes": "g4dn.metal"},
], ids=["defaults", "g5.12xlarge", "g4dn.metal"])
def test_deploy_accepts_a_train_size_a_listed_type_holds(given):
    check_rules(TEMPLATE_DATA, values(**given))
    deploy_checks.check_combinations(TEMPLATE_DATA, values(**given))


def test_the_rule_refuses_gpus_no_listed_type_has():
    with pytest.raises(ConfigError) as caught:
        check_rules(TEMPLATE_DATA, values(TrainGPUs="8", GpuInstanceTypes="g5.12xlarge"))
    found, = caught.value.problems
    assert found.field == "rule TrainGpus"
    assert str(found).startswith(
        "rule TrainGpus: got {'GpuInstanceTypes': 'g5.12xlarge', 'TrainGPUs': '8'}; TrainGPUs 8 "
        "needs an instance type with at least that many GPUs in GpuInstanceTypes: g4dn.metal, ")


def test_deploy_refuses_vcpus_no_type_with_the_gpus_has():
    given = values(TrainGPUs="4", TrainVCPUs="96", TrainMemory="180000",
                   GpuInstanceTypes="g5.2xlarge,g5.12xlarge")
    check_rules(TEMPLATE_DATA, given)  # the GPUs are there: Rules cannot compare vCPUs
    with pytest.raises(ConfigError) as caught:
        deploy_checks.check_combinations(TEMPLATE_DATA, given)
    found, = caught.value.problems
    assert str(found).startswith("TrainVCPUs: got 96; allowed: at most 48, the most vCPUs of a "
                                 "type with 4 GPUs or more in GpuInstanceTypes (g5.12xlarge (4 "
                                 "GPUs, 48 vCPUs")


def test_the_console_offers_the_train_size_beside_the_gpu_job():
    group = dict((g["Label"]["default"], g["Parameters"]) for g in TEMPLATE_DATA["Metadata"][
        "AWS::CloudFormation::Interface"]["ParameterGroups"])["Container images and jobs"]
    at = group.index(params.GPU.memory)
    assert group[at + 1:at + 4] == ["TrainGPUs", "TrainVCPUs", "TrainMemory"]
    labels = TEMPLATE_DATA["Metadata"]["AWS::CloudFormation::Interface"]["ParameterLabels"]
    assert [labels[n]["default"] for n in ("TrainGPUs", "TrainVCPUs", "TrainMemory")] == [
        "Train job GPUs", "Train job vCPUs", "Train job memory (MiB)"]
    assert TEMPLATE_DATA["Parameters"]["TrainGPUs"]["AllowedValues"] == [1, 2, 4, 8]


# -- Shared memory: the GPU job definition's /dev/shm serves the train size too.

def test_the_shared_memory_default_is_what_ddp_needs_with_raster_vision_defaults():
    # 4 workers x prefetch 2 x batch_sz 32 chips (divided among the GPUs, so the same total on
    # any number of them), 14 MiB a chip, twice over, and NCCL's 1 GiB.
    assert limits.DDP_CHIPS_IN_FLIGHT == 256
    assert limits.DDP_SHARED_MEMORY_MIB == 1024 + 2 * 256 * 14 == 8192
    assert StackConfig().shared_memory_mib == limits.DDP_SHARED_MEMORY_MIB
    assert TEMPLATE_DATA["Parameters"]["SharedMemorySize"]["Default"] == 8192
    # It fits beside the single-GPU job's memory, which the same job definition serves.
    assert limits.DDP_SHARED_MEMORY_MIB < StackConfig().gpu.job_memory_mib


def test_the_largest_train_size_keeps_the_job_definitions_shared_memory():
    # 8 GPUs on g5.48xlarge: valid with the default /dev/shm, which its definition carries.
    cfg = StackConfig().with_(gpu={"instance_types": ("g5.2xlarge", "g5.48xlarge")},
                              max_vcpus=192,
                              train={"gpus": 8, "vcpus": 192, "memory_mib": 700000})
    definition = build_template(cfg).to_dict()["Resources"]["GpuJobDefinition"]
    assert definition["Properties"]["ContainerProperties"]["LinuxParameters"] == {
        "SharedMemorySize": {"Ref": "SharedMemorySize"}}
    assert cfg.validate().shared_memory_mib == limits.DDP_SHARED_MEMORY_MIB
    # Nothing that weakens the containers: no privileged mode, no added capabilities.
    container = definition["Properties"]["ContainerProperties"]
    assert container["Privileged"] is False
    assert "Capabilities" not in str(container)


def test_the_docs_prices_add_up_and_the_shared_memory_figures_are_the_projects():
    """docs/raster-vision.md, "When it pays" and "What DDP needs": the prices are quoted from
    AWS's page (the project keeps no price table: the Pricing API is asked), so what is checked
    is that each row's sums and percentages follow from its prices; the shared memory figures
    come from limits.py."""
    import re
    from pathlib import Path

    text = (Path(__file__).resolve().parent.parent / "docs" / "raster-vision.md").read_text()
    row = re.compile(r"\| `(?P<big>\w+\.12xlarge)`.*?\| \$(?P<big_price>[\d.]+) \| 4 × "
                     r"`(?P<small>\w+\.2xlarge)`.*?\| 4 × \$(?P<small_price>[\d.]+) = "
                     r"\$(?P<four>[\d.]+) \| (?P<more>\d+)% more \|")
    rows = [m.groupdict() for m in row.finditer(text)]
    assert [r["big"] for r in rows] == ["g5.12xlarge", "g6.12xlarge", "g4dn.12xlarge"]
    for r in rows:
        big, small = float(r["big_price"]), float(r["small_price"])
        assert r["four"] == f"{4 * small:.3f}", r
        assert int(r["more"]) == round((big / (4 * small) - 1) * 100), r
        assert r["big"].split(".")[0] == r["small"].split(".")[0], r
    g5 = rows[0]
    hours, speed_up = 10, 3.4
    alone, together = hours * float(g5["small_price"]), hours / speed_up * float(g5["big_price"])
    assert (f"a {hours}-hour train on a\n`g5.2xlarge` (${alone:.2f}) takes about "
            f"{round(hours / speed_up)} hours on a `g5.12xlarge` (${together:.2f}): "
            f"{round((together / alone - 1) * 100)}% more money") in text
    assert f"its default, {limits.DDP_SHARED_MEMORY_MIB} MiB" in text
    assert re.search(rf"{limits.NCCL_SHARED_MEMORY_MIB} \+ 2 × "
                     rf"{limits.DDP_CHIPS_IN_FLIGHT * limits.DDP_CHIP_MIB} = "
                     rf"{limits.DDP_SHARED_MEMORY_MIB} MiB", text)
