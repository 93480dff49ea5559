"""Fixtures for commands that talk to the account: the CLI run as a user runs it."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path
from typing import Callable

import pytest

from tests import cli_runner
from tests.aws.ami_helpers import PROFILE
from tests.emulator import Emulator, aws_env

# Raster Vision reads these; a developer's own settings must not leak into a test.
RV_VARIABLES = ("RV_CONFIG", "RV_CONFIG_DIR", "RV_PROFILE", "BATCH_GPU_JOB_QUEUE",
                "BATCH_GPU_JOB_DEF", "BATCH_CPU_JOB_QUEUE", "BATCH_CPU_JOB_DEF")


@pytest.fixture
def home(tmp_path: Path) -> Path:
    """An empty home directory for the CLI (so ~/.rastervision is the test's own)."""
    path = tmp_path / "home"
    path.mkdir()
    return path


@pytest.fixture
def cli(emulator: Emulator, home: Path,
        tmp_path: Path) -> Callable[..., subprocess.CompletedProcess]:
    """Run `rv-batch-cfn ARGS` pointed at the emulator, from an empty directory, in this process
    (tests/cli_runner.py: what a subprocess would print and exit with).

    Keyword arguments add environment variables (e.g. RV_PROFILE="team").
    """
    def run(*args: str, **env: str) -> subprocess.CompletedProcess:
        environment = {k: v for k, v in aws_env(emulator, HOME=str(home)).items()
                       if k not in RV_VARIABLES}
        environment.update(env)
        return cli_runner.run(args, env=environment, cwd=tmp_path)
    return run


# create-ami, validate-ami and find-base-ami (tests/aws/test_ami.py, test_build_access.py)

@pytest.fixture
def aws_home(tmp_path, monkeypatch) -> Path:
    """An AWS config folder of this test's own, holding profile rv-emu with keys; no AWS_*
    variables, and no instance-metadata lookups (they would wait for a timeout here)."""
    for key in list(os.environ):
        if key.startswith("AWS_"):
            monkeypatch.delenv(key)
    home = tmp_path / "aws"
    home.mkdir()
    (home / "config").write_text(f"[profile {PROFILE}]\nregion = us-east-1\n")
    (home / "credentials").write_text(
        f"[{PROFILE}]\naws_access_key_id = testing\naws_secret_access_key = testing\n")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(home / "config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(home / "credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("CHECKPOINT_DISABLE", "1")  # no version check by Packer over the network
    return home


@pytest.fixture
def account(emulator, aws_home, monkeypatch):
    """The emulator, reached only through profile rv-emu (as a user of create-ami would)."""
    monkeypatch.setenv("AWS_ENDPOINT_URL", emulator.endpoint)
    return emulator
