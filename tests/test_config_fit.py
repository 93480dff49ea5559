"""The generation-time fit check: a default job must fit every known default instance type.

A job that fits no instance type of its compute environment sits in RUNNABLE forever, so the
template refuses such defaults, for the library's own config and for a config file alike.
"""

from __future__ import annotations

import json

import pytest

from rv_batch_cfn import cli
from rv_batch_cfn.config import from_dict
from rv_batch_cfn.errors import EXIT_ERROR, EXIT_OK, ConfigError
from rv_batch_cfn.instance_types import lookup


def test_memory_rule_keeps_the_ecs_reserve():
    g5 = lookup("g5.2xlarge")
    assert g5.job_memory_mib == 32768 - 1966  # 6% of 32 GiB
    assert lookup("m6i.large").job_memory_mib == 8192 - 512  # at least 512 MiB
    assert g5.fits(8, 30802, 1) and not g5.fits(8, 30803, 1)
    assert not g5.fits(9, 1000, 1) and not g5.fits(1, 1000, 2)


def test_one_problem_per_field_naming_every_type_too_small():
    with pytest.raises(ConfigError) as raised:
        from_dict({"gpu": {"instance_types": ["g5.2xlarge", "g5.4xlarge", "m6i.xlarge"],
                           "job_memory_mib": 31000}})
    by_field = {p.field: p for p in raised.value.problems}
    assert set(by_field) == {"gpu.job_vcpus", "gpu.job_memory_mib", "gpu.instance_types"}
    memory = by_field["gpu.job_memory_mib"].allowed
    assert memory.startswith("allowed: at most 15401 MiB, so that every instance type can run")
    assert "g5.2xlarge offers 30802 MiB, m6i.xlarge offers 15401 MiB" in memory
    assert "g5.4xlarge" not in memory  # it fits
    assert by_field["gpu.instance_types"].value == "m6i.xlarge"


def test_types_the_table_does_not_know_are_left_to_doctor():
    config = from_dict({"gpu": {"instance_types": ["g7e.2xlarge"], "job_memory_mib": 60000}})
    assert config.gpu.job_memory_mib == 60000


@pytest.mark.parametrize("name, config, expected", [
    ("gpu memory above 32 GiB types",
     {"gpu": {"job_memory_mib": 40000}},
     "gpu.job_memory_mib: got 40000; allowed: at most 30802 MiB"),
    ("cpu vcpus above xlarge types",
     {"cpu": {"job_vcpus": 8}},
     "cpu.job_vcpus: got 8; allowed: at most 4 vCPUs"),
    ("cpu type for gpu jobs",
     {"gpu": {"instance_types": "g5.2xlarge,m6i.2xlarge"}},
     "gpu.instance_types: got 'm6i.2xlarge'; allowed: an EC2 instance type (g5.2xlarge) or "
     "family (g5) with a GPU"),
])
def test_template_refuses_a_config_file_whose_job_does_not_fit(tmp_path, capsys, name, config,
                                                                expected):
    path = tmp_path / "stack.yml"
    path.write_text(json.dumps(config))  # JSON is YAML too
    output = tmp_path / "template.yml"

    code = cli.main(["template", "--config", str(path), "-o", str(output)])

    assert code == EXIT_ERROR
    err = capsys.readouterr().err
    assert f"rv-batch-cfn template: error: 1 problem in the configuration file {path}:" in err
    assert expected in err
    assert not output.exists()


def test_template_accepts_a_config_file_with_larger_types(tmp_path, capsys):
    path = tmp_path / "stack.yml"
    path.write_text("gpu:\n  instance_types: [g5.4xlarge, g6.4xlarge]\n  job_vcpus: 16\n"
                    "  job_memory_mib: 60000\n")
    output = tmp_path / "template.yml"

    code = cli.main(["template", "--config", str(path), "-o", str(output), "--no-lint"])

    assert code == EXIT_OK, capsys.readouterr().err
    text = output.read_text()
    assert "Default: g5.4xlarge,g6.4xlarge" in text
    assert "Default: 60000" in text
