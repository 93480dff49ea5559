"""Every command that reads a file or a value, given hostile input: exit 2, one message, no
traceback, no changed or partial file. The commands here read before any call to AWS (their
environment points at a port where nothing listens, so one that did call would fail otherwise);
tests/aws/test_hostile_inputs.py has those that read after a call.
"""

from __future__ import annotations

import dataclasses
import os
import stat
from pathlib import Path

import pytest

from rv_batch_cfn.config import StackConfig
from rv_batch_cfn.errors import QUOTE_LIMIT
from tests.emulator import TEMPLATE
from tests.hostile import (
    DOCUMENTS, KINDS, TARGETS, assert_refused, hostile_file, no_hang, run, snapshot,  # noqa: F401
)

NOWHERE = "http://127.0.0.1:9"  # nothing listens: a command that reached AWS would fail


@pytest.fixture(autouse=True)
def offline(monkeypatch, tmp_path):
    """No AWS settings of the developer's, an endpoint where nothing listens, and a working
    directory of the test's own (commands look for packer/last-ami there)."""
    for key in list(os.environ):
        if key.startswith(("AWS_", "RV_BATCH_CFN_")):
            monkeypatch.delenv(key)
    monkeypatch.setenv("AWS_ENDPOINT_URL", NOWHERE)
    monkeypatch.setenv("AWS_REGION", "us-east-1")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_CONFIG_FILE", os.devnull)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", os.devnull)
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)


# Each command that reads a YAML or JSON file, and how the file is given. `out` is an output
# that must stay as it was.
READERS = {
    "template --config": lambda path, out: ["template", "--config", path, "-o", out],
    "job-def-template --config": lambda path, out: ["job-def-template", "--config", path,
                                                    "-o", out],
    "lint": lambda path, out: ["lint", path],
    "deploy --template": lambda path, out: ["deploy", "--stack", "rv", "--yes", "--template",
                                            path],
}


@pytest.mark.usefixtures("no_hang")
@pytest.mark.parametrize("case", DOCUMENTS + KINDS, ids=lambda c: c.name)
@pytest.mark.parametrize("reader", READERS, ids=lambda r: r.replace(" ", ""))
def test_a_hostile_file_is_refused(capsys, tmp_path, reader, case):
    folder = tmp_path / "in"
    folder.mkdir()
    path = hostile_file(folder, case)
    out = tmp_path / "out.yml"
    out.write_text("previous\n")
    before = snapshot(tmp_path)
    err = assert_refused(run(capsys, *READERS[reader](str(path), str(out))), case.says)
    assert snapshot(tmp_path) == before  # nothing written, nothing half-written
    assert str(path) in err or case.name in ("endless-device",)


def test_a_key_is_quoted_within_bounds(capsys, tmp_path):
    config = tmp_path / "team.yml"
    # An explicit key ("? ..."): a plain one may not be longer than 1024 characters.
    config.write_text(f"? {'k' * 100_000}\n: 1\nprefix: {'x' * 100_000}\n")
    err = assert_refused(run(capsys, "template", "--config", str(config), "-o", "-"))
    # The unknown key's line ends with every allowed key, a list that grows with StackConfig.
    keys = len(", ".join(f.name for f in dataclasses.fields(StackConfig)))
    assert "…" in err and max(len(line) for line in err.splitlines()) < 3 * QUOTE_LIMIT + keys


def test_many_problems_are_counted_not_all_listed(capsys, tmp_path):
    config = tmp_path / "team.yml"
    config.write_text("".join(f"unknown{i}: 1\n" for i in range(5000)))
    err = assert_refused(run(capsys, "template", "--config", str(config), "-o", "-"),
                         "5000 problems", "(and 4980 more)")
    assert len(err.splitlines()) < 30


SHORT_FORMS = """AWSTemplateFormatVersion: "2010-09-09"
Parameters:
  Prefix:
    Type: String
Conditions:
  Named: !Not [!Equals [!Ref Prefix, ""]]
Resources:
  Logs:
    Type: AWS::Logs::LogGroup
    DeletionPolicy: Retain
    UpdateReplacePolicy: Retain
    Properties:
      LogGroupName: !If [Named, !Sub "${Prefix}-logs", !Ref "AWS::NoValue"]
      RetentionInDays: 30
Outputs:
  Arn:
    Value: !GetAtt Logs.Arn
"""


def test_a_template_with_short_form_tags_still_reads(capsys, tmp_path):
    # The template loader knows !Ref, !Sub, ...: the checks do not refuse what cfn-lint reads.
    path = tmp_path / "short.yml"
    path.write_text(SHORT_FORMS)
    code, out, err = run(capsys, "lint", str(path))
    assert code == 0, err


@pytest.mark.parametrize("param, says", [
    ("Prefix=\udcff\udcfe", "--param Prefix: got '\\udcff\\udcfe'; the value holds bytes that "
                            "are not UTF-8 text"),
    ("Prefix=" + "x" * 5000, "the value is 5000 bytes long; allowed: at most 4096"),
    ("Pre fix=a", "allowed: a parameter name (letters and digits, at most 255)"),
    ("no-equals-sign", "allowed: KEY=VALUE"),
    ("Unknown=" + "y" * 4000, "unknown parameter; allowed: "),
], ids=["undecodable", "huge", "bad-name", "malformed", "unknown-and-huge"])
def test_a_hostile_param_is_refused(capsys, param, says):
    err = assert_refused(run(capsys, "deploy", "--stack", "rv", "--yes", "--template",
                             str(TEMPLATE), "--param", param), says)
    assert len(err) < 4000


