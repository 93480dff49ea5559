"""GPU families the GPU kind refuses (the AL2023 NVIDIA AMIs' open kernel module does not drive
P2, P3, G2 or G3 GPUs; G4ad, Inf, Trn and DL have no NVIDIA GPU), in every place that checks
instance types: StackConfig.validate(), the console's AllowedPattern. Each message names the
family and the families to use instead."""

from __future__ import annotations

import dataclasses
import re

import pytest

from rv_batch_cfn import ConfigError, StackConfig
from rv_batch_cfn.instance_types import gpu_families_instead, refused_gpu_family
from tests.samples import INSTEAD, REFUSED
from tests.template.helpers import PARAMETERS

ACCEPTED = ["g4dn.2xlarge", "g5", "g6.2xlarge", "g6e.2xlarge", "p4d.24xlarge", "p4de.24xlarge",
            "p5.48xlarge", "p5e", "g7e.2xlarge", "gr6.4xlarge"]
IDS = [case[0] for case in REFUSED]


def gpu_types(*names: str) -> StackConfig:
    default = StackConfig()
    return dataclasses.replace(default, gpu=dataclasses.replace(default.gpu,
                                                                instance_types=names))


def test_instead_names_current_nvidia_families():
    assert gpu_families_instead() + " instead" == INSTEAD.removeprefix("use ")


@pytest.mark.parametrize("name, family, has", REFUSED, ids=IDS)
def test_the_reason_names_the_family_what_it_has_and_what_to_use(name, family, has):
    reason = refused_gpu_family(name)
    assert reason.startswith(f"{family} has {has}")
    assert reason.endswith(INSTEAD)


@pytest.mark.parametrize("name, family, has", REFUSED, ids=IDS)
def test_stack_config_refuses(name, family, has):
    with pytest.raises(ConfigError) as raised:
        gpu_types("g5.2xlarge", name).validate()
    problem, = raised.value.problems  # one message, not the generic pattern's as well
    assert str(problem) == (
        f"gpu.instance_types[1]: got {name!r}; allowed: a GPU family the Amazon Linux 2023 "
        f"NVIDIA AMIs support; {refused_gpu_family(name)}")
    assert INSTEAD in str(raised.value)


@pytest.mark.parametrize("name, family, has", REFUSED, ids=IDS)
def test_console_pattern_refuses(name, family, has):
    parameter = PARAMETERS["GpuInstanceTypes"]
    assert not re.fullmatch(parameter["AllowedPattern"], name)
    assert INSTEAD in parameter["ConstraintDescription"]


@pytest.mark.parametrize("name", ACCEPTED)
def test_current_nvidia_families_pass_everywhere(name):
    assert refused_gpu_family(name) is None
    assert gpu_types(name).validate()
    assert re.fullmatch(PARAMETERS["GpuInstanceTypes"]["AllowedPattern"], name)


def test_the_cpu_kind_is_not_concerned():
    # A CPU environment never asks for the GPU driver; inf/trn there are the user's business.
    default = StackConfig()
    config = dataclasses.replace(default, cpu=dataclasses.replace(
        default.cpu, instance_types=("m6i.xlarge", "inf2.xlarge")))
    assert config.validate()
