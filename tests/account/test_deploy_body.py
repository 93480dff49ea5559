"""What `deploy` sends as TemplateBody: the file's text, or, for a YAML template over
CloudFormation's 51,200 bytes, the same template as compact JSON."""

from __future__ import annotations

import json

import cfn_flip
import pytest

from rv_batch_cfn.account.deploy import TEMPLATE_BODY_LIMIT, load_template
from rv_batch_cfn.errors import RvBatchError
from tests.emulator import TEMPLATE


def test_a_small_template_is_sent_as_written(tmp_path):
    path = tmp_path / "small.yml"
    path.write_text("Resources:\n  Topic:\n    Type: AWS::SNS::Topic\n")
    body, data = load_template(path)
    assert body == path.read_text() and list(data["Resources"]) == ["Topic"]


def test_the_committed_template_goes_as_compact_json_of_the_same_template():
    text = TEMPLATE.read_text()
    body, data = load_template(TEMPLATE)
    if len(text.encode()) <= TEMPLATE_BODY_LIMIT:
        pytest.skip("the committed template fits as it is")
    assert len(body.encode()) <= TEMPLATE_BODY_LIMIT
    assert json.loads(body) == json.loads(json.dumps(cfn_flip.load(text)[0])) == \
        json.loads(json.dumps(data))


def test_a_template_too_large_even_as_json_is_refused(tmp_path):
    path = tmp_path / "large.yml"
    path.write_text("Resources:\n" + "".join(
        f"  Topic{i}:\n    Type: AWS::SNS::Topic\n    Properties:\n"
        f"      DisplayName: {'x' * 90}\n" for i in range(600)))
    with pytest.raises(RvBatchError, match="even as compact JSON; CloudFormation takes at most"):
        load_template(path)
