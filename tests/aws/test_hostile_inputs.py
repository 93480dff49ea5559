"""Hostile input to the commands that read (and write) a file after calling AWS: `rv-config
--write` (the Raster Vision profile file) and `find-base-ami --write` (settings.mk). Same rules
as tests/test_hostile_inputs.py: exit 2, one message, no traceback, nothing changed. They run in
this process against the emulator."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from rv_batch_cfn.template import outputs as out
from rv_batch_cfn.template import parameters as params
from tests.emulator import Emulator
from tests.hostile import (  # noqa: F401 - no_hang is a fixture
    KINDS, TARGETS, TEXTS, assert_refused, hostile_file, no_hang, run, snapshot,
)

# A stack with the outputs and the parameter rv-config reads, and nothing else to create.
STACK_TEMPLATE = "\n".join([
    "Parameters:",
    f"  {params.JOB_ATTEMPTS}: {{Type: Number, Default: 3}}",
    "Resources:",
    "  Logs: {Type: AWS::Logs::LogGroup}",
    "Outputs:",
    *[f"  {name}: {{Value: {name.lower()}}}" for name in (*out.QUEUE_OUTPUTS,
                                                         *out.JOB_DEFINITION_OUTPUTS)],
]) + "\n"
AMI = "ami-0123456789abcdef0"
PARAMETER = "/rv-batch-cfn-test/base-ami"


@pytest.fixture
def stack(emulator: Emulator) -> str:
    emulator.client("cloudformation").create_stack(StackName="rv", TemplateBody=STACK_TEMPLATE)
    return "rv"


@pytest.fixture
def work(tmp_path, monkeypatch) -> Path:
    folder = tmp_path / "work"
    folder.mkdir()
    monkeypatch.chdir(folder)
    for key in ("RV_CONFIG", "RV_CONFIG_DIR", "RV_PROFILE"):
        monkeypatch.delenv(key, raising=False)
    return folder


def rv_config_write(path: Path) -> list[str]:
    os.environ["RV_CONFIG"] = str(path)
    return ["rv-config", "--stack", "rv", "--write"]


def find_base_ami_write(path: Path) -> list[str]:
    return ["find-base-ami", "--parameter", PARAMETER, "--owner", "self", "--write",
            "--settings", str(path)]


COMMANDS = {"rv-config --write": rv_config_write, "find-base-ami --write": find_base_ami_write}


@pytest.fixture
def ready(emulator, stack, work, monkeypatch):
    """The stack rv-config reads and the parameter find-base-ami reads; RV_CONFIG restored."""
    emulator.client("ssm").put_parameter(Name=PARAMETER, Value=AMI, Type="String")
    monkeypatch.setenv("RV_CONFIG", "")
    return work


@pytest.mark.usefixtures("no_hang", "ready")
@pytest.mark.parametrize("case", TEXTS + [k for k in KINDS if k.name != "missing"],
                         ids=lambda c: c.name)
@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: c.split()[0])
def test_a_hostile_file_is_refused(capsys, tmp_path, command, case):
    folder = tmp_path / "in"
    folder.mkdir()
    path = hostile_file(folder, case, "file")
    before = snapshot(tmp_path)
    fragment = case.says if case.name in ("undecodable", "huge") else case.says.split(",")[0]
    assert_refused(run(capsys, *COMMANDS[command](path)), fragment)
    assert snapshot(tmp_path) == before  # no backup, no temporary file, nothing replaced


@pytest.mark.usefixtures("no_hang", "ready")
@pytest.mark.parametrize("target", TARGETS)
@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: c.split()[0])
def test_an_output_that_is_not_a_writable_file_is_refused(capsys, tmp_path, command, target):
    folder = tmp_path / "out"
    folder.mkdir()
    make, says = TARGETS[target]
    path = make(folder / "target")
    before = snapshot(tmp_path)
    assert_refused(run(capsys, *COMMANDS[command](path)), says.split(" (mode")[0])
    assert snapshot(tmp_path) == before


@pytest.mark.usefixtures("ready")
@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: c.split()[0])
def test_a_link_is_written_through(capsys, tmp_path, command):
    real = tmp_path / "dotfiles" / "file"
    real.parent.mkdir()
    real.write_text("# kept\n")
    link = tmp_path / "link"
    link.symlink_to(real)
    code, _, err = run(capsys, *COMMANDS[command](link))
    assert code == 0, err
    assert link.is_symlink() and os.readlink(link) == str(real)
    assert real.read_text().startswith("# kept\n") and real.read_text() != "# kept\n"


@pytest.mark.usefixtures("no_hang")
@pytest.mark.parametrize("target", ["named-pipe", "read-only", "directory"])
def test_the_library_writers_refuse_too(tmp_path, target):
    # Called as a Python user would, without the command's checks before AWS.
    from rv_batch_cfn.aws.ami import base as base_ami
    from rv_batch_cfn.aws.rv_config import profile as rvconfig
    from rv_batch_cfn.errors import RvBatchError

    settings = rvconfig.BatchSettings({o: "x" for o in (*out.QUEUE_OUTPUTS,
                                                        *out.JOB_DEFINITION_OUTPUTS)}, "3")
    make, says = TARGETS[target]
    path = make(tmp_path / "target")
    before = snapshot(tmp_path)
    with pytest.raises(RvBatchError, match=says.split(" (mode")[0].replace("(", r"\(")
                       .replace(")", r"\)")):
        rvconfig.write_config(settings, path=path)
    with pytest.raises(RvBatchError, match=says.split(" (")[0]):
        base_ami.write_setting(path, "AWS_BATCH_BASE_AMI", AMI)
    assert snapshot(tmp_path) == before


@pytest.mark.usefixtures("ready")
def test_a_profile_that_is_not_ini_is_quoted_within_bounds(capsys, tmp_path):
    profile = tmp_path / "profile"
    profile.write_text("x" * 500_000 + "\n")  # no section header, one long line
    err = assert_refused(run(capsys, *rv_config_write(profile)),
                         "it is not a valid INI file (line 1: 'xxxxx",
                         "a key before the first [section] header")
    assert len(err) < 1000 and profile.read_text() == "x" * 500_000 + "\n"
