"""The lint cache of `rv-batch-cfn template` (rv_batch_cfn/lint.py): a text cfn-lint found clean is
not linted again; anything else always is."""

from __future__ import annotations

import json

import pytest

from rv_batch_cfn import lint
from rv_batch_cfn.errors import LintError

# A small template: what is cached does not depend on the template, and cfn-lint is quick on it.
SMALL = """AWSTemplateFormatVersion: "2010-09-09"
Description: A log group.
Resources:
  Logs:
    Type: AWS::Logs::LogGroup
    DeletionPolicy: Retain
    UpdateReplacePolicy: Retain
    Properties:
      RetentionInDays: 30
"""


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv(lint.CACHE_VARIABLE, str(tmp_path / "cache"))
    return tmp_path / "cache" / "lint"


def counting(monkeypatch) -> list[str]:
    calls: list[str] = []
    real = lint.lint_template

    def counted(text, *args, **kwargs):
        calls.append(text)
        return real(text, *args, **kwargs)

    monkeypatch.setattr(lint, "lint_template", counted)
    return calls


def test_a_clean_text_is_linted_once(cache, monkeypatch):
    calls = counting(monkeypatch)
    text = SMALL
    assert lint.check_template(text, cache=True) == []
    assert lint.check_template(text, cache=True) == []
    assert len(calls) == 1
    assert len(list(cache.iterdir())) == 1
    # Another text, or other regions, is another entry.
    lint.check_template(text + "\n", cache=True)
    lint.check_template(text, regions=["eu-west-1"], cache=True)
    assert len(calls) == 3


def test_a_failing_text_is_never_remembered(cache, monkeypatch):
    calls = counting(monkeypatch)
    broken = SMALL.replace("Type: AWS::Logs::LogGroup", "Type: AWS::Logs::Nope")
    for _ in range(2):
        with pytest.raises(LintError):
            lint.check_template(broken, cache=True)
    assert len(calls) == 2 and not cache.exists()


def test_without_cache_or_with_it_turned_off_every_call_lints(cache, monkeypatch):
    calls = counting(monkeypatch)
    text = SMALL
    lint.check_template(text)
    lint.check_template(text)
    monkeypatch.setenv(lint.CACHE_VARIABLE, "")
    lint.check_template(text, cache=True)
    lint.check_template(text, cache=True)
    assert len(calls) == 4 and not cache.exists()


def test_a_damaged_entry_is_linted_again_and_repaired(cache, monkeypatch):
    text = SMALL
    lint.check_template(text, cache=True)
    [entry] = cache.iterdir()
    entry.write_text("{not json")
    calls = counting(monkeypatch)
    assert lint.check_template(text, cache=True) == []
    assert len(calls) == 1 and json.loads(entry.read_text()) == []


def test_an_unwritable_cache_does_not_fail_the_check(tmp_path, monkeypatch):
    blocker = tmp_path / "file"
    blocker.write_text("")
    monkeypatch.setenv(lint.CACHE_VARIABLE, str(blocker / "cache"))  # under a file: unwritable
    assert lint.check_template(SMALL, cache=True) == []


def test_default_location_follows_xdg(tmp_path):
    assert lint.cache_dir({"XDG_CACHE_HOME": str(tmp_path)}) == tmp_path / "rv-batch-cfn"
    assert lint.cache_dir({lint.CACHE_VARIABLE: ""}) is None
