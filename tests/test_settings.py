"""Which value make passes on: the command line, then the environment, then settings.mk, then
the command's own default. `make -n` prints the command a target would run, without running it."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path
from typing import Optional

import pytest

from tests.conftest import require_tool
from tests.emulator import ROOT

OLD_STYLE = "AWS_PROFILE := file-profile\nAWS_REGION := file-region\n"  # copies made before `?=`
NEW_STYLE = "AWS_PROFILE ?= file-profile\nAWS_REGION ?= file-region\n"


def doctor_command(settings: Optional[Path], env: dict[str, str], *overrides: str) -> str:
    """The doctor command `make doctor` would run, with these settings, environment and
    command-line variables."""
    make = require_tool("make")
    environment = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    environment.update(env)
    done = subprocess.run(
        [make, "-s", "-n", "-o", ".venv/bin/.installed", "doctor", "STACK=s",
         f"SETTINGS_MK={settings or '/nonexistent/settings.mk'}", *overrides],
        cwd=ROOT, env=environment, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    [command] = [line for line in done.stdout.splitlines() if " doctor --stack " in line]
    return command.split(" doctor --stack s", 1)[1].strip()


@pytest.mark.parametrize("style", [OLD_STYLE, NEW_STYLE], ids=["colon-equals", "question-equals"])
def test_command_line_then_environment_then_settings_mk(tmp_path, style):
    settings = tmp_path / "settings.mk"
    settings.write_text(style)
    assert doctor_command(settings, {}) == "--profile file-profile --region file-region"
    assert doctor_command(settings, {"AWS_PROFILE": "env-profile"}) == \
        "--profile env-profile --region file-region"
    assert doctor_command(settings, {"AWS_PROFILE": "env-profile", "AWS_REGION": "env-region"},
                          "AWS_REGION=cli-region") == "--profile env-profile --region cli-region"


def test_without_settings_mk_the_commands_defaults_apply():
    # Nothing passed: the CLI then follows the AWS CLI's own chain (environment, profile).
    assert doctor_command(None, {}) == ""
    assert doctor_command(None, {"AWS_REGION": "env-region"}) == "--region env-region"


def test_the_template_leaves_the_account_to_the_aws_cli(tmp_path):
    # A copy of the template as shipped pins no profile or region: access keys in the
    # environment are not overruled by a profile the user never asked for.
    settings = tmp_path / "settings.mk"
    settings.write_text((ROOT / "settings.mk.template").read_text())
    assert doctor_command(settings, {}) == ""
    assert doctor_command(settings, {"AWS_PROFILE": "mine"}) == "--profile mine"


def test_a_value_with_dollars_and_spaces_survives(tmp_path):
    settings = tmp_path / "settings.mk"
    settings.write_text(OLD_STYLE)
    assert doctor_command(settings, {"AWS_PROFILE": "a$b c"}) == \
        "--profile a$b c --region file-region"


def test_make_help_is_aligned():
    make = require_tool("make")
    done = subprocess.run([make, "-s", "help", "SETTINGS_MK=/nonexistent"], cwd=ROOT,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert len(lines) > 10 and all(line.startswith("  make ") for line in lines)
    # Every description starts in the same column, after the longest target name and two spaces.
    width = max(len(line.split()[1]) for line in lines)
    assert {line.index(line.split(None, 2)[2], 7 + len(line.split()[1])) for line in lines} == \
        {len("  make ") + width + 2}
    assert "  make teardown " in done.stdout
