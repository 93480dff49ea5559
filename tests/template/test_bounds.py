"""StackConfig.validate() and the template's own constraints agree: every value validate()
accepts is a default the template's parameters accept (so `template --no-lint` never writes a
template CloudFormation would refuse), and the first value past each bound is refused by both."""

from __future__ import annotations

import dataclasses
import re

import pytest

from rv_batch_cfn import ConfigError, StackConfig, build_template
from rv_batch_cfn.render import template_dict
from rv_batch_cfn.aws.deploy.parameter_values import value_problem
from tests import cli_runner
from tests.emulator import ROOT, load_template

BIG_GPU = dict(instance_types=("g6e.48xlarge",))  # 192 vCPUs: room for the largest job


def kind(config: StackConfig, which: str, **changes) -> StackConfig:
    return dataclasses.replace(config, **{which: dataclasses.replace(getattr(config, which),
                                                                     **changes)})


# (parameter, a config at the bound it has to accept, the config one past it)
EDGES = [
    ("MaximumVCPUs", StackConfig(max_vcpus=100_000), StackConfig(max_vcpus=100_001)),
    ("MinimumVCPUs", StackConfig(min_vcpus=100_000, max_vcpus=100_000),
     StackConfig(min_vcpus=100_001, max_vcpus=100_000)),
    ("UpdateJobTimeoutMinutes", StackConfig(update_job_timeout_minutes=7200),
     StackConfig(update_job_timeout_minutes=7201)),
    ("UpdateJobTimeoutMinutes", StackConfig(update_job_timeout_minutes=1),
     StackConfig(update_job_timeout_minutes=0)),
    ("GPUInstanceVCPUs", kind(StackConfig(max_vcpus=192), "gpu", job_vcpus=192, **BIG_GPU),
     kind(StackConfig(max_vcpus=193), "gpu", job_vcpus=193, **BIG_GPU)),
    ("GPUInstanceMemory", kind(StackConfig(), "gpu", instance_types=("x9gpu.huge",),
                               job_memory_mib=4 * 1024 * 1024),
     kind(StackConfig(), "gpu", instance_types=("x9gpu.huge",),
          job_memory_mib=4 * 1024 * 1024 + 1)),
    ("SharedMemorySize", StackConfig(shared_memory_mib=64), StackConfig(shared_memory_mib=63)),
    ("SpotFleetBidPercentage", StackConfig(spot_bid_percentage=100),
     StackConfig(spot_bid_percentage=101)),
    ("JobAttempts", StackConfig(job_attempts=10), StackConfig(job_attempts=11)),
    ("GPUInstanceStorage", kind(StackConfig(), "gpu", root_volume_gib=16384),
     kind(StackConfig(), "gpu", root_volume_gib=16385)),
    ("LogRetentionDays", StackConfig(log_retention_days=3653),
     StackConfig(log_retention_days=3654)),
    ("JobTimeout", StackConfig(job_timeout_seconds=999_999_999),
     StackConfig(job_timeout_seconds=1_000_000_000)),
]


# (parameter, its value at the bound) -> the value one past it.
PAST = {("MaximumVCPUs", "100000"): "100001", ("MinimumVCPUs", "100000"): "100001",
        ("UpdateJobTimeoutMinutes", "7200"): "7201", ("UpdateJobTimeoutMinutes", "1"): "0",
        ("GPUInstanceVCPUs", "192"): "193", ("GPUInstanceMemory", "4194304"): "4194305",
        ("SharedMemorySize", "64"): "63", ("SpotFleetBidPercentage", "100"): "101",
        ("JobAttempts", "10"): "11", ("GPUInstanceStorage", "16384"): "16385",
        ("LogRetentionDays", "3653"): "3654", ("JobTimeout", "999999999"): "1000000000"}


def parameter_declarations(config: StackConfig) -> dict:
    """The template's Parameters section, as the rendered template holds it (the data rendering
    writes; tests/template/test_generation.py holds the rendering itself)."""
    return template_dict(build_template(config))["Parameters"]


def defaults_refused(config: StackConfig) -> dict[str, str]:
    """Each parameter whose default its own declaration refuses, and why."""
    parameters = parameter_declarations(config)
    refused = {}
    for name, declaration in parameters.items():
        if "Default" not in declaration:
            continue
        default = declaration["Default"]
        text = ",".join(default) if isinstance(default, list) else str(default)
        reason = value_problem(declaration, text)
        if reason:
            refused[name] = reason
    return refused


@pytest.mark.parametrize("name, accepted, refused", EDGES, ids=[e[0] for e in EDGES])
def test_config_and_template_agree_at_every_bound(name, accepted, refused):
    assert defaults_refused(accepted) == {}
    with pytest.raises(ConfigError):
        refused.validate()
    # What validate() refuses, the template would have refused as a default.
    declaration = parameter_declarations(accepted)[name]
    assert value_problem(declaration, str(declaration["Default"])) is None
    assert value_problem(declaration, PAST[name, str(declaration["Default"])]) is not None


@pytest.mark.parametrize("config", [
    StackConfig(),
    StackConfig(s3_buckets=("rv-data", "rv.results"), s3_read_only_buckets=(),
                kms_key_arns=("arn:aws:kms:eu-west-1:123456789012:key/mrk-0123",)),
    StackConfig(session_manager=True, update_job_timeout_minutes=60),
    kind(StackConfig(), "cpu", repository_name="rv", repository_mode="existing"),
], ids=["defaults", "buckets-and-keys", "session-manager", "existing-repository"])
def test_every_default_passes_its_own_parameter(config):
    assert defaults_refused(config) == {}


def test_template_no_lint_refuses_what_cloudformation_would(tmp_path):
    config = tmp_path / "big.yml"
    config.write_text("max_vcpus: 1000000\nupdate_job_timeout_minutes: 10080\n"
                      "s3_buckets: ['*']\n")
    out = tmp_path / "t.yml"
    result = cli_runner.run(["template", "--config", str(config), "-o", str(out), "--no-lint"],
                            cwd=ROOT)
    assert result.returncode == 2
    assert "max_vcpus: got 1000000; allowed: 1 to 100000" in result.stderr
    assert "update_job_timeout_minutes: got 10080; allowed: 1 to 7200 minutes" in result.stderr
    assert re.search(r"s3_buckets\[0\]: got '\*'", result.stderr)
    assert "Traceback" not in result.stderr and not out.exists()


@pytest.mark.parametrize("path", ["cloudformation/template.yml",
                                  "cloudformation/job-definitions.yml"])
def test_every_number_parameter_of_both_templates_is_bounded(path):
    parameters = load_template((ROOT / path).read_text())["Parameters"]
    numbers = {n: d for n, d in parameters.items() if d["Type"] == "Number"}
    assert numbers
    unbounded = sorted(n for n, d in numbers.items() if "MinValue" not in d or "MaxValue" not in d)
    assert unbounded == []
