"""Fixtures for commands that talk to the account: the CLI run as a user runs it."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Callable

import pytest

from tests import cli_runner
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


def assert_one_clean_error(result: subprocess.CompletedProcess, *fragments: str) -> None:
    """Exit 2 with one error message containing every fragment, and no traceback."""
    assert result.returncode == 2, result.stdout + result.stderr
    assert "Traceback" not in result.stderr, result.stderr
    assert result.stderr.count("error:") == 1, result.stderr
    for fragment in fragments:
        assert fragment in result.stderr, result.stderr

