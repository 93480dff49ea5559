"""rv_batch_cfn.inputs.template_loader reads a template as cfn-flip's CfnYamlLoader does (the
loader `deploy` used before), on libyaml's parser, into plain dicts."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from cfn_tools import CfnYamlLoader

from rv_batch_cfn.inputs import template_loader
from tests.samples import SHORT_FORMS

ROOT = Path(__file__).resolve().parents[1]
TEMPLATES = sorted(ROOT.glob("cloudformation/*.yml"))


def _as_cfn_flip_reads(text: str) -> object:
    return json.loads(json.dumps(yaml.load(text, Loader=CfnYamlLoader)))


@pytest.mark.parametrize("path", TEMPLATES, ids=lambda p: p.name)
def test_every_template_reads_as_cfn_flip_reads_it(path):
    text = path.read_text()
    data = yaml.load(text, Loader=template_loader())
    assert data == _as_cfn_flip_reads(text)
    assert type(data) is dict and type(data["Resources"]) is dict


def test_each_short_form_tag_becomes_its_long_form():
    data = yaml.load(SHORT_FORMS, Loader=template_loader())
    assert data == _as_cfn_flip_reads(SHORT_FORMS)
    assert data["B"] == {"Fn::GetAtt": ["Role", "Arn"]} == data["C"]
    assert data["F"]["Fn::And"][0] == {"Condition": "One"}
    assert data["G"] == {"Fn::ImportValue": {"Fn::Sub": "${Stack}-Vpc"}}


def test_it_parses_with_libyaml_where_pyyaml_has_it():
    if not hasattr(yaml, "CSafeLoader"):
        pytest.skip("this PyYAML was built without libyaml")
    assert issubclass(template_loader(), yaml.CSafeLoader)


def test_a_body_aws_hands_back_reads_alike_as_yaml_or_json():
    from rv_batch_cfn.aws.deploy import compact_body
    from rv_batch_cfn.inputs import template_data

    text = (ROOT / "cloudformation" / "template.yml").read_text()
    data = template_data(text)
    assert data == _as_cfn_flip_reads(text)
    assert template_data(compact_body(data)) == data
