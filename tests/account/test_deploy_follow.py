"""`deploy` does not believe a settled stack status until the change set's execution shows.

Right after ExecuteChangeSet, CloudFormation may still describe the stack as the previous
operation left it (UPDATE_COMPLETE), before the update even begins. The emulator executes change
sets synchronously, so it cannot show that race: these tests use a small scripted stand-in for
the CloudFormation client instead (a plain class whose describe_* calls replay a script, one step
per poll), driving the real `deploy` function.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Optional

import pytest
from botocore.exceptions import ClientError

from rv_batch_cfn.account.deploy import change_set as deploy_module
from rv_batch_cfn.account.deploy import execution
from rv_batch_cfn.cli.common import Printer
from rv_batch_cfn.errors import AwsError

STACK_ID = "arn:aws:cloudformation:us-east-1:123456789012:stack/rv/0000"
TEMPLATE = ("Resources:\n  Logs:\n    Type: AWS::Logs::LogGroup\n",
            {"Resources": {"Logs": {"Type": "AWS::Logs::LogGroup"}}})
GONE = "gone"  # the change set has been deleted, as AWS does after executing one


@dataclass
class Step:
    """What CloudFormation reports during one poll after the execute call."""

    stack_status: str
    execution_status: str = "EXECUTE_IN_PROGRESS"
    events: tuple[tuple[str, str, str], ...] = ()  # (logical id, type, status), oldest first


@dataclass
class ScriptedCloudFormation:
    """Stand-in for a boto3 CloudFormation client, and for time: sleeping moves to the next
    step of the script (the last step repeats)."""

    script: list[Step]
    step: int = -1  # before the execute call
    now: float = 0.0
    events: list[dict] = field(default_factory=list)
    executed: Optional[str] = None

    # ---- time, as deploy uses it
    def monotonic(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds
        if self.executed is not None:
            self._advance(min(self.step + 1, len(self.script) - 1))

    # ---- the CloudFormation calls deploy makes
    def client(self, service: str) -> "ScriptedCloudFormation":
        assert service == "cloudformation"
        return self

    def describe_stacks(self, StackName: str) -> dict:
        status = "UPDATE_COMPLETE" if self.step < 0 else self.script[self.step].stack_status
        return {"Stacks": [{"StackName": "rv", "StackId": STACK_ID, "StackStatus": status,
                            "Parameters": [], "Outputs": []}]}

    def create_change_set(self, **kwargs) -> dict:
        return {"Id": "cs-arn", "StackId": STACK_ID}

    def describe_change_set(self, StackName: str, ChangeSetName: str, **kwargs) -> dict:
        execution = "AVAILABLE" if self.step < 0 else self.script[self.step].execution_status
        if execution == GONE:
            raise ClientError({"Error": {"Code": "ChangeSetNotFound",
                                         "Message": f"ChangeSet [{ChangeSetName}] does not exist"}},
                              "DescribeChangeSet")
        return {"Status": "CREATE_COMPLETE", "ExecutionStatus": execution, "StackId": STACK_ID,
                "Changes": [{"Type": "Resource", "ResourceChange": {
                    "Action": "Modify", "LogicalResourceId": "Logs",
                    "ResourceType": "AWS::Logs::LogGroup", "Replacement": "False"}}]}

    def describe_stack_events(self, StackName: str, **kwargs) -> dict:
        return {"StackEvents": list(reversed(self.events))}

    def execute_change_set(self, StackName: str, ChangeSetName: str) -> None:
        self.executed = ChangeSetName
        self._advance(0)

    def _advance(self, step: int) -> None:
        self.step = step
        for logical_id, kind, status in self.script[step].events:
            self.events.append({
                "EventId": f"e{len(self.events)}", "LogicalResourceId": logical_id,
                "ResourceType": kind, "ResourceStatus": status,
                "PhysicalResourceId": STACK_ID if kind == STACK else f"{logical_id}-id",
                "Timestamp": datetime(2024, 1, 1, tzinfo=timezone.utc)})


STACK, LOGS = "AWS::CloudFormation::Stack", "AWS::Logs::LogGroup"


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
