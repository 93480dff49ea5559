"""`deploy` does not believe a settled stack status until the change set's execution shows.

Right after ExecuteChangeSet, CloudFormation may still describe the stack as the previous
operation left it (UPDATE_COMPLETE), before the update even begins. The emulator executes change
sets synchronously, so it cannot show that race: these tests use a small scripted stand-in for
the CloudFormation client instead (a plain class whose describe_* calls replay a script, one step
per poll), driving the real `deploy` function.
"""

from __future__ import annotations

import io

import pytest

from rv_batch_cfn.aws.deploy import change_set as deploy_module
from rv_batch_cfn.aws.deploy import execution
from rv_batch_cfn.cli.common import Printer
from rv_batch_cfn.errors import AwsError
from tests.aws.scripted_cfn import GONE, LOGS, STACK, TEMPLATE, ScriptedCloudFormation, Step


def run(cfn: ScriptedCloudFormation, monkeypatch) -> tuple[int, str]:
    monkeypatch.setattr(deploy_module, "time", cfn)
    monkeypatch.setattr(execution, "time", cfn)
    out = io.StringIO()
    code = deploy_module.deploy(cfn, "rv", "template.yml", {}, assume_yes=True,
                                say=Printer(out), template=TEMPLATE).outcome
    return code, out.getvalue()


def test_a_stale_update_complete_is_not_success(monkeypatch):
    # The first polls still show the previous UPDATE_COMPLETE; then the update runs and fails.
    cfn = ScriptedCloudFormation([
        Step("UPDATE_COMPLETE", "EXECUTE_IN_PROGRESS"),
        Step("UPDATE_COMPLETE", "EXECUTE_IN_PROGRESS"),
        Step("UPDATE_IN_PROGRESS", events=(("rv", STACK, "UPDATE_IN_PROGRESS"),
                                           ("Logs", LOGS, "UPDATE_FAILED"))),
        Step("UPDATE_ROLLBACK_COMPLETE", "EXECUTE_FAILED",
             events=(("rv", STACK, "UPDATE_ROLLBACK_COMPLETE"),)),
    ])
    with pytest.raises(AwsError, match="ended in UPDATE_ROLLBACK_COMPLETE; the first failure: "
                                       "Logs"):
        run(cfn, monkeypatch)
    assert cfn.step == 3


def test_the_change_set_gone_means_the_execution_ended(monkeypatch):
    cfn = ScriptedCloudFormation([
        Step("UPDATE_COMPLETE", "AVAILABLE"),
        Step("UPDATE_IN_PROGRESS", events=(("rv", STACK, "UPDATE_IN_PROGRESS"),)),
        Step("UPDATE_COMPLETE", GONE, events=(("Logs", LOGS, "UPDATE_COMPLETE"),
                                              ("rv", STACK, "UPDATE_COMPLETE"))),
    ])
    code, out = run(cfn, monkeypatch)
    assert code == deploy_module.EXECUTED and cfn.step == 2
    assert "Stack rv is UPDATE_COMPLETE" in out
    assert out.index("UPDATE_IN_PROGRESS") < out.index("Stack rv is UPDATE_COMPLETE")


def test_a_new_stack_event_closing_the_operation_is_enough(monkeypatch):
    # The change set still says AVAILABLE and the status lags: the stack's own new event
    # closing the operation settles it; its UPDATE_IN_PROGRESS or a resource's event does not.
    cfn = ScriptedCloudFormation([
        Step("UPDATE_COMPLETE", "AVAILABLE"),
        Step("UPDATE_COMPLETE", "AVAILABLE", events=(("rv", STACK, "UPDATE_IN_PROGRESS"),
                                                     ("Logs", LOGS, "UPDATE_COMPLETE"))),
        Step("UPDATE_COMPLETE", "AVAILABLE", events=(("rv", STACK, "UPDATE_COMPLETE"),)),
    ])
    code, out = run(cfn, monkeypatch)
    assert code == deploy_module.EXECUTED and cfn.step == 2
    assert "Stack rv is UPDATE_COMPLETE" in out


def test_the_wait_for_a_sign_is_bounded(monkeypatch):
    monkeypatch.setattr(execution, "EXECUTION_START_TIMEOUT", 30.0)
    cfn = ScriptedCloudFormation([Step("UPDATE_COMPLETE", "AVAILABLE")])
    with pytest.raises(AwsError, match="after 30 s stack 'rv' still shows no sign of it "
                                       r"\(status UPDATE_COMPLETE, no new event\)"):
        run(cfn, monkeypatch)
    assert 30 < cfn.now < 40
