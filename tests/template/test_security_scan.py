"""The committed template under real scanners: cfn-lint's CLI and checkov."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.emulator import ROOT, TEMPLATE, load_template

BIN = Path(sys.executable).parent


def test_cfn_lint_cli_with_informational_checks_prints_nothing():
    # The file comes first: --include-checks takes every argument after it.
    result = subprocess.run([str(BIN / "cfn-lint"), str(TEMPLATE), "--include-checks", "I"],
                            capture_output=True, text=True, cwd=ROOT, stdin=subprocess.DEVNULL)
    assert (result.returncode, result.stdout, result.stderr) == (0, "", "")


def test_checkov_finds_nothing_unexplained(tmp_path):
    # --skip-download: checkov would otherwise call its vendor's API; nothing leaves this machine.
    result = subprocess.run(
        [str(BIN / "checkov"), "-f", str(TEMPLATE), "--framework", "cloudformation",
         "--skip-download", "--output", "json"],
        capture_output=True, text=True, cwd=tmp_path)
    report = json.loads(result.stdout)
    summary = report["summary"]
    failed = [f"{c['check_id']} {c['resource']}" for c in report["results"]["failed_checks"]]
    assert failed == [] and summary["failed"] == 0
    assert summary["passed"] > 30  # it really scanned the resources
    # Every suppression is written down in the resource's metadata with a reason.
    resources = load_template(TEMPLATE.read_text())["Resources"]
    for check in report["results"]["skipped_checks"]:
        name = check["resource"].split(".")[-1]
        skips = resources[name]["Metadata"]["checkov"]["skip"]
        reason = next(s["comment"] for s in skips if s["id"] == check["check_id"])
        assert len(reason) > 40
