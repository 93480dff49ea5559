"""The committed templates under AWS's cfn-guard with rules of AWS's Guard rules registry
(tests/template/guard_rules: the five the template once failed). docs/security.md ("Guard
rules") says how each is met: a change where the rule found a gap, a suppression with its reason
where the design needs what the rule refuses."""

from __future__ import annotations

import copy
import json
import subprocess
import sys
from pathlib import Path

from tests.conftest import require_tool
from tests.emulator import ROOT, TEMPLATE, load_template
from tests.named_configs import CONFIGS, render

RULES_DIR = Path(__file__).parent / "guard_rules"
RULE_FILES = sorted(RULES_DIR.glob("*.guard"))
RULES = ["CFN_NO_EXPLICIT_RESOURCE_NAMES", "CLOUDWATCH_LOG_GROUP_ENCRYPTED",
         "CW_LOGGROUP_RETENTION_PERIOD_CHECK", "EC2_SECURITY_GROUP_EGRESS_OPEN_TO_WORLD_RULE",
         "IAM_POLICYDOCUMENT_NO_WILDCARD_RESOURCE"]
COMMITTED = [TEMPLATE, ROOT / "cloudformation" / "job-definitions.yml"]


def cfn_guard() -> str:
    """The cfn-guard make test installs beside the interpreter, else one on PATH."""
    beside = Path(sys.executable).parent / "cfn-guard"
    return str(beside) if beside.exists() else require_tool("cfn-guard")


def validate(*templates: Path) -> list[dict]:
    """cfn-guard's structured report: one entry per template, rules listed by outcome."""
    result = subprocess.run(
        [cfn_guard(), "validate", *(a for t in templates for a in ("-d", str(t))),
         *(a for r in RULE_FILES for a in ("-r", str(r))), "-o", "json", "--structured",
         "--show-summary", "none"],
        capture_output=True, text=True, stdin=subprocess.DEVNULL)
    assert result.returncode in (0, 19), result.stderr  # 19: some rule failed
    return json.loads(result.stdout)


def test_the_rules_are_the_five():
    names = {line.split()[1] for r in RULE_FILES for line in r.read_text().splitlines()
             if line.startswith("rule ")}
    assert sorted(names) == RULES


def test_every_template_passes_the_rules(tmp_path):
    # The committed templates, and the main template of each named configuration.
    templates = list(COMMITTED)
    for name in CONFIGS:
        templates.append(tmp_path / f"{name}.yml")
        templates[-1].write_text(render(name))
    reports = validate(*templates)
    assert [Path(r["name"]) for r in reports] == templates
    failed = {r["name"]: r["not_compliant"] for r in reports if r["not_compliant"]}
    assert failed == {}
    # The main template is really checked: the log group rule passes on its own merits.
    assert "CLOUDWATCH_LOG_GROUP_ENCRYPTED" in reports[0]["compliant"]


def test_the_rules_fail_without_what_satisfies_them(tmp_path):
    # Each way the template meets a rule, taken away, makes that rule fail: the suppressions
    # (guard: SuppressedRules), and the log group's optional KMS key.
    template = load_template(TEMPLATE.read_text())
    bare = copy.deepcopy(template)
    for resource in bare["Resources"].values():
        resource.get("Metadata", {}).pop("guard", None)
    bare["Resources"]["JobLogGroup"]["Properties"].pop("KmsKeyId")
    path = tmp_path / "bare.json"
    path.write_text(json.dumps(bare))
    report, = validate(path)
    assert sorted(n["Rule"]["name"] for n in report["not_compliant"]) == RULES


def test_every_suppression_gives_its_reason():
    for name, resource in load_template(TEMPLATE.read_text())["Resources"].items():
        guard = resource.get("Metadata", {}).get("guard")
        if guard:
            assert sorted(guard["SuppressedRules"]) == sorted(guard["Reasons"]), name
            assert all(len(reason.split()) >= 4 for reason in guard["Reasons"].values()), name
