"""The user's documentation (README.md and docs/*.md) as a user follows it: its Python examples
run as written, every command in its shell blocks is one the tools accept (those that need no
AWS are run, in the order the page gives them), every relative link and #anchor resolves, every
page is reachable from the README or the docs index, and the README stays a front door.

Commands that need AWS are checked the way they would start: an `rv-batch-cfn` line must parse
(tests/test_global_options.py and the emulator tests run the commands themselves), and a `make`
line must name a target whose `make -n` succeeds and whose `rv-batch-cfn` command parses too.
The generated docs/console-parameters.md is held to its template by
tests/template/test_console_page.py; here only its anchors count, as targets of other pages'
links.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
from pathlib import Path

import pytest

from rv_batch_cfn import cli
from rv_batch_cfn.template.console_page import PARAMETERS_PAGE_PATH
from tests.conftest import require_tool
from tests.emulator import ROOT

README = ROOT / "README.md"
DOCS = ROOT / "docs"
INDEX = DOCS / "README.md"
GENERATED = ROOT / PARAMETERS_PAGE_PATH
# The pages a user reads, the README first; the generated page is checked elsewhere.
PAGES = [README, *sorted(p for p in DOCS.glob("*.md") if p != GENERATED)]
# Pages whose links must resolve: the user's, the generated one, and the contributors'.
LINKED = [*PAGES, GENERATED, ROOT / "CONTRIBUTING.md"]
# What a placeholder in a command stands for, so that the line can be parsed.
PLACEHOLDERS = {"$(cat packer/last-ami)": "ami-0123456789abcdef0"}
# Commands that need no AWS: run for real.
RUN_FOR_REAL = {"template", "job-def-template", "packer-template", "parameters-page", "lint"}


def name(page: Path) -> str:
    return str(page.relative_to(ROOT))


def fenced(text: str, languages: str) -> list[str]:
    """The blocks fenced as one of `languages` (a regex), also those indented inside a list
    item (the indent removed)."""
    return [re.sub(r"(?m)^" + indent, "", block) for indent, block in
            re.findall(r"^( *)```(?:" + languages + r")\n(.*?)^\1```", text, re.M | re.S)]


def shell_commands(page: Path, tool: str) -> list[list[str]]:
    """The commands of `tool` in the page's shell blocks, in order, as argument lists
    (continuation lines joined, comments dropped, `[OPTIONAL=1]` given, placeholders filled)."""
    found = []
    for block in fenced(page.read_text(), "sh|shell"):
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


def cases(tool: str) -> list:
    return [pytest.param(argv, id=f"{name(page)}: {' '.join(argv)}")
            for page in PAGES for argv in shell_commands(page, tool)]


PYTHON_BLOCKS = [pytest.param(block, id=f"{name(page)} block {i + 1}")
                 for page in PAGES for i, block in enumerate(fenced(page.read_text(), "python"))]
RV_COMMANDS = cases("rv-batch-cfn")
MAKE_COMMANDS = cases("make")


def test_the_docs_have_examples_of_each_kind():
    assert PYTHON_BLOCKS and len(RV_COMMANDS) > 15 and len(MAKE_COMMANDS) > 10
    # The lifecycle is documented: from the first command to teardown.
    assert shell_commands(README, "make")[0] == ["template"]
    assert any(c.values[0][0] == "teardown" for c in RV_COMMANDS)


@pytest.mark.parametrize("block", PYTHON_BLOCKS)
def test_python_example_runs_as_written(block, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # the examples write files relative to the checkout
    exec(compile(block, "python block", "exec"), {})


@pytest.mark.parametrize("argv", RV_COMMANDS)
def test_rv_batch_cfn_command_parses(argv):
    cli.build_parser().parse_args(argv)  # SystemExit (a usage error) fails the test


@pytest.mark.parametrize("page", [p for p in PAGES if any(
    argv[0] in RUN_FOR_REAL for argv in shell_commands(p, "rv-batch-cfn"))], ids=name)
def test_commands_without_aws_run_in_the_pages_order(page, tmp_path, monkeypatch, capsys):
    # In a copy of the checkout's inputs (the committed templates, the docs' team.yml), one
    # command after the other, as a user following the page would run them.
    monkeypatch.chdir(tmp_path)
    (team,) = [b.split("\n", 1)[1] for p in PAGES for b in fenced(p.read_text(), "yaml")
               if b.startswith("# team.yml\n")]
    (tmp_path / "team.yml").write_text(team)
    (tmp_path / "cloudformation").mkdir()
    for file in ("template.yml", "job-definitions.yml"):
        (tmp_path / "cloudformation" / file).write_text(
            (ROOT / "cloudformation" / file).read_text())
    for argv in shell_commands(page, "rv-batch-cfn"):
        if argv[0] in RUN_FOR_REAL:
            code = cli.main(argv)
            assert code == 0, (argv, capsys.readouterr().err)


@pytest.mark.parametrize("argv", MAKE_COMMANDS)
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


def prose(text: str) -> str:
    """The text outside code blocks and inline code, where links and headings are."""
    text = re.sub(r"(?ms)^( *)```.*?^\1```", "", text)
    return re.sub(r"(`+).+?\1", "code", text)


def anchors(text: str) -> set[str]:
    """GitHub's anchors of a page's headings: the heading's text as rendered (links replaced by
    their text), lower case, without punctuation but hyphens and underscores, spaces made
    hyphens; a repeated anchor gets -1, -2, ..."""
    seen: dict[str, int] = {}
    found = set()
    for heading in re.findall(r"(?m)^#{1,6} (.*?)#*$", re.sub(r"(?ms)^( *)```.*?^\1```", "",
                                                                 text)):
        heading = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", heading)
        slug = re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")
        count = seen.get(slug, 0)
        seen[slug] = count + 1
        found.add(slug if count == 0 else f"{slug}-{count}")
    return found


def test_anchors_follow_githubs_rules():
    text = "# A `template` (GPU) & more\n## Scratch space (`/opt/data`)\n## Dup\n## Dup\n"
    assert anchors(text) == {"a-template-gpu--more", "scratch-space-optdata", "dup", "dup-1"}


def links(page: Path) -> list[str]:
    return re.findall(r"\]\(([^)\s]+)\)", prose(page.read_text()))


@pytest.mark.parametrize("page", LINKED, ids=name)
def test_links_resolve(page):
    for target in links(page):
        if re.match(r"[a-z]+:", target):  # https:, mailto:
            continue
        path, _, anchor = target.partition("#")
        file = (page.parent / path).resolve() if path else page
        assert file.exists(), (name(page), target)
        if anchor:
            assert anchor in anchors(file.read_text()), (name(page), target)


def test_every_page_is_linked_from_the_readme_or_the_index():
    linked = {(page.parent / t.split("#")[0]).resolve() for page in (README, INDEX)
              for t in links(page) if t.split("#")[0]}
    assert INDEX.resolve() in linked
    orphans = [name(p) for p in DOCS.glob("*.md") if p != INDEX and p.resolve() not in linked]
    assert not orphans, orphans


@pytest.mark.parametrize("page", PAGES, ids=name)
def test_each_page_starts_with_what_it_is_for(page):
    title, first, *_ = [b.strip() for b in page.read_text().split("\n\n")]
    assert re.fullmatch(r"# \S.*", title), title
    assert re.match(r"[A-Z[]", first) and not first.startswith(("#", "|", "-", "```")), first


def test_the_readme_is_a_front_door():
    text = README.read_text()
    assert len(text.splitlines()) <= 250
    first_command = text.index("\nmake template")
    assert text[:first_command].count("\n") < 60
    # Its sections may move; the way on to the rest of the documentation stays.
    assert "[CONTRIBUTING.md](CONTRIBUTING.md)" in text and "(docs/README.md)" in text


def test_the_readme_lists_every_command_with_its_page():
    parser = cli.build_parser()
    (sub,) = [a for a in parser._actions if a.dest == "command"]
    text = README.read_text().split("\n## Commands\n", 1)[1].split("\n## ", 1)[0]
    rows = [row for row in text.splitlines() if row.startswith("| `")]
    listed = [re.match(r"\| `([a-z-]+)", row)[1] for row in rows]
    assert sorted(listed) == sorted(sub.choices) and len(listed) == len(set(listed))
    for row in rows:
        assert re.search(r"\| `make [a-z-]+` \| \[[^\]]+\]\(docs/[a-z-]+\.md(#[\w-]+)?\) \|$",
                         row), row


def test_contributor_material_lives_in_contributing():
    contributing = (ROOT / "CONTRIBUTING.md").read_text()
    assert "## How it is tested" in contributing
    assert not any("## How it is tested" in page.read_text() for page in PAGES)
    assert "make template" in contributing and "make bench" in contributing
