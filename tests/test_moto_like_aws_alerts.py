"""Canaries for tests/moto_like_aws_alerts.py, as tests/test_moto_like_aws.py has for
tests/moto_like_aws.py: each shows, on an UNPATCHED moto server (a process of its own), one way
moto falls short of AWS that a patch there makes up for, and fails once moto behaves like AWS.
RV_CANARIES_AGAINST_PATCHED=1 runs them against a patched server, where each must fail but
the one of _patch_simple_batch, a hook that acts only when a test sets BATCH.outcome.
"""

from __future__ import annotations

import json
import urllib.request

import pytest

from tests import moto_like_aws_alerts
from tests.canaries import Canaries
from tests.unpatched_moto import batch_network, batch_template, create_stack, fails

# With tests/test_moto_like_aws.py on one xdist worker, so that they share one unpatched server
# (the `aws` fixture, tests/conftest.py).
pytestmark = pytest.mark.xdist_group("unpatched-moto")

# Not tests/test_moto_like_aws.py's registry: its own check counts the patches of that module.
CANARIES = Canaries(moto_like_aws_alerts, moto_like_aws_alerts.patch)
canary, remove = CANARIES.mark, CANARIES.remove


def test_every_alerts_patch_has_a_canary():
    """patch() applies every _patch_* function of the module, and each has a canary here."""
    CANARIES.check()


def ssm_value(aws, name: str) -> str:
    return aws("ssm").get_parameter(Name=name)["Parameter"]["Value"]


NUMBER = {"Parameters": {"Minutes": {"Type": "Number", "Default": 30}}}


@canary("_patch_number_parameters")
def test_find_in_map_with_a_number_parameter_fails(aws):
    """AWS: Ref on a Number parameter is a string, so Fn::FindInMap finds key "30"."""
    template = {**NUMBER, "Mappings": {"Seconds": {"30": {"Value": "1800"}}}, "Resources": {
        "Reader": {"Type": "AWS::SSM::Parameter", "Properties": {
            "Name": "seconds", "Type": "String",
            "Value": {"Fn::FindInMap": ["Seconds", {"Ref": "Minutes"}, "Value"]}}}}}
    cfn = aws("cloudformation")

    def create() -> None:
        cfn.create_stack(StackName="numbers", TemplateBody=json.dumps(template))
    assert fails(create), remove("_patch_number_parameters", "clean_json (Fn::FindInMap)")


@canary("_patch_number_parameters")
def test_equals_a_number_parameter_and_its_text_is_false(aws):
    """AWS: Fn::Equals [Ref Minutes, "30"] holds when Minutes is 30."""
    template = {**NUMBER, "Conditions": {"Thirty": {"Fn::Equals": [{"Ref": "Minutes"}, "30"]}},
                "Resources": {"Reader": {"Type": "AWS::SSM::Parameter", "Properties": {
                    "Name": "thirty", "Type": "String",
                    "Value": {"Fn::If": ["Thirty", "yes", "no"]}}}}}
    create_stack(aws, "numbers", template)
    assert ssm_value(aws, "thirty") == "no", remove("_patch_number_parameters", "parse_condition")


TOPIC = {"Topic": {"Type": "AWS::SNS::Topic", "Properties": {"TopicName": "canary"}}}


@canary("_patch_no_value_in_lists")
def test_a_list_element_of_no_value_is_kept_as_null(aws):
    """AWS leaves out a list element that is Fn::If choosing AWS::NoValue."""
    template = {"Conditions": {"Never": {"Fn::Equals": ["a", "b"]}}, "Resources": {
        "Rule": {"Type": "AWS::Events::Rule", "Properties": {
            "Name": "no-value", "EventPattern": {"source": [
                "aws.batch", {"Fn::If": ["Never", "other", {"Ref": "AWS::NoValue"}]}]}}}}}
    create_stack(aws, "novalue", template)
    pattern = json.loads(aws("events").describe_rule(Name="no-value")["EventPattern"])
    assert None in pattern["source"], remove("_patch_no_value_in_lists")


@canary("_patch_sns_resources")
def test_subscription_resource_creates_nothing(aws):
    """AWS::SNS::Subscription subscribes the endpoint (CloudFormation user guide)."""
    create_stack(aws, "sns", {"Resources": {**TOPIC, "Subscription": {
        "Type": "AWS::SNS::Subscription", "Properties": {
            "TopicArn": {"Ref": "Topic"}, "Protocol": "email", "Endpoint": "a@example.com"}}}})
    assert aws("sns").list_subscriptions()["Subscriptions"] == [], remove(
        "_patch_sns_resources", "Subscription")


