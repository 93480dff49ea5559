"""lint_template loads cfn-lint's rules once per process and reuses them: the same findings on
every call, whatever was linted before."""

from __future__ import annotations

from rv_batch_cfn import build_template, lint_template, render_yaml
from rv_batch_cfn import lint

CLEAN = render_yaml(build_template())
# An unknown resource type (E3006).
FAILING = CLEAN.replace("Type: AWS::Batch::JobQueue", "Type: AWS::Batch::JobQueues", 1)


def _found(text: str, informational: bool = True) -> list[tuple[str, int]]:
    return sorted((f.rule_id, f.line) for f in lint_template(text, informational=informational))


def test_findings_do_not_depend_on_what_was_linted_before():
    failing = _found(FAILING)
    assert "E3006" in {rule for rule, _ in failing}
    clean = _found(CLEAN)
    assert all(rule.startswith("I") for rule, _ in clean)
    assert _found(FAILING) == failing and _found(CLEAN) == clean
    assert _found(FAILING, informational=False) == [f for f in failing if f[0][0] != "I"]


def test_the_rules_are_loaded_once():
    lint_template(CLEAN)
    rules = lint._rules()
    lint_template(FAILING)
    assert lint._rules() is rules