@pytest.mark.parametrize("argv, says", [
    (["rv-config", "--stack", "rv", "--region", "us east 1"],
     "argument --region: got 'us east 1'; allowed: a region name such as us-east-1"),
    (["doctor", "--stack", "rv", "--region", "us-east-1\udcff"], "argument --region: got"),
    (["choose-subnets", "--vpc", "vpc-0123456789abcdef0", "--region", "r" * 300],
     "argument --region: got"),
    (["lint", str(TEMPLATE), "--region", "us east 1"], "argument --region: got 'us east 1'"),
    (["lint", str(TEMPLATE), "--region", "xx-nowhere-1"],
     "--region: got 'xx-nowhere-1'; allowed: a region cfn-lint knows"),
    (["rv-config", "--stack", "two words"], "argument --stack/--stack-name: got 'two words'; allowed: a "
                                            "stack name"),
    (["deploy", "--stack", "x" * 100_000], "argument --stack/--stack-name: got 'xxxx"),
    (["doctor", "--stack", "rv\udcff"], "argument --stack/--stack-name: got 'rv\\udcff'"),
], ids=["space", "undecodable", "huge", "lint-space", "lint-unknown", "stack-space",
        "stack-huge", "stack-undecodable"])
def test_a_hostile_value_is_refused(capsys, argv, says):
    assert_refused(run(capsys, *argv), says)


@pytest.mark.parametrize("variable, value, says", [
    ("AWS_REGION", "us east 1", "AWS_REGION: got 'us east 1'; allowed: a region name"),
    ("RV_BATCH_CFN_READ_TIMEOUT", "soon", "RV_BATCH_CFN_READ_TIMEOUT: got 'soon'; allowed: a "
                                          "number of seconds"),
    ("RV_BATCH_CFN_CONNECT_TIMEOUT", "-1", "RV_BATCH_CFN_CONNECT_TIMEOUT: got '-1'"),
    ("AWS_MAX_ATTEMPTS", "many", "AWS_MAX_ATTEMPTS: got 'many'"),
    ("AWS_RETRY_MODE", "eager", "AWS_RETRY_MODE (or the profile's retry_mode): got 'eager'"),
])
def test_a_hostile_environment_is_refused(capsys, monkeypatch, variable, value, says):
    monkeypatch.setenv(variable, value)
    assert_refused(run(capsys, "rv-config", "--stack", "rv"), says)


def test_an_unknown_region_is_named_when_aws_cannot_be_reached(capsys, monkeypatch):
    # Well-formed, but no such region: its endpoint's name does not resolve.
    monkeypatch.delenv("AWS_ENDPOINT_URL")
    assert_refused(run(capsys, "rv-config", "--stack", "rv", "--region", "xx-nowhere-1"),
                   "cannot reach AWS", "sts.xx-nowhere-1.amazonaws.com",
                   "region 'xx-nowhere-1' is not one this version of botocore knows")


# ---- outputs: what is at the path decides, the same way for every command (tests.hostile.TARGETS)

WRITERS = {
    "template": lambda out: ["template", "--no-lint", "-o", out],
    "job-def-template": lambda out: ["job-def-template", "--no-lint", "-o", out],
    "packer-template": lambda out: ["packer-template", "-o", out],
    "parameters-page": lambda out: ["parameters-page", "-o", out],
}


@pytest.mark.usefixtures("no_hang")
@pytest.mark.parametrize("target", TARGETS)
@pytest.mark.parametrize("writer", WRITERS)
def test_an_output_that_is_not_a_writable_file_is_refused(capsys, tmp_path, writer, target):
    folder = tmp_path / "out"
    folder.mkdir()
    make, says = TARGETS[target]
    path = make(folder / "target")
    before = snapshot(tmp_path)
    assert_refused(run(capsys, *WRITERS[writer](str(path))), says)
    assert snapshot(tmp_path) == before  # no temporary file left, nothing replaced


@pytest.mark.parametrize("writer", WRITERS)
def test_an_output_link_is_written_through(capsys, tmp_path, writer):
    real = tmp_path / "kept-elsewhere" / "file"
    real.parent.mkdir()
    real.write_text("old\n")
    real.chmod(0o640)
    link = tmp_path / "link"
    link.symlink_to(real)
    code, _, err = run(capsys, *WRITERS[writer](str(link)))
    assert code == 0, err
    assert link.is_symlink() and os.readlink(link) == str(real)
    assert real.read_text() != "old\n"
    assert stat.S_IMODE(real.stat().st_mode) == 0o640  # its permissions kept
    assert sorted(p.name for p in real.parent.iterdir()) == ["file"]


@pytest.mark.usefixtures("no_hang")
@pytest.mark.parametrize("case", [k for k in KINDS if k.name != "missing"] + DOCUMENTS[:2],
                         ids=lambda c: c.name)
def test_a_hostile_ami_record_is_no_reason_to_fail(capsys, case):
    # packer/last-ami only feeds a hint: whatever is there, `template` works and says nothing.
    Path("packer").mkdir()
    hostile_file(Path("packer"), case, "last-ami")
    code, _, err = run(capsys, "template", "--no-lint", "-o", "template.yml")
    assert code == 0, err
    assert "hint:" not in err
