"""The console parameters page (docs/console-parameters.md): fresh, every parameter listed in the
console's order with what the template says of it, and written by the command like the other
generated files."""

from __future__ import annotations

import re

import pytest
import yaml

from rv_batch_cfn import StackConfig, build_template
from rv_batch_cfn.template.console_page import (
    PARAMETERS_PAGE_PATH, UNGROUPED, console_order, parameters_page,
)
from tests import cli_runner
from tests.emulator import ROOT

COMMITTED = ROOT / PARAMETERS_PAGE_PATH
BODY = build_template().to_dict()


def sections(page: str) -> dict[str, str]:
    """Each parameter's section of the page, by the parameter name in its heading."""
    parts = re.split(r"(?m)^### `([A-Za-z0-9]+)`\n", page)
    return {name: text.split("\n## ", 1)[0] for name, text in zip(parts[1::2], parts[2::2])}


def test_committed_page_is_what_make_template_writes():
    assert COMMITTED.read_text() == parameters_page(build_template()), (
        f"{PARAMETERS_PAGE_PATH} is stale: run `make template` and commit it")


def test_every_parameter_is_listed_once_in_the_consoles_order():
    page = COMMITTED.read_text()
    interface = BODY["Metadata"]["AWS::CloudFormation::Interface"]
    console = [n for g in interface["ParameterGroups"] for n in g["Parameters"]]
    assert sorted(console) == sorted(BODY["Parameters"])  # the main template groups them all
    assert list(sections(page)) == console
    # The overview table too, row by row in that order.
    assert re.findall(r"(?m)^\| [^|]+ \| [^|]+ \| \[`(\w+)`\]", page) == console
    groups = re.findall(r"(?m)^## (.+)$", page)
    assert groups[:len(interface["ParameterGroups"])] == [
        g["Label"]["default"] for g in interface["ParameterGroups"]]


@pytest.mark.parametrize("name", sorted(BODY["Parameters"]))
def test_each_section_says_what_the_console_says(name):
    p = BODY["Parameters"][name]
    section = sections(COMMITTED.read_text())[name]
    label = BODY["Metadata"]["AWS::CloudFormation::Interface"]["ParameterLabels"][name]["default"]
    unescaped = re.sub(r"\\(.)", r"\1", section)
    assert f"**{label}**" in unescaped
    assert " ".join(p["Description"].split()) in unescaped
    default = p.get("Default")
    assert (f"- Default: `{default}`" if default not in (None, "") else
            "- Default: none: required" if default is None else "- Default: empty") in section
    for value in p.get("AllowedValues", []):
        assert f"`{value}`" in section
    if "MinValue" in p:
        assert f"from {p['MinValue']} to {p['MaxValue']}" in section
    if "AllowedPattern" in p:
        assert f"`{p['AllowedPattern']}`" in section
    if "ConstraintDescription" in p:
        assert p["ConstraintDescription"] in unescaped


def test_prose_from_the_template_is_not_read_as_markdown():
    body = {"Parameters": {"Repo": {"Type": "String", "Default": "a|b",
                                    "Description": "runs <repository>:tag; * for every_bucket"}}}
    page = parameters_page(body)
    assert r"runs \<repository\>:tag; \* for every\_bucket" in page
    assert r"| `a\|b` |" in page          # a table cell: `|` escaped, even in code
    assert "- Default: `a|b`" in page      # a list item: as written


def test_parameters_in_no_group_come_last():
    body = {"Parameters": {"A": {"Type": "String"}, "B": {"Type": "String"}},
            "Metadata": {"AWS::CloudFormation::Interface": {
                "ParameterGroups": [{"Label": {"default": "First"}, "Parameters": ["B"]}],
                "ParameterLabels": {"B": {"default": "The B"}}}}}
    assert console_order(body) == [("First", ["B"]), (UNGROUPED, ["A"])]
    page = parameters_page(body)
    assert page.index("### `B`") < page.index(f"## {UNGROUPED}") < page.index("### `A`")
    assert "- Default: none: required" in sections(page)["A"]


def test_the_command_writes_the_page_of_a_configuration(tmp_path):
    (tmp_path / "team.yml").write_text(yaml.safe_dump({"prefix": "geo", "max_vcpus": 256}))
    done = cli_runner.run(["parameters-page", "--config", "team.yml", "-o", "out/page.md"],
                          cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    page = (tmp_path / "out" / "page.md").read_text()
    assert page == parameters_page(build_template(StackConfig(prefix="geo", max_vcpus=256)))
    assert "| [`MaximumVCPUs`](#maximumvcpus) | `256` |" in page
    assert "wrote out/page.md" in done.stderr
    assert [p.name for p in (tmp_path / "out").iterdir()] == ["page.md"]  # no temporary file


def test_the_command_refuses_a_format_for_a_file(tmp_path):
    done = cli_runner.run(["parameters-page", "-o", "json"], cwd=tmp_path)
    assert done.returncode == 2 and "-o/--output names the file" in done.stderr
    assert not (tmp_path / "json").exists()
