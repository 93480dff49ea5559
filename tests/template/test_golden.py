"""Golden templates for named configs, each clean under cfn-lint; the committed template is fresh."""

from __future__ import annotations

import os
import subprocess
import sys

import cfn_flip
import pytest

from rv_batch_cfn import build_template, render_yaml
from rv_batch_cfn.account.deploy import TEMPLATE_BODY_LIMIT, compact_body
from tests.emulator import ROOT, TEMPLATE
from tests.golden_configs import CONFIGS, golden_path, render


@pytest.mark.parametrize("name", sorted(CONFIGS))
def test_golden_template(name):
    assert render(name) == golden_path(name).read_text(), (
        f"tests/golden/{name}.yml is stale: run `make update-golden` and review the diff")


# Each golden template is clean under cfn-lint: tests/template/test_security_scan.py lints them
# all in one run of its command line.


def test_committed_template_is_what_make_template_writes():
    assert TEMPLATE.read_text() == render_yaml(build_template()), (
        "cloudformation/template.yml is stale: run `make template` and commit it")


def test_output_is_byte_identical_whatever_the_hash_seed():
    code = ("import sys; from rv_batch_cfn import build_template, render_yaml; "
            "from rv_batch_cfn.template import build_job_definitions_template as jobs; "
            "from tests.golden_configs import CONFIGS; "
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
    text = golden_path(name).read_text()
    template = build_template(CONFIGS[name]).to_dict()
    # TemplateBody (not only an S3 upload) must be possible: 51,200 bytes. The YAML is for
    # reading; over the limit, deploy sends the same template as compact JSON.
    body = text if len(text.encode()) < TEMPLATE_BODY_LIMIT else compact_body(cfn_flip.load(text)[0])
    assert len(body.encode()) < TEMPLATE_BODY_LIMIT
    assert len(template["Resources"]) <= 500
    assert len(template["Parameters"]) <= 200
    assert len(template["Outputs"]) <= 200
    assert len(template.get("Conditions", {})) <= 200
