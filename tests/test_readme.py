"""The README as a user follows it: its Python examples run as written."""

from __future__ import annotations

import re

import pytest

from tests.emulator import ROOT

README = (ROOT / "README.md").read_text()
PYTHON_BLOCKS = re.findall(r"^```python\n(.*?)^```", README, re.M | re.S)


def test_the_readme_has_python_examples():
    assert PYTHON_BLOCKS


@pytest.mark.parametrize("index", range(len(PYTHON_BLOCKS)))
def test_python_example_runs_as_written(index, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # the examples write files relative to the checkout
    exec(compile(PYTHON_BLOCKS[index], f"README.md python block {index + 1}", "exec"), {})
