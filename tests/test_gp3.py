"""Root volume performance: gp3 throughput and IOPS per kind, with gp3's bounds and ratios, in
StackConfig.validate() and as console parameters; defaults are gp3's included baseline."""

from __future__ import annotations

import dataclasses

import pytest

from rv_batch_cfn import ConfigError, StackConfig, build_template, render_yaml
from rv_batch_cfn.config import from_dict
from tests.emulator import load_template
from tests.template.helpers import INTERFACE, PARAMETERS


def kind(name: str, **changes) -> StackConfig:
    default = StackConfig()
    return dataclasses.replace(
        default, **{name: dataclasses.replace(getattr(default, name), **changes)})


def problems(config: StackConfig) -> list[str]:
    with pytest.raises(ConfigError) as raised:
        config.validate()
    return [str(p) for p in raised.value.problems]


def test_defaults_cost_nothing_extra():
    for _, compute in StackConfig().kinds():
        assert (compute.root_volume_throughput_mibs, compute.root_volume_iops) == (125, 3000)


@pytest.mark.parametrize("changes, message", [
    ({"root_volume_throughput_mibs": 124},
     "gpu.root_volume_throughput_mibs: got 124; allowed: 125 to 1000 MiB/s"),
    ({"root_volume_throughput_mibs": 1001, "root_volume_iops": 16000},
     "gpu.root_volume_throughput_mibs: got 1001; allowed: 125 to 1000 MiB/s"),
    ({"root_volume_iops": 2999}, "gpu.root_volume_iops: got 2999; allowed: 3000 to 16000 IOPS"),
    ({"root_volume_iops": 16001}, "gpu.root_volume_iops: got 16001; allowed: 3000 to 16000 IOPS"),
    ({"root_volume_gib": 30, "root_volume_iops": 15001},
     "gpu.root_volume_iops: got 15001; allowed: at most 15000 IOPS, 500 per GiB of "
     "gpu.root_volume_gib (30); or a larger volume"),
    ({"root_volume_throughput_mibs": 751},
     "gpu.root_volume_throughput_mibs: got 751; allowed: at most 750 MiB/s with "
     "gpu.root_volume_iops 3000 (gp3 gives 1 MiB/s per 4 IOPS); or at least 3004 IOPS"),
], ids=["throughput below", "throughput above", "iops below", "iops above", "iops per GiB",
        "throughput per IOPS"])
def test_gp3_bounds_and_ratios(changes, message):
    assert problems(kind("gpu", **changes)) == [message]


@pytest.mark.parametrize("changes", [
    {"root_volume_throughput_mibs": 125, "root_volume_iops": 3000},
    {"root_volume_throughput_mibs": 750, "root_volume_iops": 3000},
    {"root_volume_throughput_mibs": 1000, "root_volume_iops": 4000},
    {"root_volume_gib": 32, "root_volume_iops": 16000},
])
def test_gp3_limits_themselves_are_accepted(changes):
    assert kind("cpu", **changes).validate()


def test_from_a_config_file_and_into_the_console_defaults():
    config = from_dict({"gpu": {"root_volume_throughput_mibs": 500, "root_volume_iops": 6000}})
    parameters = load_template(render_yaml(build_template(config)))["Parameters"]
    assert parameters["GPURootVolumeThroughput"]["Default"] == 500
    assert parameters["GPURootVolumeIops"]["Default"] == 6000
    assert parameters["CPURootVolumeIops"]["Default"] == 3000


@pytest.mark.parametrize("upper", ["GPU", "CPU"])
def test_console_parameters_carry_the_gp3_bounds(upper):
    throughput = PARAMETERS[f"{upper}RootVolumeThroughput"]
    iops = PARAMETERS[f"{upper}RootVolumeIops"]
    assert (throughput["MinValue"], throughput["MaxValue"], throughput["Default"]) == \
        (125, 1000, 125)
    assert (iops["MinValue"], iops["MaxValue"], iops["Default"]) == (3000, 16000, 3000)
    # The ratios need arithmetic, which Rules cannot do: the descriptions say them.
    assert f"At most {upper}RootVolumeIops / 4" in throughput["Description"]
    assert f"500 per GiB of {upper}InstanceStorage" in iops["Description"]
    group, = [g for g in INTERFACE["ParameterGroups"]
              if f"{upper}RootVolumeIops" in g["Parameters"]]
    assert group["Label"]["default"] == "Root volume performance (gp3)"
    assert INTERFACE["ParameterLabels"][f"{upper}RootVolumeThroughput"]["default"] == \
        f"{upper} root volume throughput (MiB/s)"
