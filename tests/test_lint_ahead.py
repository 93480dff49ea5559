"""rv_batch_cfn/lint_ahead.py: the child that loads cfn-lint while the template is made gives the
findings lint_template gives, passes on a refused region, and never outlives its block.

A child is forked only in a process with one thread, which a pytest worker is not (xdist talks
to it from a thread of its own), so the scenarios run in a fresh Python process of their own.
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading

from rv_batch_cfn import lint_template
from rv_batch_cfn.lint_ahead import LintAhead, can_fork
from tests.emulator import ROOT
from tests.test_lint_rules import CLEAN, FAILING

SCENARIOS = r"""
import json, os, sys
from rv_batch_cfn.errors import InputError
from rv_batch_cfn.lint import check_template
from rv_batch_cfn.lint_ahead import LintAhead

clean, failing = json.loads(sys.stdin.read())
# cfn-lint loaded here first: each child starts with it (as a child of a process that had it),
# so that the four scenarios take one load, not four.
check_template(clean)

def gone(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False

results = {}
with LintAhead() as ahead:
    pid = ahead.pid
    results["failing"] = [[f.rule_id, f.line] for f in ahead.lint(failing, ["us-east-1"])]
results["forked"] = pid is not None
results["failing_child_gone"] = gone(pid)

with LintAhead() as ahead:
    results["clean"] = [[f.rule_id, f.line] for f in check_template(clean, linter=ahead.lint)]

with LintAhead(["xx-nowhere-1"]) as ahead:
    try:
        ahead.lint(clean, ["xx-nowhere-1"])
    except InputError as e:
        results["region"] = str(e)

with LintAhead() as ahead:  # not needed (as when the cache knows the text): ended at once
    pid = ahead.pid
results["unused_child_gone"] = gone(pid)
print(json.dumps(results))
"""


def test_the_child_lints_as_this_process_does_and_ends_with_its_block():
    done = subprocess.run([sys.executable, "-c", SCENARIOS], input=json.dumps([CLEAN, FAILING]),
                          capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert done.returncode == 0 and done.stderr == "", done.stderr
    results = json.loads(done.stdout)
    if sys.platform.startswith("linux"):
        assert results["forked"]
    assert results["failing"] == [[f.rule_id, f.line] for f in lint_template(FAILING)]
    assert "E3006" in {rule for rule, _ in results["failing"]}
    assert results["clean"] == [[f.rule_id, f.line] for f in lint_template(CLEAN)
                                if f.severity == "informational"]
    assert results["region"].startswith("--region: got 'xx-nowhere-1'")
    assert results["failing_child_gone"] and results["unused_child_gone"]


def test_with_another_thread_running_it_lints_in_this_process():
    stop = threading.Event()
    other = threading.Thread(target=stop.wait)
    other.start()
    try:
        assert not can_fork()
        with LintAhead() as ahead:
            assert ahead.pid is None
            assert ahead.lint(FAILING, ["us-east-1"]) == lint_template(FAILING)
    finally:
        stop.set()
        other.join()


def test_a_child_for_other_regions_is_not_asked():
    with LintAhead(["eu-west-1"], fork=False) as ahead:
        assert ahead.lint(CLEAN, ["us-east-1"]) == lint_template(CLEAN, ["us-east-1"])
