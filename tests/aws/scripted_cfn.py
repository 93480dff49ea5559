"""A scripted stand-in for CloudFormation, for the tests of what `deploy` does after
ExecuteChangeSet (tests/aws/test_deploy_follow.py, test_deploy_interrupts.py): the emulator
executes change sets synchronously, so it cannot show the states in between. A plain class whose
describe_* methods replay a script, one step per poll, answers the calls of a real boto3 client
(botocore's before-call event, as botocore's Stubber answers them), so that the real `deploy`
function and boto3's waiters run unchanged; `clock(monkeypatch)` makes it the clock too."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Optional

import boto3
import botocore.waiter
from botocore.awsrequest import AWSResponse
from botocore.exceptions import ClientError
from botocore import xform_name

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
    # What DescribeChangeSet lists (ResourceChange entries).
    changes: list[dict] = field(default_factory=lambda: [{
        "Action": "Modify", "LogicalResourceId": "Logs", "ResourceType": LOGS,
        "Replacement": "False"}])
    step: int = -1  # before the execute call
    now: float = 0.0
    events: list[dict] = field(default_factory=list)
    executed: Optional[str] = None
    _client: Any = None

    # ---- time, as deploy uses it
    def monotonic(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds
        if self.executed is not None:
            self._advance(min(self.step + 1, len(self.script) - 1))

    def clock(self, monkeypatch, *modules: Any) -> None:
        """Make this the clock of the modules deploy waits in, and of boto3's waiters."""
        from rv_batch_cfn.aws.clients import stack
        from rv_batch_cfn.aws.deploy import change_set

        for module in (change_set, stack, botocore.waiter, *modules):
            monkeypatch.setattr(module, "time", self)

    # ---- the session deploy is given: a real client, answered by the methods below
    def client(self, service: str) -> Any:
        assert service == "cloudformation"
        if self._client is None:
            self._client = boto3.session.Session(
                aws_access_key_id="scripted", aws_secret_access_key="scripted",
                region_name="us-east-1").client("cloudformation",
                                                 endpoint_url="http://127.0.0.1:9")
            events = self._client.meta.events
            events.register("before-parameter-build.cloudformation", self._keep_parameters)
            events.register("before-call.cloudformation", self._answer)
        return self._client

    @staticmethod
    def _keep_parameters(params: dict, context: dict, **_: Any) -> None:
        context["scripted_parameters"] = dict(params)

    def _answer(self, model: Any, context: dict, **_: Any) -> tuple[AWSResponse, dict]:
        try:
            parsed = getattr(self, xform_name(model.name))(**context["scripted_parameters"]) \
                or {}
        except ClientError as e:
            return AWSResponse("", 400, {}, None), e.response
        return AWSResponse("", 200, {}, None), {**parsed, "ResponseMetadata": {}}

    # ---- the CloudFormation calls deploy makes

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
                "Changes": [{"Type": "Resource", "ResourceChange": change}
                            for change in self.changes]}

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
