"""A template's Rules evaluated for the values of a deployment, as CloudFormation checks them
before it creates anything (the console refuses the same combinations). Only the functions the
templates of this project use are evaluated; a rule using others is left to CloudFormation."""

from __future__ import annotations

from typing import Any, Mapping

from ...errors import ConfigError, Problem


class _Unsupported(Exception):
    """A rule uses a function this evaluator does not know; CloudFormation will check it."""


def check_rules(template: Mapping[str, Any], values: Mapping[str, str]) -> None:
    """ConfigError with the AssertDescription of every template Rule the values break, as
    CloudFormation would report before creating anything. Rules using functions this evaluator
    does not know (Fn::ValueOf, ...) are left to CloudFormation."""
    declared = template.get("Parameters") or {}
    problems = []
    for name, rule in (template.get("Rules") or {}).items():
        try:
            if "RuleCondition" in rule and not _evaluate(rule["RuleCondition"], values, declared):
                continue
            for assertion in rule.get("Assertions", []):
                if not _evaluate(assertion["Assert"], values, declared):
                    used = sorted(set(_refs(assertion["Assert"])) & set(values))
                    problems.append(Problem(
                        f"rule {name}", {n: values[n] for n in used},
                        assertion.get("AssertDescription", "the rule's assertion fails")))
        except _Unsupported:
            continue
    if problems:
        raise ConfigError(problems)


def _refs(expression: Any) -> list[str]:
    if isinstance(expression, Mapping):
        if set(expression) == {"Ref"}:
            return [expression["Ref"]]
        return [r for v in expression.values() for r in _refs(v)]
    if isinstance(expression, list):
        return [r for v in expression for r in _refs(v)]
    return []


def _evaluate(expression: Any, values: Mapping[str, str], declared: Mapping[str, Any]) -> Any:
    if not isinstance(expression, Mapping):
        if isinstance(expression, list):
            return [_evaluate(e, values, declared) for e in expression]
        return expression if isinstance(expression, bool) else str(expression)
    if len(expression) != 1:
        raise _Unsupported(expression)
    (function, argument), = expression.items()
    if function == "Ref":
        value = values.get(argument, "")
        kind = str(declared.get(argument, {}).get("Type", "String"))
        is_list = kind == "CommaDelimitedList" or kind.startswith("List<")
        return [v.strip() for v in value.split(",") if v.strip()] if is_list else value
    args = [_evaluate(a, values, declared) for a in argument] \
        if isinstance(argument, list) else None
    if args is None:
        raise _Unsupported(expression)
    if function == "Fn::Equals":
        return args[0] == args[1]
    if function == "Fn::Not":
        return not args[0]
    if function == "Fn::And":
        return all(args)
    if function == "Fn::Or":
        return any(args)
    if function == "Fn::Contains":
        return args[1] in args[0]
    if function == "Fn::EachMemberEquals":
        return all(v == args[1] for v in args[0])
    if function == "Fn::EachMemberIn":
        return all(v in args[1] for v in args[0])
    raise _Unsupported(expression)
