"""The layers of ARCHITECTURE.md, held against the code by import-linter: its contracts are the
[importlinter] section of setup.cfg (layers cli > aws > template > core, no boto3 below the
library layer, the Raster Vision plugin and rv_batch_cfn independent, no import cycles), and the
tests run its command line, `lint-imports`, as a developer would.

What import-linter cannot state is tested here: what the package faces import on first use (by
name, through `import_module`, which no static reader sees), and what `import rv_batch_cfn`
loads when it runs.
"""

from __future__ import annotations

import importlib
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
LINT_IMPORTS = Path(sys.executable).parent / "lint-imports"


def lint_imports(root: Path) -> subprocess.CompletedProcess:
    """`lint-imports` on the project at `root` (its setup.cfg, its packages first on the path)."""
    if not LINT_IMPORTS.exists():
        pytest.fail("lint-imports is missing: install the test extra (pip install -e '.[test]')",
                    pytrace=False)
    return subprocess.run([str(LINT_IMPORTS), "--no-cache"], cwd=root, capture_output=True,
                          text=True, env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(root)},
                          timeout=120)


def test_the_code_keeps_every_contract():
    done = lint_imports(ROOT)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "0 broken" in done.stdout


def copy_of_the_project(tmp_path: Path) -> Path:
    """The packages and setup.cfg, where a test may break a contract on purpose."""
    for package in ("rv_batch_cfn", "rastervision/batch_retry"):
        shutil.copytree(ROOT / package, tmp_path / package,
                        ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "setup.cfg", tmp_path / "setup.cfg")
    return tmp_path


AWS = "The template layer and the core never talk to AWS"
LAYERS = "Each layer imports only the layers below it: cli > aws > template > core"
AWS_PACKAGES = "In aws, a package imports only the packages below it, none beside it"
CYCLES = "No import cycles between the modules of a package"
PLUGIN = "The Raster Vision plugin and rv_batch_cfn import nothing of each other"


@pytest.mark.parametrize("module, line, broken", [
    ("rv_batch_cfn/template/network.py", "import boto3", {AWS}),
    ("rv_batch_cfn/render.py", "from botocore.session import Session", {AWS}),
    # The aws layer imports the template layer (a cycle too) and boto3 (so AWS, indirectly).
    ("rv_batch_cfn/template/outputs.py", "from ..aws.clients import stack", {LAYERS, CYCLES, AWS}),
    ("rv_batch_cfn/config/limits.py", "from . import data", {CYCLES}),
    ("rastervision/batch_retry/runner.py", "import rv_batch_cfn.errors", {PLUGIN}),
    ("rv_batch_cfn/aws/jobs/listing.py", "import rastervision.batch_retry", {PLUGIN}),
    # The cost estimate reaching into a command's package, and two commands' packages sharing.
    # (doctor reads the budget from costs, so that import closes a cycle too)
    ("rv_batch_cfn/aws/costs/estimate.py", "from ..doctor import fit", {AWS_PACKAGES, CYCLES}),
    ("rv_batch_cfn/aws/doctor/fit.py", "from .. import subnets", {AWS_PACKAGES}),
], ids=["template imports boto3", "core imports botocore", "template imports aws",
        "cycle in config", "plugin imports rv_batch_cfn", "rv_batch_cfn imports the plugin",
        "costs imports doctor", "doctor imports subnets"])
def test_a_broken_contract_fails(tmp_path, module, line, broken):
    # The contracts can fail: the same tool on a copy of the code with one import added.
    root = copy_of_the_project(tmp_path)
    path = root / module
    # Inside a function, as the project's lazy imports are: import-linter reads those too.
    path.write_text(path.read_text() + f"\n\ndef _added():\n    {line}\n")
    done = lint_imports(root)
    assert done.returncode == 1, done.stdout + done.stderr
    found = {row.removesuffix(" BROKEN") for row in done.stdout.splitlines()
             if row.endswith(" BROKEN")}
    assert found == broken


def raster_vision_imports(root: Path) -> list[str]:
    """The imports of Raster Vision's packages in rv_batch_cfn, read by grimp (import-linter's
    graph). import-linter cannot forbid them: Raster Vision's packages are portions of the
    namespace `rastervision`, which it takes for subpackages of one external package."""
    code = ("import grimp, json; "
            "g = grimp.build_graph('rv_batch_cfn', include_external_packages=True); "
            "print(json.dumps(sorted(f'{i} -> {m}' for i in g.modules "
            "if i.startswith('rv_batch_cfn') for m in g.find_modules_directly_imported_by(i) "
            "if m.startswith('rastervision'))))")
    done = subprocess.run([sys.executable, "-c", code], cwd=root, capture_output=True,
                          text=True, env={"PYTHONPATH": str(root)}, check=True)
    return json.loads(done.stdout)


def test_rv_batch_cfn_imports_nothing_of_raster_vision(tmp_path):
    assert raster_vision_imports(ROOT) == []
    root = copy_of_the_project(tmp_path)
    jobs = root / "rv_batch_cfn" / "aws" / "jobs" / "listing.py"
    jobs.write_text(jobs.read_text() + "\n\ndef _added():\n    import rastervision.pipeline\n")
    assert raster_vision_imports(root) == ["rv_batch_cfn.aws.jobs.listing -> rastervision"]


FACES = ["rv_batch_cfn", "rv_batch_cfn.template"]


@pytest.mark.parametrize("face, allowed", [
    ("rv_batch_cfn", ("rv_batch_cfn.template", "rv_batch_cfn.config", "rv_batch_cfn.render",
                      "rv_batch_cfn.lint", "rv_batch_cfn.errors", "rv_batch_cfn.files")),
    ("rv_batch_cfn.template", ("rv_batch_cfn.template.",)),
])
def test_what_a_package_face_imports_on_first_use_stays_in_its_layer(face, allowed):
    # A face's `_API` table (name -> submodule) is what its __getattr__ imports by name; every
    # entry must exist, hand on the name, and stay in the face's layer.
    module = importlib.import_module(face)
    assert module._API
    for name, sub in module._API.items():
        target = f"{face}.{sub}"
        assert target.startswith(allowed), f"{face}.{name} comes from {target}"
        assert hasattr(importlib.import_module(target), name), target
        assert getattr(module, name) is getattr(importlib.import_module(target), name)


# Modules importing an external package's modules by name, and the package: no module of this
# project is hidden from import-linter that way (`permissions` finds awacs's module of an IAM
# service prefix, whatever resource types a template has).
BY_NAME_EXTERNAL = {"rv_batch_cfn.aws.permissions": "awacs."}


def test_only_the_faces_import_by_name():
    # A module importing by name hides that import from import-linter: only the faces do, and
    # their tables are checked above.
    by_name = {}
    for path in (ROOT / "rv_batch_cfn").rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        if "import_module" in text:
            name = ".".join(path.relative_to(ROOT).with_suffix("").parts)
            by_name[name.removesuffix(".__init__")] = text
    assert sorted(set(by_name) - set(BY_NAME_EXTERNAL)) == FACES
    for name, package in BY_NAME_EXTERNAL.items():
        calls = re.findall(r"import_module\((.*?)\)", by_name[name])
        assert calls and all(c.startswith(f'f"{package}') for c in calls), (name, calls)


def test_importing_the_library_loads_no_aws_sdk_and_no_argument_parser():
    # A library user who only generates templates pays for neither.
    code = ("import sys, rv_batch_cfn; "
            "print(sorted(m for m in ('boto3', 'botocore', 'argparse', 'rv_batch_cfn.cli') "
            "if m in sys.modules))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True)
    assert done.stdout.strip() == "[]"
