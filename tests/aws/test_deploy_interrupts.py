"""What `deploy` says and undoes when Ctrl-C or a failure comes at each step, driven through the
scripted CloudFormation stand-in of test_deploy_follow.py (the emulator cannot be stopped
between two steps; tests/aws/test_faults.py does the same through the CLI where it can)."""

from __future__ import annotations

import io
from dataclasses import dataclass, field

import pytest
from botocore.exceptions import ClientError, EndpointConnectionError

from rv_batch_cfn.aws.deploy import change_set as deploy_module
from rv_batch_cfn.aws.deploy import execution
from rv_batch_cfn.cli.common import Printer
from rv_batch_cfn.errors import AwsError, Interrupted
from tests.aws.scripted_cfn import LOGS, STACK, TEMPLATE, ScriptedCloudFormation, Step


@dataclass
class Recording(ScriptedCloudFormation):
    """The stand-in, recording the deletions deploy makes and failing where told."""

    deleted: list[str] = field(default_factory=list)
    execute_fails: BaseException | None = None
    sleep_fails_at: int | None = None  # the step at which time.sleep raises Ctrl-C
    meta: object = field(default_factory=lambda: type("Meta", (), {"endpoint_url": None})())

    def delete_change_set(self, StackName: str, ChangeSetName: str) -> None:
        self.deleted.append(f"change set {ChangeSetName}")

    def delete_stack(self, StackName: str) -> None:
        self.deleted.append(f"stack {StackName}")

    def execute_change_set(self, StackName: str, ChangeSetName: str) -> None:
        if self.execute_fails is not None:
            raise self.execute_fails
        super().execute_change_set(StackName, ChangeSetName)

    def sleep(self, seconds: float) -> None:
        if self.sleep_fails_at is not None and self.step >= self.sleep_fails_at:
            raise KeyboardInterrupt
        super().sleep(seconds)


RUNNING = [Step("UPDATE_IN_PROGRESS", events=(("rv", STACK, "UPDATE_IN_PROGRESS"),
                                               ("Logs", LOGS, "UPDATE_IN_PROGRESS")))]


def deploy(cfn: Recording, monkeypatch, ask=None) -> str:
    monkeypatch.setattr(deploy_module, "time", cfn)
    monkeypatch.setattr(execution, "time", cfn)
    return deploy_module.deploy(cfn, "rv", "template.yml", {}, assume_yes=ask is None, ask=ask,
                                say=Printer(io.StringIO()), template=TEMPLATE)


def interrupt(question: str) -> bool:
    raise KeyboardInterrupt


def test_ctrl_c_at_the_prompt_deletes_the_change_set(monkeypatch):
    cfn = Recording(RUNNING)
    with pytest.raises(Interrupted, match=r"nothing was changed: change set rv-batch-cfn-\S+ "
                                          "was deleted, as answering no does"):
        deploy(cfn, monkeypatch, ask=interrupt)
    assert len(cfn.deleted) == 1 and cfn.deleted[0].startswith("change set rv-batch-cfn-")
    assert cfn.executed is None


def test_ctrl_c_while_following_says_the_operation_continues(monkeypatch):
    cfn = Recording(RUNNING, sleep_fails_at=0)
    with pytest.raises(Interrupted) as caught:
        deploy(cfn, monkeypatch)
    message = str(caught.value)
    assert message.startswith("stopped following stack rv. Change set rv-batch-cfn-")
    assert "was executed: the stack operation continues in AWS" in message
    assert "aws cloudformation describe-stack-events --stack-name rv" in message
    assert "aws cloudformation wait stack-update-complete --stack-name rv" in message
    assert cfn.deleted == []  # an executed change set is not the command's to undo


def test_ctrl_c_during_the_execute_call_says_it_may_run(monkeypatch):
    cfn = Recording(RUNNING, execute_fails=KeyboardInterrupt())
    with pytest.raises(Interrupted, match="The call to execute change set rv-batch-cfn-.* was "
                                          "cut off: the stack operation may have begun"):
        deploy(cfn, monkeypatch)
    assert cfn.deleted == []


def test_a_connection_lost_during_the_execute_call_says_it_may_run(monkeypatch):
    cfn = Recording(RUNNING, execute_fails=EndpointConnectionError(endpoint_url="https://x/"))
    with pytest.raises(AwsError, match=r"cannot execute change set .*: Could not connect to "
                                       r"the endpoint URL: \"https://x/\"\. The call to execute"):
        deploy(cfn, monkeypatch)
    assert cfn.deleted == []


def test_an_execute_call_refused_deletes_the_change_set(monkeypatch):
    refused = ClientError({"Error": {"Code": "InvalidChangeSetStatus",
                                     "Message": "ChangeSet is in an invalid state"}},
                          "ExecuteChangeSet")
    cfn = Recording(RUNNING, execute_fails=refused)
    with pytest.raises(AwsError, match="CloudFormation refused to execute change set .*: "
                                       "ChangeSet is in an invalid state; nothing was changed"):
        deploy(cfn, monkeypatch)
    assert len(cfn.deleted) == 1


def test_a_long_plan_and_a_quiet_stack_are_reported(monkeypatch):
    # Planning takes 30 s and the stack then stays quiet for minutes: lines say so.
    class SlowPlan(Recording):
        polls = 0

        def describe_change_set(self, StackName, ChangeSetName, **kwargs):
            if self.executed is None:
                self.polls += 1
                if self.now < 30:
                    return {"Status": "CREATE_IN_PROGRESS"}
            return super().describe_change_set(StackName, ChangeSetName, **kwargs)

    cfn = SlowPlan(RUNNING + [Step("UPDATE_IN_PROGRESS")] * 40 + [
        Step("UPDATE_COMPLETE", execution.EXECUTION_ENDED[0],
             events=(("rv", STACK, "UPDATE_COMPLETE"),))])
    out = io.StringIO()
    monkeypatch.setattr(deploy_module, "time", cfn)
    monkeypatch.setattr(execution, "time", cfn)
    deploy_module.deploy(cfn, "rv", "template.yml", {}, assume_yes=True, say=Printer(out),
                         template=TEMPLATE)
    text = out.getvalue()
    assert "CloudFormation is still planning the change set (CREATE_IN_PROGRESS, 1" in text
    assert "  ... still UPDATE_IN_PROGRESS (" in text
