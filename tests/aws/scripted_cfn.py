"""A scripted stand-in for the CloudFormation client, for the tests of what `deploy` does after
ExecuteChangeSet (tests/aws/test_deploy_follow.py, test_deploy_interrupts.py): the emulator
executes change sets synchronously, so it cannot show the states in between. A plain class whose
describe_* calls replay a script, one step per poll, drives the real `deploy` function."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Optional

from botocore.exceptions import ClientError

STACK, LOGS = "AWS::CloudFormation::Stack", "AWS::Logs::LogGroup"
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
