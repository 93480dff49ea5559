"""The wheel `make dist` builds, installed beside Raster Vision 0.31 (the test extra's) as
docs/raster-vision.md says: Raster Vision finds the batch_retry runner in it, and the
rv-batch-cfn command and library work from it alone.

Built with the command `make dist` runs (uv, without build isolation: the test environment's
locked setuptools and wheel, no download): the sdist, then the wheel from the sdist, so a file
the sdist misses fails the wheel. From a copy of the sources: a build writes *.egg-info beside
them, which the editable install of the checkout would see. Installed (`uv pip install
--no-deps`) into a new virtual environment that sees the test environment's packages (Raster
Vision, boto3, troposphere...) through a .pth line, which lists that directory without running
its .pth files, so the editable install of this checkout stays out of sight: every module of
rv-batch-cfn the environment imports comes from the wheel. Raster Vision's Docker image, the
docs' other way, cannot be built here (no Docker daemon).
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

from tests.emulator import ROOT, TEMPLATE
from tests.plugin.raster_vision import RV_VARIABLES

UV = ROOT / ".venv" / "uv-tool" / "bin" / "uv"
# Not sources: environments, caches and what builds leave.
NOT_SOURCES = shutil.ignore_patterns(".git", ".venv*", "build", "dist", "*.egg-info",
                                     "__pycache__", ".pytest_cache", ".import_linter_cache",
                                     "settings.mk")


def run(*command: str, cwd: Path, env: dict | None = None) -> subprocess.CompletedProcess:
    result = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True,
                            timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    return result


def make_dist_command(out: Path) -> list[str]:
    """What `make dist DIST=out` runs to build, read from `make -n`, its paths into the test
    environment made absolute (it runs in a copy of the sources)."""
    shown = run("make", "-n", "dist", f"DIST={out}", cwd=ROOT).stdout.splitlines()
    build, = [line for line in shown if " build " in line]
    return [str(ROOT / word) if word.startswith(".venv/") else word
            for word in shlex.split(build)]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    sources = tmp_path_factory.mktemp("sources") / "rv-batch-cfn"
    shutil.copytree(ROOT, sources, ignore=NOT_SOURCES)
    out = tmp_path_factory.mktemp("dist")
    run(*make_dist_command(out), cwd=sources)
    built = sorted(p.name for p in out.iterdir() if p.name.startswith("rv_batch_cfn-"))
    assert [name.endswith((".tar.gz", ".whl")) for name in built] == [True, True], built
    wheel, = out.glob("rv_batch_cfn-*.whl")
    return wheel


@pytest.fixture(scope="module")
def venv(wheel, tmp_path_factory) -> Path:
    """A new environment with the wheel installed, seeing the test environment's packages."""
    venv = tmp_path_factory.mktemp("venv") / "rv"
    run(sys.executable, "-m", "venv", "--without-pip", str(venv), cwd=venv.parent)
    python = venv / "bin" / "python"
    site = run(str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])",
               cwd=venv).stdout.strip()
    (Path(site) / "test-environment.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    # uv, the installer of the Makefile (pip would do the same, more slowly).
    run(str(UV), "pip", "install", "--quiet", "--python", str(python), "--no-deps", "--no-index",
        str(wheel), cwd=venv)
    return venv


def in_venv(venv: Path, *command: str) -> str:
    env = {k: v for k, v in os.environ.items()
           if k not in RV_VARIABLES and k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env["TMPDIR"] = str(venv.parent)
    return run(*command, cwd=venv.parent, env=env).stdout


def test_raster_vision_finds_the_runner_of_the_installed_wheel(venv):
    code = ("from rastervision.pipeline import registry_\n"
            "import rastervision.batch_retry as plugin, rastervision.pipeline as rv\n"
            "from importlib.metadata import version\n"
            "print(registry_.get_runner('batch_retry').__name__)\n"
            "print(plugin.__file__)\n"
            "print(version('rastervision_pipeline'))\n")
    name, path, rv_version = in_venv(venv, str(venv / "bin" / "python"), "-c", code).split()
    assert name == "BatchRetryRunner"
    assert Path(path).is_relative_to(venv)
    assert rv_version.startswith("0.31.")


def test_the_command_and_the_library_work_from_the_wheel_alone(venv):
    from rv_batch_cfn import __version__

    shown = in_venv(venv, str(venv / "bin" / "rv-batch-cfn"), "--version")
    assert __version__ in shown
    # The template needs the package data (the boothook script): the wheel has it.
    code = ("import rv_batch_cfn, sys\n"
            "from rv_batch_cfn import build_template, render_yaml\n"
            "print(rv_batch_cfn.__file__, file=sys.stderr)\n"
            "sys.stdout.write(render_yaml(build_template()))\n")
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    result = subprocess.run([str(venv / "bin" / "python"), "-c", code], cwd=venv.parent,
                            env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert Path(result.stderr.strip()).is_relative_to(venv)
    assert result.stdout == TEMPLATE.read_text()
