"""What generation promises: the committed template is what `make template` writes, each named
configuration changes only what it sets, output is deterministic and within CloudFormation's
limits. (Each variant is clean under cfn-lint: tests/template/test_security_scan.py lints them
all in one run of its command line.)"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from rv_batch_cfn import build_template, render_yaml
from rv_batch_cfn.account.deploy import TEMPLATE_URL_LIMIT
from tests.emulator import ROOT, TEMPLATE
from tests.named_configs import CONFIGS, render

# What each named configuration sets, as the console shows it: the parameters' defaults.
VARIANT_DEFAULTS = {
    "default": {},
    "on-demand-gpu-ecr": {
        "GpuCapacity": "ON_DEMAND", "GpuRepositoryName": "raster-vision-gpu",
        "GpuRepositoryMode": "existing", "CpuRepositoryName": "raster-vision-cpu",
        "ImageTag": "v1"},
    "custom-families": {
        "Prefix": "geo", "CidrRange": "203.0.113.0/24",
        "GpuInstanceTypes": "g6e.2xlarge,g5.4xlarge", "GPUInstanceStorage": 300,
        "GPUInstanceMemory": 56000, "CpuInstanceTypes": "c7i.2xlarge,c6i.2xlarge",
        "CpuCapacity": "ON_DEMAND", "CPUInstanceStorage": 60, "CPUInstanceVCPUs": 8,
        "MaximumVCPUs": 256, "SharedMemorySize": 4096, "JobAttempts": 5, "JobTimeout": "86400",
        "S3Buckets": "geo-training-data,geo-experiments", "S3ReadOnlyBuckets": "geo-public-imagery",
        "S3KmsKeyArns": "arn:aws:kms:us-east-1:123456789012:key/"
                        "1234abcd-12ab-34cd-56ef-1234567890ab",
        "LogRetentionDays": 90, "UpdateJobTimeoutMinutes": 2880,
        "EnableSessionManager": "true"},
}


def without_defaults(template: dict) -> dict:
    return {**template, "Parameters": {
        name: {key: value for key, value in parameter.items() if key != "Default"}
        for name, parameter in template["Parameters"].items()}}


@pytest.mark.parametrize("name", sorted(CONFIGS))
def test_a_configuration_changes_only_the_defaults_it_sets(name):
    # A configuration is the console's starting values: every resource, condition, rule and
    # output is the default template's, so one deployed template serves every configuration.
    default = build_template().to_dict()
    variant = build_template(CONFIGS[name]).to_dict()
    changed = {key: parameter.get("Default") for key, parameter in variant["Parameters"].items()
               if parameter.get("Default") != default["Parameters"][key].get("Default")}
    assert changed == VARIANT_DEFAULTS[name]
    assert without_defaults(variant) == without_defaults(default)


def test_committed_template_is_what_make_template_writes():
    assert TEMPLATE.read_text() == render_yaml(build_template()), (
        "cloudformation/template.yml is stale: run `make template` and commit it")


def test_output_is_byte_identical_whatever_the_hash_seed():
    code = ("import sys; from rv_batch_cfn import build_template, render_yaml; "
            "from rv_batch_cfn.template import build_job_definitions_template as jobs; "
            "from tests.named_configs import CONFIGS; "
            "sys.stdout.write(''.join(render_yaml(build(c)) for c in CONFIGS.values() "
            "for build in (build_template, jobs)))")
    outputs = []
    for seed in ("1", "4242"):
        env = dict(os.environ, PYTHONHASHSEED=seed)
        outputs.append(subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env,
                                      capture_output=True, check=True).stdout)
    assert outputs[0] == outputs[1]
    assert len(outputs[0]) > 100_000  # six whole templates, not an empty string twice


@pytest.mark.parametrize("name", sorted(CONFIGS))
def test_within_cloudformation_limits(name):
    text = render(name)
    template = build_template(CONFIGS[name]).to_dict()
    # The console uploads the YAML to its S3 bucket, and deploy sends a template over 51,200
    # bytes through S3 too (tests/account/test_deploy_options.py): TemplateURL's limit holds.
    assert len(text.encode()) <= TEMPLATE_URL_LIMIT
    assert len(template["Resources"]) <= 500
    assert len(template["Parameters"]) <= 200
    assert len(template["Outputs"]) <= 200
    assert len(template.get("Conditions", {})) <= 200
