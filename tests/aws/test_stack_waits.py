"""teardown's waits where the emulator cannot show them: a deletion that fails, and jobs that do
not end in time. moto deletes a stack and ends cancelled jobs at once, so botocore's Stubber
plays the answers AWS gives (a sequence of replies, nothing of AWS's logic needed), through
boto3's own waiters."""

from __future__ import annotations

from datetime import datetime, timezone

import boto3
from botocore.stub import Stubber

from rv_batch_cfn.aws import teardown
from rv_batch_cfn.errors import AwsError

STACK_ID = "arn:aws:cloudformation:us-east-1:123456789012:stack/rv/0000"
WHEN = datetime(2026, 1, 1, tzinfo=timezone.utc)


def client(service: str):
    return boto3.session.Session(aws_access_key_id="stub", aws_secret_access_key="stub",
                                 region_name="us-east-1").client(service)


def event(number: int, logical_id: str, kind: str, status: str, reason: str = "") -> dict:
    return {"EventId": f"e{number}", "StackId": STACK_ID, "StackName": "rv",
            "LogicalResourceId": logical_id, "ResourceType": kind, "ResourceStatus": status,
            "Timestamp": WHEN, **({"ResourceStatusReason": reason} if reason else {})}


def plan() -> teardown.Plan:
    return teardown.Plan("rv", STACK_ID, "CREATE_COMPLETE", "us-east-1", {}, {}, (), (), ())


def test_a_deletion_that_fails_names_the_first_failure_and_shows_the_events():
    cfn = client("cloudformation")
    old = event(0, "rv", "AWS::CloudFormation::Stack", "CREATE_COMPLETE")
    new = [event(2, "Bucket", "AWS::S3::Bucket", "DELETE_FAILED", "The bucket is not empty"),
           event(1, "rv", "AWS::CloudFormation::Stack", "DELETE_IN_PROGRESS")]  # newest first
    lines: list[str] = []
    with Stubber(cfn) as stub:
        stub.add_response("describe_stack_events", {"StackEvents": [old]})
        stub.add_response("delete_stack", {}, {"StackName": STACK_ID})
        stub.add_response("describe_stacks", {"Stacks": [{
            "StackName": "rv", "StackId": STACK_ID, "CreationTime": WHEN,
            "StackStatus": "DELETE_FAILED"}]}, {"StackName": STACK_ID})
        stub.add_response("describe_stack_events", {"StackEvents": [*new, old]})
        stub.add_response("describe_stack_events", {"StackEvents": [*new, old]})
        try:
            teardown._delete(cfn, plan(), lines.append)
        except AwsError as e:
            message = str(e)
        else:
            raise AssertionError("a failed deletion raised nothing")
        stub.assert_no_pending_responses()
    assert message == ("stack 'rv' is DELETE_FAILED; the first failure: Bucket "
                       "(AWS::S3::Bucket): The bucket is not empty. Fix it, then run teardown "
                       "again (it retries the deletion)")
    assert lines[0] == "deleting stack rv; events:"
    assert "DELETE_IN_PROGRESS" in lines[1] and "Bucket" in lines[2]
    assert len(lines) == 3  # each event once, the old one not at all


def test_jobs_that_do_not_end_in_time_are_counted_and_the_deletion_goes_on():
    batch = client("batch")
    jobs = (teardown.Job("j1", "train", "RUNNING", "q"), teardown.Job("j2", "chip", "RUNNABLE", "q"))
    lines: list[str] = []
    with Stubber(batch) as stub:
        stub.add_response("describe_jobs", {"jobs": [
            {"jobId": "j1", "jobName": "train", "jobQueue": "q", "status": "RUNNING",
             "startedAt": 1, "jobDefinition": "d"},
            {"jobId": "j2", "jobName": "chip", "jobQueue": "q", "status": "FAILED",
             "startedAt": 1, "jobDefinition": "d"}]}, {"jobs": ["j1", "j2"]})
        teardown._wait_for_jobs(batch, jobs, 0.0, lines.append)
        stub.assert_no_pending_responses()
    assert lines == ["1 job(s) still ending after 0 s; deleting the stack anyway "
                     "(CloudFormation waits for their instances)"]
