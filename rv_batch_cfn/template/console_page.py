"""The console parameters page: every parameter of a built template as the CloudFormation console
shows it (group, label, description, default, allowed values), rendered as Markdown.

Pure text from the template's own data, so the page says what the console says and cannot drift
from it: `make template` writes docs/console-parameters.md through `rv-batch-cfn parameters-page`.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterator, Union

if TYPE_CHECKING:  # only for annotations: the CLI imports this module's path at every start
    from troposphere import Template

__all__ = ["parameters_page", "console_order", "PARAMETERS_PAGE_PATH"]

# Where `make template` writes the page, relative to the project.
PARAMETERS_PAGE_PATH = Path("docs/console-parameters.md")

INTERFACE = "AWS::CloudFormation::Interface"
UNGROUPED = "Other parameters"
# Characters Markdown would read as formatting, links or HTML (and `|` ends a table cell).
_MARKDOWN_SPECIAL = re.compile(r"([\\`*_<>\[\]|#])")


def console_order(template: Union["Template", dict]) -> list[tuple[str, list[str]]]:
    """The parameters as the console lists them: (group label, parameter names) for each of the
    Interface metadata's ParameterGroups, then the parameters in no group, in template order,
    under UNGROUPED."""
    body = _body(template)
    interface = body.get("Metadata", {}).get(INTERFACE, {})
    groups = [(g["Label"]["default"], list(g["Parameters"]))
              for g in interface.get("ParameterGroups", [])]
    grouped = {name for _, names in groups for name in names}
    rest = [name for name in body.get("Parameters", {}) if name not in grouped]
    return groups + ([(UNGROUPED, rest)] if rest else [])


def parameters_page(template: Union["Template", dict]) -> str:
    """The Markdown page of every parameter of `template` (a troposphere Template or its
    `to_dict()`), in the console's order: an overview table, then one section per parameter
    with its label, group, type, description, default and allowed values, then the template's
    Rules (what the console checks before creating anything)."""
    body = _body(template)
    parameters = body.get("Parameters", {})
    labels = {name: label["default"] for name, label in
              body.get("Metadata", {}).get(INTERFACE, {}).get("ParameterLabels", {}).items()}
    order = console_order(body)
    lines = [
        "# Console parameters",
        "",
        "Every field the CloudFormation console asks for when you create or update the stack "
        "from `cloudformation/template.yml`, in the console's order: its label, group, "
        "description, default and allowed values. Most fields keep their defaults; a field "
        "without a default must be filled in.",
        "",
        "This page is generated from the template by `make template` (`rv-batch-cfn "
        "parameters-page`): do not edit it by hand.",
        "",
        "| group | field | parameter | default |",
        "| --- | --- | --- | --- |",
    ]
    for group, names in order:
        for name in names:
            lines.append(f"| {_text(group)} | {_text(labels.get(name, name))} | "
                         f"[`{name}`](#{name.lower()}) | {_default(parameters[name], table=True)} |")
    for group, names in order:
        lines += ["", f"## {group}"]
        for name in names:
            lines += ["", *_parameter_section(name, parameters[name], labels.get(name), group)]
    rules = list(_rules(body))
    if rules:
        lines += ["", "## Checks before anything is created", "",
                  "CloudFormation checks these rules when the stack is created or updated, "
                  "before it changes anything:", ""]
        lines += [f"- `{name}`: {_text(text)}" for name, text in rules]
    return "\n".join(lines) + "\n"


def _parameter_section(name: str, p: dict[str, Any], label: str | None,
                       group: str) -> list[str]:
    """The section of one parameter; its heading is the parameter's name, whose anchor
    (`#gpuinstancetypes`) stays the same when a label changes."""
    lines = [f"### `{name}`", ""]
    lines.append(f"**{_text(label)}** (group *{_text(group)}*)" if label
                 else f"Group *{_text(group)}*.")
    lines += ["", _text(p.get("Description", "(no description)")), ""]
    lines.append(f"- Type: {_code(p['Type'])}{_type_note(p['Type'])}")
    lines.append(f"- Default: {_default(p)}")
    lines += [f"- Allowed: {allowed}" for allowed in _allowed(p)]
    if "ConstraintDescription" in p:
        lines.append(f"- When a value is refused, the console says: "
                     f"{_text(p['ConstraintDescription'])}")
    return lines


def _bounds(low: Any, high: Any, both: str, unit: str) -> Iterator[str]:
    """A range in words: `both` filled with the two bounds, else 'at least' or 'at most' one."""
    if low is not None and high is not None:
        yield both.format(low, high) + unit
    elif low is not None:
        yield f"at least {low}{unit}"
    elif high is not None:
        yield f"at most {high}{unit}"


def _allowed(p: dict[str, Any]) -> Iterator[str]:
    """The template's constraints on a value, in words."""
    if "AllowedValues" in p:
        yield "one of " + ", ".join(_code(str(v)) for v in p["AllowedValues"])
    yield from _bounds(p.get("MinValue"), p.get("MaxValue"), "from {} to {}", "")
    yield from _bounds(p.get("MinLength"), p.get("MaxLength"), "{} to {}", " characters")
    if "AllowedPattern" in p:
        each = "each value " if p["Type"] == "CommaDelimitedList" else ""
        yield f"{each}matching {_code(p['AllowedPattern'])}"


def _type_note(kind: str) -> str:
    if kind.startswith(("AWS::", "List<AWS::")):
        return " (the console lists the region's existing ones)"
    if kind == "CommaDelimitedList":
        return " (values separated by commas)"
    return ""


def _default(p: dict[str, Any], table: bool = False) -> str:
    if "Default" not in p:
        return "none: required"
    value = str(p["Default"])
    return _code(value, table) if value else "empty"


def _rules(body: dict) -> Iterator[tuple[str, str]]:
    for name, rule in body.get("Rules", {}).items():
        for assertion in rule.get("Assertions", []):
            if "AssertDescription" in assertion:
                yield name, assertion["AssertDescription"]


def _text(text: str) -> str:
    """Prose from the template, shown as written (no Markdown formatting read into it)."""
    return _MARKDOWN_SPECIAL.sub(r"\\\1", " ".join(text.split()))


def _code(text: str, table: bool = False) -> str:
    """`text` as inline code, fenced with enough backticks; in a table cell, GitHub needs `|`
    escaped even inside code (and shows it unescaped)."""
    fence = "`" * (max((len(m) for m in re.findall(r"`+", text)), default=0) + 1)
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    if table:
        text = text.replace("|", "\\|")
    return f"{fence}{pad}{text}{pad}{fence}"


def _body(template: Union["Template", dict]) -> dict:
    return template if isinstance(template, dict) else template.to_dict()