@canary("_patch_sns_resources")
def test_topic_policy_resource_changes_nothing(aws):
    """AWS::SNS::TopicPolicy replaces the topics' access policy."""
    document = {"Version": "2012-10-17", "Statement": [{
        "Sid": "Canary", "Effect": "Allow", "Principal": {"Service": "events.amazonaws.com"},
        "Action": "sns:Publish", "Resource": {"Ref": "Topic"}}]}
    stack = create_stack(aws, "sns", {"Resources": {**TOPIC, "Policy": {
        "Type": "AWS::SNS::TopicPolicy",
        "Properties": {"Topics": [{"Ref": "Topic"}], "PolicyDocument": document}}}})
    assert stack["StackStatus"] == "CREATE_COMPLETE"
    topic, = aws("sns").list_topics()["Topics"]
    policy = aws("sns").get_topic_attributes(TopicArn=topic["TopicArn"])["Attributes"]["Policy"]
    assert "Canary" not in policy, remove("_patch_sns_resources", "TopicPolicy")


@canary("_patch_queue_time_limits")
def test_job_queue_forgets_its_time_limit_actions(aws):
    """AWS returns a queue's jobStateTimeLimitActions in DescribeJobQueues."""
    template = batch_template(batch_network(aws))
    template["Resources"]["Queue"]["Properties"]["JobStateTimeLimitActions"] = [{
        "Action": "CANCEL", "State": "RUNNABLE", "MaxTimeSeconds": 600,
        "Reason": "MISCONFIGURATION:JOB_RESOURCE_REQUIREMENT"}]
    create_stack(aws, "batch", template)
    queue, = aws("batch").describe_job_queues()["jobQueues"]
    assert not queue.get("jobStateTimeLimitActions"), remove("_patch_queue_time_limits")


@pytest.fixture
def without_docker(aws):
    def configure(use_docker: bool) -> None:
        urllib.request.urlopen(urllib.request.Request(
            f"{aws.endpoint}/moto-api/config", method="POST",
            data=json.dumps({"batch": {"use_docker": use_docker}}).encode())).read()
    configure(False)
    yield aws
    configure(True)


@canary("_patch_simple_batch")
def test_a_job_without_docker_is_done_when_first_seen(without_docker):
    """AWS reports a new job SUBMITTED, then PENDING, RUNNABLE, STARTING, RUNNING; moto's
    Batch without Docker reports it SUCCEEDED at once."""
    aws = without_docker
    create_stack(aws, "batch", batch_template(batch_network(aws)))
    batch = aws("batch")
    job = batch.submit_job(jobName="canary", jobQueue="canary", jobDefinition="canary")
    first, = batch.describe_jobs(jobs=[job["jobId"]])["jobs"]
    assert first["status"] == "SUCCEEDED", remove("_patch_simple_batch")


@canary("_patch_job_resources")
def test_a_job_does_not_report_its_resources(without_docker):
    """AWS reports a job's container.resourceRequirements, submit-time overrides applied; moto
    reports none, overridden or not."""
    aws = without_docker
    create_stack(aws, "batch", batch_template(batch_network(aws)))
    batch = aws("batch")
    job = batch.submit_job(jobName="canary", jobQueue="canary", jobDefinition="canary",
                           containerOverrides={"resourceRequirements": [
                               {"type": "VCPU", "value": "2"}]})
    described, = batch.describe_jobs(jobs=[job["jobId"]])["jobs"]
    assert "resourceRequirements" not in described.get("container", {}), remove(
        "_patch_job_resources")


@canary("_patch_job_retry_strategy")
def test_a_job_forgets_its_retry_strategy(aws):
    """AWS returns the retryStrategy and propagateTags a job was submitted with in
    DescribeJobs; moto drops both."""
    create_stack(aws, "batch", batch_template(batch_network(aws)))
    batch = aws("batch")
    job = batch.submit_job(jobName="canary-retry", jobQueue="canary", jobDefinition="canary",
                           retryStrategy={"attempts": 3}, propagateTags=True)
    described, = batch.describe_jobs(jobs=[job["jobId"]])["jobs"]
    assert "retryStrategy" not in described and "propagateTags" not in described, remove(
        "_patch_job_retry_strategy")
