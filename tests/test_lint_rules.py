"""lint_template loads cfn-lint's rules once per process and reuses them: the same findings on
every call, whatever was linted before."""

from __future__ import annotations

from rv_batch_cfn import lint_template
from rv_batch_cfn import lint

# Small templates: cfn-lint is quick on them once its rules are loaded.
CLEAN = """AWSTemplateFormatVersion: "2010-09-09"
Resources:
  Topic:
    Type: AWS::SNS::Topic
"""
# An unknown resource type (E3006).
FAILING = CLEAN.replace("AWS::SNS::Topic", "AWS::SNS::Topics")


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
    rules = lint.load_rules()
    lint_template(FAILING)
    assert lint.load_rules() is rules


def test_the_same_findings_as_cfnlint_api():
    # lint_template is cfnlint.api.lint's body with the rules loaded once (rv_batch_cfn/lint.py
    # says why): on a new cfn-lint, the documented function and this one must still agree.
    from cfnlint import ManualArgs
    from cfnlint.api import lint

    for text in (CLEAN, FAILING):
        documented = sorted((m.rule.id, m.linenumber) for m in lint(
            text, config=ManualArgs(regions=["us-east-1"], include_checks=["I"])))
        assert _found(text) == documented
