"""The README as a user follows it: its Python examples run as written, every command in its
shell blocks is one the tools accept (those that need no AWS are run), and its links resolve.

Commands that need AWS are checked the way they would start: an `rv-batch-cfn` line must parse
(tests/test_global_options.py and the emulator tests run the commands themselves), and a `make`
line must name a target whose `make -n` succeeds and whose `rv-batch-cfn` command parses too.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess

import pytest

from rv_batch_cfn import cli
from tests.conftest import require_tool
from tests.emulator import ROOT

README = (ROOT / "README.md").read_text()
CONTRIBUTING = (ROOT / "CONTRIBUTING.md").read_text()
PYTHON_BLOCKS = re.findall(r"^```python\n(.*?)^```", README, re.M | re.S)
# Shell blocks, also those indented inside a list item.
SHELL_BLOCKS = [re.sub(r"(?m)^" + indent, "", block) for indent, block in
                re.findall(r"^( *)```(?:sh|shell)\n(.*?)^\1```", README, re.M | re.S)]
# What a placeholder in a command stands for, so that the line can be parsed.
PLACEHOLDERS = {"$(cat packer/last-ami)": "ami-0123456789abcdef0"}
# Commands that need no AWS: run for real.
RUN_FOR_REAL = {"template", "job-def-template", "packer-template", "lint"}


def shell_commands(tool: str) -> list[list[str]]:
    """The commands of `tool` in the README's shell blocks, as argument lists (continuation
    lines joined, comments dropped, `[OPTIONAL=1]` given, placeholders filled)."""
    found = []
    for block in SHELL_BLOCKS:
        for line in block.replace("\\\n", " ").splitlines():
            line = line.strip()
            if line.startswith("# or: "):
                line = line[len("# or: "):]
            for placeholder, value in PLACEHOLDERS.items():
                line = line.replace(placeholder, value)
            line = re.sub(r"\[([A-Z_]+=[^\]]*)\]", r"\1", line)
            words = shlex.split(line, comments=True)
            if words and words[0] == tool:
                found.append(words[1:])
    return found


RV_COMMANDS = shell_commands("rv-batch-cfn")
MAKE_COMMANDS = shell_commands("make")


def test_the_readme_has_examples_of_each_kind():
    assert PYTHON_BLOCKS and len(RV_COMMANDS) > 15 and len(MAKE_COMMANDS) > 10
    # The lifecycle is documented: from the first command to teardown.
    assert ["template"] == MAKE_COMMANDS[0] and any(c[0] == "teardown" for c in RV_COMMANDS)


@pytest.mark.parametrize("index", range(len(PYTHON_BLOCKS)))
def test_python_example_runs_as_written(index, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # the examples write files relative to the checkout
    exec(compile(PYTHON_BLOCKS[index], f"README.md python block {index + 1}", "exec"), {})


@pytest.mark.parametrize("argv", RV_COMMANDS, ids=" ".join)
def test_rv_batch_cfn_command_parses(argv):
    cli.build_parser().parse_args(argv)  # SystemExit (a usage error) fails the test


@pytest.mark.parametrize("argv", [a for a in RV_COMMANDS if a[0] in RUN_FOR_REAL], ids=" ".join)
def test_rv_batch_cfn_command_without_aws_runs(argv, tmp_path, monkeypatch, capsys):
    # In a copy of the checkout's inputs: the README's team.yml, the committed templates.
    monkeypatch.chdir(tmp_path)
    [team] = re.findall(r"^```yaml\n# team.yml\n(.*?)^```", README, re.M | re.S)
    (tmp_path / "team.yml").write_text(team)
    (tmp_path / "cloudformation").mkdir()
    for name in ("template.yml", "job-definitions.yml"):
        (tmp_path / "cloudformation" / name).write_text(
            (ROOT / "cloudformation" / name).read_text())
    code = cli.main(argv)
    assert code == 0, capsys.readouterr().err


@pytest.mark.parametrize("argv", MAKE_COMMANDS, ids=" ".join)
def test_make_command_names_a_target_make_accepts(argv):
    make = require_tool("make")
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    done = subprocess.run([make, "-s", "-n", "-o", ".venv/bin/.installed", *argv,
                           "SETTINGS_MK=/nonexistent"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    # What the target would run of rv-batch-cfn, the CLI accepts.
    for line in done.stdout.splitlines():
        words = shlex.split(line)
        if words and words[0].endswith("/rv-batch-cfn"):
            cli.build_parser().parse_args(words[1:])


def slug(heading: str) -> str:
    """GitHub's anchor of a heading."""
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return text.replace(" ", "-")


@pytest.mark.parametrize("name, text", [("README.md", README), ("CONTRIBUTING.md", CONTRIBUTING)])
def test_links_resolve(name, text):
    prose = re.sub(r"(?ms)^ *```.*?^ *```", "", text)
    anchors = {slug(h) for h in re.findall(r"(?m)^#{1,6} (.*)$", prose)}
    for target in re.findall(r"\]\(([^)\s]+)\)", prose):
        if target.startswith(("http://", "https://")):
            continue
        if target.startswith("#"):
            assert target[1:] in anchors, (name, target)
        else:
            assert (ROOT / target.split("#")[0]).exists(), (name, target)


def test_contributor_material_lives_in_contributing():
    assert "[CONTRIBUTING.md](CONTRIBUTING.md)" in README
    assert "## How it is tested" in CONTRIBUTING and "## How it is tested" not in README
    assert "make template" in CONTRIBUTING and "make bench" in CONTRIBUTING


def test_the_readme_is_in_the_order_of_the_journey():
    order = ["## The two commands", "## Deploy with the CloudFormation console",
             "## Configure Raster Vision from the stack", "## Run and watch a pipeline",
             "## Optional", "### A custom GPU AMI", "### Your own Raster Vision image",
             "### Per-project job definitions", "### Deploy from a terminal", "## Operating",
             "### Checking a deployed stack: `doctor`", "### Updates", "### Teardown",
             "### Costs", "## Reference", "### Commands", "### Settings", "### Config keys"]
    positions = [README.index("\n" + heading) for heading in order]
    assert positions == sorted(positions)
