"""The wheel `make dist` builds, installed beside Raster Vision 0.31 (the test extra's) as
docs/raster-vision.md says: Raster Vision finds the batch_retry runner in it, and the
rv-batch-cfn command and library work from it alone.

Built with the command `make dist` runs (`python -m build`), the wheel alone (`make dist` also
builds the sdist, then the wheel from it: twice the time), without isolation (this
environment's setuptools, no download), from a copy of the sources (a build writes build/ and *.egg-info beside them, which
the editable install of the checkout reads). Installed with --no-deps into a new virtual
environment that sees the test environment's packages (Raster Vision, boto3, troposphere...)
through a .pth line, which lists that directory without running its .pth files, so the
editable install of this checkout stays out of sight: every module of rv-batch-cfn the
environment imports comes from the wheel.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

from tests.emulator import ROOT, TEMPLATE
from tests.plugin.raster_vision import RV_VARIABLES

# Not sources: environments, caches and what builds leave.
NOT_SOURCES = shutil.ignore_patterns(".git", ".venv*", "build", "dist", "*.egg-info",
                                     "__pycache__", ".pytest_cache", ".import_linter_cache",
                                     "settings.mk")


def run(*command: str, cwd: Path, env: dict | None = None) -> subprocess.CompletedProcess:
    result = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True,
                            timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    return result


def make_dist_command() -> list[str]:
    """What `make dist` runs to build, read from `make -n`."""
    shown = run("make", "-n", "dist", "DIST=OUT", cwd=ROOT).stdout.splitlines()
    build, = [line for line in shown if " -m build " in line]
    return build.split()


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    sources = tmp_path_factory.mktemp("sources") / "rv-batch-cfn"
    shutil.copytree(ROOT, sources, ignore=NOT_SOURCES)
    out = tmp_path_factory.mktemp("dist")
    command = make_dist_command()
    assert command[1:] == ["-m", "build", "--outdir", "'OUT'", "."]
    run(sys.executable, "-m", "build", "--wheel", "--no-isolation", "--outdir", str(out), ".",
        cwd=sources)
    wheel, = out.iterdir()
    assert wheel.name.startswith("rv_batch_cfn-") and wheel.suffix == ".whl"
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
    run(sys.executable, "-m", "pip", "--python", str(python), "install", "--quiet",
        "--no-deps", "--no-index", str(wheel), cwd=venv)
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
