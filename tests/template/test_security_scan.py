"""The committed templates under real scanners: cfn-lint's CLI (the named configurations'
templates too) and checkov."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.emulator import ROOT, TEMPLATE, load_template
from tests.named_configs import CONFIGS, render

BIN = Path(sys.executable).parent
# checkov pins boto3 exactly, so it runs from an environment of its own (`make test` makes it
# from requirements/checkov.txt; `make drift` names another through RV_BATCH_CFN_CHECKOV), and
# the suite's own environment keeps the boto3 setup.cfg's ranges give.
CHECKOV = os.environ.get("RV_BATCH_CFN_CHECKOV", str(ROOT / ".venv-checkov" / "bin" / "checkov"))
# On one xdist worker, so that checkov runs once for the module.
pytestmark = pytest.mark.xdist_group("security-scan")


TEMPLATES = [TEMPLATE, ROOT / "cloudformation" / "job-definitions.yml"]


def test_cfn_lint_cli_with_informational_checks_prints_nothing(tmp_path):
    # Every template in one run: cfn-lint takes a second or two to start, then well under one
    # per template. The files come first: --include-checks takes every argument after it. The
    # default configuration's template is cloudformation/template.yml
    # (tests/template/test_generation.py holds it to the generator).
    variants = []
    for name in sorted(set(CONFIGS) - {"default"}):
        variants.append(tmp_path / f"{name}.yml")
        variants[-1].write_text(render(name))
    files = [*TEMPLATES, *variants]
    result = subprocess.run([str(BIN / "cfn-lint"), *map(str, files), "--include-checks", "I"],
                            capture_output=True, text=True, cwd=ROOT, stdin=subprocess.DEVNULL)
    assert (result.returncode, result.stdout, result.stderr) == (0, "", "")


@pytest.fixture(scope="module")
def checkov_report(tmp_path_factory) -> dict:
    """One checkov run over both templates and the named configurations' (it takes seconds to
    start): custom-families has the on-demand GPU queue on by default."""
    if not Path(CHECKOV).exists():
        pytest.fail(f"checkov is not installed at {CHECKOV}: `make test` installs it")
    folder = tmp_path_factory.mktemp("checkov")
    # Every file is scanned under a short name relative to checkov's working folder: checkov's
    # parser adds a `__file__` key, the path as given, to every mapping, and CKV_AWS_45 reads it
    # as a Lambda environment variable; a path with a run of exactly 40 characters of [A-Za-z0-9/]
    # (say "/srv/ci/build/rv/cloudformation/template") then matches its AWS secret key pattern.
    # Short relative names keep the verdict from depending on where the checkout lives.
    names = []
    for template in TEMPLATES:
        names.append(template.name)
        (folder / template.name).write_text(template.read_text())
    for name in sorted(set(CONFIGS) - {"default"}):
        names.append(f"{name}.yml")
        (folder / names[-1]).write_text(render(name))
    # --skip-download: checkov would otherwise call its vendor's API; nothing leaves this machine.
    result = subprocess.run(
        [CHECKOV, *(arg for name in names for arg in ("-f", name)),
         "--framework", "cloudformation", "--skip-download", "--output", "json"],
        capture_output=True, text=True, cwd=folder)
    return json.loads(result.stdout)


def test_checkov_fails_nothing_and_parses_both_templates(checkov_report):
    failed = [f"{c['check_id']} {c['file_path']} {c['resource']}"
              for c in checkov_report["results"]["failed_checks"]]
    summary = checkov_report["summary"]
    assert failed == [] and summary["failed"] == 0 and summary["parsing_errors"] == 0


def test_checkov_really_scanned_the_main_template(checkov_report):
    # checkov has no checks for Batch job definitions, the only resources of the second template:
    # there it must still parse the file (above) and fail nothing.
    passed = [c for c in checkov_report["results"]["passed_checks"]
              if Path(c["file_path"]).name == TEMPLATE.name]
    assert len(passed) >= 30


def test_every_checkov_suppression_has_its_reason_in_the_metadata(checkov_report):
    skipped = checkov_report["results"]["skipped_checks"]
    assert skipped, "the template documents its suppressions; checkov must see them"
    for check in skipped:
        template = next((p for p in TEMPLATES if p.name == Path(check["file_path"]).name),
                        TEMPLATE)  # a named configuration's: the same resources
        resources = load_template(template.read_text())["Resources"]
        name = check["resource"].split(".")[-1]
        skips = resources[name]["Metadata"]["checkov"]["skip"]
        reason = next(s["comment"] for s in skips if s["id"] == check["check_id"])
        assert len(reason) > 40
