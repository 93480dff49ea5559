"""The Python API a platform engineer uses: constructors per kind, changing one field, field
documentation naming each console parameter, and help(rv_batch_cfn)."""

from __future__ import annotations

import dataclasses
import pydoc
import re

import pytest

import rv_batch_cfn
from rv_batch_cfn import (ComputeConfig, ConfigError, StackConfig, TrainSize, build_template,
                          render_yaml)
from rv_batch_cfn.config import ON_DEMAND
from tests.emulator import load_template


def test_a_constructor_per_kind_starts_from_the_consoles_defaults():
    assert ComputeConfig.gpu() == StackConfig().gpu
    assert ComputeConfig.cpu() == StackConfig().cpu
    changed = ComputeConfig.gpu(job_vcpus=16, capacity=ON_DEMAND)
    assert (changed.job_vcpus, changed.capacity) == (16, ON_DEMAND)
    assert changed.instance_types == StackConfig().gpu.instance_types  # the rest kept


def test_with_changes_fields_and_keeps_the_rest():
    config = StackConfig().with_(max_vcpus=256, cpu={"capacity": ON_DEMAND},
                                 s3_buckets=["geo-data"])
    assert config.max_vcpus == 256 and config.cpu.capacity == ON_DEMAND
    assert config.cpu.instance_types == StackConfig().cpu.instance_types
    assert config.s3_buckets == ("geo-data",)  # a list becomes the tuple the field holds
    assert config.gpu == StackConfig().gpu
    assert StackConfig().gpu.with_(ami="ami-0123456789abcdef0").ami == "ami-0123456789abcdef0"
    assert dataclasses.replace(StackConfig(), prefix="geo").prefix == "geo"  # the same thing
    render_yaml(build_template(config))  # and it builds


@pytest.mark.parametrize("call, message", [
    (lambda: ComputeConfig.gpu(job_vcpu=16),
     "job_vcpu: got 16; unknown field of ComputeConfig; did you mean 'job_vcpus'?"),
    (lambda: StackConfig().with_(gpu={"capacityy": "SPOT"}),
     "capacityy: got 'SPOT'; unknown field of ComputeConfig; did you mean 'capacity'?"),
    (lambda: StackConfig().with_(max_vcpu=3), "did you mean 'max_vcpus'?"),
])
def test_a_misspelt_field_is_named(call, message):
    with pytest.raises(ConfigError) as raised:
        call()
    assert message in str(raised.value)


def documented(cls) -> dict[str, str]:
    """Field name -> the console parameter its docstring names (in parentheses at the end)."""
    docs = {}
    text = cls.__doc__.split("Attributes", 1)[1]
    for match in re.finditer(r"^        ([a-z0-9_, ]+): (.*?)(?=^        [a-z0-9_, ]+: |\Z)", text,
                             re.M | re.S):
        parameter = re.findall(r"\(([A-Za-z0-9]+)\)\.?\s*$", match.group(2))
        for name in match.group(1).split(", "):
            docs[name] = parameter[0] if parameter else ""
    return docs


def test_every_field_is_documented_with_its_console_parameter():
    declared = load_template(render_yaml(build_template()))["Parameters"]
    for cls in (ComputeConfig, StackConfig, TrainSize):
        docs = documented(cls)
        assert sorted(docs) == sorted(f.name for f in dataclasses.fields(cls)), cls.__name__
        for name, parameter in docs.items():
            if parameter in ("ComputeConfig", "TrainSize"):
                continue
            assert parameter in declared, (cls.__name__, name, parameter)
            if cls is ComputeConfig:  # named for the GPU kind; the CPU kind's exists too
                cpu = re.sub(r"^Gpu", "Cpu", re.sub(r"^GPU", "CPU", parameter))
                assert cpu in declared, (name, cpu)


def test_help_shows_the_main_entry_points(tmp_path, monkeypatch):
    text = pydoc.render_doc(rv_batch_cfn, renderer=pydoc.plaintext)
    for name in ("StackConfig", "ComputeConfig.gpu(...) / .cpu(...)", "with_(field=value)",
                 "from_dict(data)", "build_template(config)", "render_yaml(template)",
                 "check_template(text)", "write_atomic(path, text)"):
        assert name in text, name
    # Its example runs as written.
    example = rv_batch_cfn.__doc__.split("Example:\n", 1)[1].split("\n\nErrors", 1)[0]
    monkeypatch.chdir(tmp_path)
    exec(compile(re.sub(r"(?m)^    ", "", example), "rv_batch_cfn.__doc__", "exec"), {})
    assert "Default: g6e.2xlarge" in (tmp_path / "cloudformation" / "geo.yml").read_text()
