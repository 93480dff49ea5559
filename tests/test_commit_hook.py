"""The commit-msg hook of .githooks/, run by a real git in a repository made for the test: a
subject of 72 characters is taken, one of 73 is refused with its length, a subject that runs on
into the body is refused, and git's comment lines are not counted."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.conftest import require_tool

HOOKS = Path(__file__).resolve().parents[1] / ".githooks"


@pytest.fixture()
def repo(tmp_path: Path) -> Path:
    git = require_tool("git")
    for args in (["init", "-q"], ["config", "user.name", "Test"],
                 ["config", "user.email", "test@example.com"],
                 ["config", "core.hooksPath", str(HOOKS)]):
        subprocess.run([git, *args], cwd=tmp_path, check=True)
    return tmp_path


def commit(repo: Path, message: str, *options: str) -> subprocess.CompletedProcess:
    (repo / "file").write_text(message)
    subprocess.run(["git", "add", "file"], cwd=repo, check=True)
    return subprocess.run(["git", "commit", "-q", *options, "-F", "-"], cwd=repo, input=message,
                          capture_output=True, text=True)


def subjects(repo: Path) -> list[str]:
    done = subprocess.run(["git", "log", "--format=%s"], cwd=repo, capture_output=True, text=True)
    return done.stdout.splitlines()


def test_a_subject_of_72_characters_is_taken_and_73_refused(repo: Path):
    taken = "a" * 72
    assert commit(repo, f"{taken}\n\nThe detail.\n").returncode == 0
    refused = commit(repo, "b" * 73 + "\n")
    assert refused.returncode != 0
    assert "the subject is 73 characters, at most 72 are allowed" in refused.stderr
    assert subjects(repo) == [taken]


def test_a_subject_running_into_the_body_is_refused(repo: Path):
    refused = commit(repo, "Short subject\nand its second line\n")
    assert refused.returncode != 0
    assert "leave a blank line before the body" in refused.stderr
    assert subjects(repo) == []


def test_comment_lines_are_not_the_message(repo: Path):
    # As from the editor, where git strips them (with -F alone it would keep them).
    message = "# " + "c" * 100 + "\nThe subject\n\n# another comment\nThe body.\n"
    assert commit(repo, message, "--cleanup=strip").returncode == 0
    assert subjects(repo) == ["The subject"]
