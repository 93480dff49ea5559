"""The committed template under real scanners: cfn-lint's CLI and checkov."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.emulator import ROOT, TEMPLATE, load_template

BIN = Path(sys.executable).parent


TEMPLATES = [TEMPLATE, ROOT / "cloudformation" / "job-definitions.yml"]


@pytest.mark.parametrize("template", TEMPLATES, ids=lambda p: p.name)
def test_cfn_lint_cli_with_informational_checks_prints_nothing(template):
    # The file comes first: --include-checks takes every argument after it.
    result = subprocess.run([str(BIN / "cfn-lint"), str(template), "--include-checks", "I"],
                            capture_output=True, text=True, cwd=ROOT, stdin=subprocess.DEVNULL)
    assert (result.returncode, result.stdout, result.stderr) == (0, "", "")


# checkov has no checks for Batch job definitions, the only resources of the second template:
# there it must still parse the file and fail nothing.
@pytest.mark.parametrize("template,scanned", [(TEMPLATES[0], 30), (TEMPLATES[1], 0)],
                         ids=lambda p: getattr(p, "name", str(p)))
def test_checkov_finds_nothing_unexplained(tmp_path, template, scanned):
    # --skip-download: checkov would otherwise call its vendor's API; nothing leaves this machine.
    result = subprocess.run(
        [str(BIN / "checkov"), "-f", str(template), "--framework", "cloudformation",
         "--skip-download", "--output", "json"],
        capture_output=True, text=True, cwd=tmp_path)
    report = json.loads(result.stdout)
    summary = report.get("summary", report)  # a file with nothing to check gets only a summary
    failed = [f"{c['check_id']} {c['resource']}"
              for c in report.get("results", {}).get("failed_checks", [])]
    assert failed == [] and summary["failed"] == 0 and summary["parsing_errors"] == 0
    assert summary["passed"] >= scanned  # it really scanned the resources
    # Every suppression is written down in the resource's metadata with a reason.
    resources = load_template(template.read_text())["Resources"]
    for check in report.get("results", {}).get("skipped_checks", []):
        name = check["resource"].split(".")[-1]
        skips = resources[name]["Metadata"]["checkov"]["skip"]
        reason = next(s["comment"] for s in skips if s["id"] == check["check_id"])
        assert len(reason) > 40
