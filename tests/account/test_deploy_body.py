"""What `deploy` sends as TemplateBody: the file's text, or, for a YAML template over
CloudFormation's 51,200 bytes, the same template as compact JSON."""

from __future__ import annotations

import json

import cfn_flip
import pytest

from rv_batch_cfn.account.deploy import (TEMPLATE_BODY_LIMIT, TEMPLATE_URL_LIMIT,
                                       DeployOptions, load_template)
from rv_batch_cfn.errors import ConfigError
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
    assert len(body.encode()) < len(text.encode()) and body.startswith("{")
    assert json.loads(body) == json.loads(json.dumps(cfn_flip.load(text)[0])) == \
        json.loads(json.dumps(data))


def test_a_template_too_large_even_as_json_is_taken_up_to_the_s3_limit(tmp_path):
    path = tmp_path / "large.yml"
    path.write_text("Resources:\n" + "".join(
        f"  Topic{i}:\n    Type: AWS::SNS::Topic\n    Properties:\n"
        f"      DisplayName: {'x' * 90}\n" for i in range(600)))
    body, _ = load_template(path)
    assert len(body.encode()) > TEMPLATE_BODY_LIMIT and body.startswith("{")
    # Uploaded (to --s3-bucket, else to the console's template bucket): up to 1 MB.
    DeployOptions().check(body, path)
    DeployOptions(s3_bucket="rv-templates").check(body, path)
    too_large = body + " " * (TEMPLATE_URL_LIMIT - len(body.encode()) + 1)
    with pytest.raises(ConfigError, match="at most 1000000 bytes from S3"):
        DeployOptions(s3_bucket="rv-templates").check(too_large, path)
