"""Queue time limits and notifications, read from the generated template.

The time-limit actions are checked here, not in the emulator: moto accepts a queue's
JobStateTimeLimitActions but does not store them (the fixture's patch in
tests/moto_like_aws_alerts.py keeps what moto was given, for doctor's tests; what CloudFormation
resolves is checked here).
The rule's event pattern is matched against the documented shape of Batch's events
(tests/template/batch_events/) with moto's EventBridge pattern matcher, and the input
transformer is rendered the way EventBridge renders it.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import re

import pytest

from rv_batch_cfn import StackConfig, build_template, render_yaml
from rv_batch_cfn.errors import ConfigError
from rv_batch_cfn.template import job_queues, notifications, queue_limits
from rv_batch_cfn.template import parameters as p
from tests.emulator import load_template
from tests.template.helpers import matches, sample

ACCOUNT, REGION, STACK = "123456789012", "us-east-1", "rv"
QUEUES = {kind: f"arn:aws:batch:{REGION}:{ACCOUNT}:job-queue/RasterVision{kind.title()}JobQueue"
          for kind in ("gpu", "cpu")}
OTHER_QUEUE = f"arn:aws:batch:{REGION}:{ACCOUNT}:job-queue/otherRasterVisionGpuJobQueue"


def template(config: StackConfig | None = None) -> dict:
    return load_template(render_yaml(build_template(config)))


@functools.cache
def default() -> dict:
    """The default template, built when a test first reads it (not while each worker collects)."""
    return template()


# -- A small evaluator of the intrinsic functions these parts use, with the values the console
# would send: enough to see what CloudFormation hands to Batch, EventBridge, SNS and KMS.

def resolve(node, t: dict, values: dict):
    if isinstance(node, list):
        resolved = [resolve(n, t, values) for n in node]
        return [r for r in resolved if r is not NO_VALUE]
    if not isinstance(node, dict):
        return node
    if len(node) == 1:
        (fn, arg), = node.items()
        if fn == "Ref":
            if arg == "AWS::NoValue":
                return NO_VALUE
            return values.get(arg, f"<{arg}>")
        if fn == "Fn::If":
            name, yes, no = arg
            return resolve(yes if condition(t, name, values) else no, t, values)
        if fn == "Fn::FindInMap":
            name, first, second = (resolve(a, t, values) for a in arg)
            return t["Mappings"][name][str(first)][second]
        if fn == "Fn::Sub":
            text, extra = (arg, {}) if isinstance(arg, str) else arg
            names = {**values, **{k: resolve(v, t, values) for k, v in extra.items()}}
            return re.sub(r"\$\{([^}]+)\}", lambda m: str(names[m[1]]), text)
        if fn == "Fn::GetAtt":
            return values.get(".".join(arg), f"<{'.'.join(arg)}>")
    return {k: resolve(v, t, values) for k, v in node.items()}


NO_VALUE = object()


def condition(t: dict, name: str, values: dict) -> bool:
    def evaluate(expr):
        (fn, arg), = expr.items()
        if fn == "Fn::Not":
            return not evaluate(arg[0])
        if fn == "Fn::Equals":
            a, b = (str(resolve(x, t, values)) for x in arg)
            return a == b
        if fn == "Fn::And":
            return all(evaluate(x) for x in arg)
        if fn == "Condition":
            return condition(t, arg, values)
        raise AssertionError(fn)
    return evaluate(t["Conditions"][name])


def console_values(t: dict, **overrides) -> dict:
    values = {n: str(v.get("Default", "")) for n, v in t["Parameters"].items()}
    values.update({k: str(v) for k, v in overrides.items()})
    values.update({"AWS::StackName": STACK, "AWS::Region": REGION, "AWS::AccountId": ACCOUNT,
                   "AWS::Partition": "aws", "AWS::URLSuffix": "amazonaws.com"})
    values.update({job_queues.queue_id(kind): arn for kind, arn in QUEUES.items()})
    return values


# -- Queue time limits


def actions(t: dict, kind: str, **overrides) -> list[dict]:
    queue = t["Resources"][job_queues.queue_id(kind)]["Properties"]
    return resolve(queue["JobStateTimeLimitActions"], t, console_values(t, **overrides))


def cancel(reason: str, seconds: int) -> dict:
    return {"Action": "CANCEL", "State": "RUNNABLE", "Reason": reason, "MaxTimeSeconds": seconds}


UNRUNNABLE = ["MISCONFIGURATION:JOB_RESOURCE_REQUIREMENT",
              "MISCONFIGURATION:COMPUTE_ENVIRONMENT_MAX_RESOURCE"]
CAPACITY = "CAPACITY:INSUFFICIENT_INSTANCE_CAPACITY"


@pytest.mark.parametrize("kind", ["gpu", "cpu"])
@pytest.mark.parametrize("overrides,expected", [
    ({}, [cancel(r, 1800) for r in UNRUNNABLE]),
    ({"UnrunnableJobTimeout": 10, "CapacityWaitTimeout": 1440},
     [cancel(r, 600) for r in UNRUNNABLE] + [cancel(CAPACITY, 86400)]),
    ({"UnrunnableJobTimeout": 0, "CapacityWaitTimeout": 240}, [cancel(CAPACITY, 14400)]),
    ({"UnrunnableJobTimeout": 0}, []),
], ids=["defaults: cancel unrunnable jobs after 30 minutes, wait for capacity for ever",
        "both at their bounds", "capacity only", "none"])
def test_both_queues_cancel_stuck_jobs_after_the_configured_minutes(kind, overrides, expected):
    assert actions(default(), kind, **overrides) == expected


def test_every_allowed_minute_maps_to_seconds_batch_accepts():
    mapping = default()["Mappings"][queue_limits.SECONDS_MAP]
    for name in (p.UNRUNNABLE_JOB_TIMEOUT, p.CAPACITY_WAIT_TIMEOUT):
        parameter = default()["Parameters"][name]
        assert parameter["Type"] == "Number"
        allowed = parameter["AllowedValues"]
        assert 0 in allowed and min(m for m in allowed if m) == 10 and max(allowed) == 1440
        for minutes in allowed:
            seconds = mapping[str(minutes)]["Seconds"]
            # Batch API reference, JobStateTimeLimitAction.maxTimeSeconds: 600 to 86,400.
            assert seconds == minutes * 60 and (minutes == 0 or 600 <= seconds <= 86400)
        assert "0" in parameter["Description"] and "RUNNABLE" in parameter["Description"]
    assert default()["Parameters"][p.UNRUNNABLE_JOB_TIMEOUT]["Default"] == 30
    assert default()["Parameters"][p.CAPACITY_WAIT_TIMEOUT]["Default"] == 0


def test_a_configured_default_joins_the_allowed_minutes():
    t = template(dataclasses.replace(StackConfig(), unrunnable_job_timeout_minutes=25,
                                     capacity_wait_timeout_minutes=600))
    for name, minutes in ((p.UNRUNNABLE_JOB_TIMEOUT, 25), (p.CAPACITY_WAIT_TIMEOUT, 600)):
        assert t["Parameters"][name]["Default"] == minutes
        assert minutes in t["Parameters"][name]["AllowedValues"]
    assert actions(t, "gpu") == [cancel(r, 1500) for r in UNRUNNABLE] + [cancel(CAPACITY, 36000)]


@pytest.mark.parametrize("field,value", [
    ("unrunnable_job_timeout_minutes", 5), ("unrunnable_job_timeout_minutes", 1441),
    ("capacity_wait_timeout_minutes", -1), ("notification_email", "team"),
    ("notification_email", "team@example"),
])
def test_config_refuses_what_the_console_refuses(field, value):
    with pytest.raises(ConfigError) as error:
        dataclasses.replace(StackConfig(), **{field: value}).validate()
    problem, = error.value.problems
    assert (problem.field, problem.value) == (field, value)
    assert "allowed: " in str(problem)


# -- Notifications: created with the e-mail address only


NOTIFICATION_RESOURCES = {notifications.KEY, notifications.TOPIC, notifications.SUBSCRIPTION,
                          notifications.TOPIC_POLICY, *notifications.RULES}


def test_notification_resources_and_output_exist_only_with_an_email_address():
    conditional = {n for n, r in default()["Resources"].items()
                   if r.get("Condition") == notifications.HAS_EMAIL}
    assert conditional == NOTIFICATION_RESOURCES
    assert default()["Outputs"][notifications.TOPIC_OUTPUT]["Condition"] == notifications.HAS_EMAIL
    assert default()["Parameters"][p.NOTIFICATION_EMAIL]["Default"] == ""
    assert not condition(default(), notifications.HAS_EMAIL, console_values(default()))
    assert condition(default(), notifications.HAS_EMAIL,
                     console_values(default(), NotificationEmail="team@example.com"))


def test_the_console_shows_the_address_with_the_job_settings():
    groups = {g["Label"]["default"]: g["Parameters"]
              for g in default()["Metadata"]["AWS::CloudFormation::Interface"]["ParameterGroups"]}
    jobs_group = groups["Container images and jobs"]
    assert {p.NOTIFICATION_EMAIL, p.UNRUNNABLE_JOB_TIMEOUT, p.CAPACITY_WAIT_TIMEOUT} \
        <= set(jobs_group)


def resolved_resource(name: str) -> dict:
    values = console_values(default(), NotificationEmail="team@example.com")
    values.update({f"{r}.Arn": f"arn:aws:events:{REGION}:{ACCOUNT}:rule/{STACK}-{r}-X"
                   for r in notifications.RULES})
    values[notifications.TOPIC] = f"arn:aws:sns:{REGION}:{ACCOUNT}:{STACK}-notifications"
    return resolve(default()["Resources"][name], default(), values)


def test_the_topic_is_encrypted_with_a_key_only_eventbridge_may_use_for_it():
    topic = resolved_resource(notifications.TOPIC)["Properties"]
    assert topic["KmsMasterKeyId"] == f"<{notifications.KEY}.Arn>"  # not alias/aws/sns
    assert topic["TopicName"] == f"{STACK}-notifications"
    key = resolved_resource(notifications.KEY)["Properties"]
    assert key["EnableKeyRotation"] is True
    admin, events = key["KeyPolicy"]["Statement"]
    assert admin["Principal"] == {"AWS": f"arn:aws:iam::{ACCOUNT}:root"}
    assert events["Principal"] == {"Service": ["events.amazonaws.com"]}
    assert sorted(events["Action"]) == ["kms:Decrypt", "kms:GenerateDataKey*"]
    # The topic ARN the key names is the topic's own: its fixed name in this stack.
    assert events["Condition"] == {"StringEquals": {
        "kms:EncryptionContext:aws:sns:topicArn":
            f"arn:aws:sns:{REGION}:{ACCOUNT}:{topic['TopicName']}"}}


def test_only_this_stacks_rule_may_publish_to_the_topic():
    policy = resolved_resource(notifications.TOPIC_POLICY)["Properties"]["PolicyDocument"]
    statement, = policy["Statement"]
    assert statement["Effect"] == "Allow"
    assert statement["Principal"] == {"Service": ["events.amazonaws.com"]}
    assert statement["Action"] == ["sns:Publish"]
    assert statement["Condition"] == {
        "StringEquals": {"aws:SourceAccount": ACCOUNT},
        "ArnEquals": {"aws:SourceArn":
                      f"arn:aws:events:{REGION}:{ACCOUNT}:rule/{STACK}-{notifications.RULE}-X"}}


def test_the_subscription_mails_the_address():
    subscription = resolved_resource(notifications.SUBSCRIPTION)["Properties"]
    assert (subscription["Protocol"], subscription["Endpoint"]) == ("email", "team@example.com")


# -- The rule against the documented events


def rule() -> dict:
    return resolved_resource(notifications.RULE)["Properties"]


def test_the_rule_names_exactly_this_stacks_queues_for_both_kinds_of_event():
    pattern = rule()["EventPattern"]
    assert pattern["source"] == ["aws.batch"]
    kinds = {tuple(branch["detail-type"]): branch["detail"] for branch in pattern["$or"]}
    assert set(kinds) == {("Batch Job State Change",), ("Batch Job Queue Blocked",)}
    for detail in kinds.values():
        assert detail["jobQueue"] == [QUEUES["gpu"], QUEUES["cpu"]]


def test_the_rule_names_the_on_demand_gpu_queue_when_there_is_one():
    on_demand = f"arn:aws:batch:{REGION}:{ACCOUNT}:job-queue/RasterVisionGpuOnDemandJobQueue"
    values = console_values(default(), NotificationEmail="team@example.com",
                            GpuOnDemandMaximumVCPUs=16)
    values[job_queues.queue_id("GpuOnDemand")] = on_demand
    values.update({f"{r}.Arn": "<rule>" for r in notifications.RULES})
    pattern = resolve(default()["Resources"][notifications.RULE], default(), values)[
        "Properties"]["EventPattern"]
    for branch in pattern["$or"]:
        assert branch["detail"]["jobQueue"] == [QUEUES["gpu"], QUEUES["cpu"], on_demand]
    # and both queues cancel jobs waiting for capacity alike
    queue = default()["Resources"][job_queues.queue_id("GpuOnDemand")]
    assert queue["Condition"] == "HasGpuOnDemandQueue"
    assert resolve(queue["Properties"]["JobStateTimeLimitActions"], default(),
                   console_values(default(), CapacityWaitTimeout=60)) == [
        *(cancel(r, 1800) for r in UNRUNNABLE), cancel(CAPACITY, 3600)]


@pytest.mark.parametrize("event,queue,expected", [
    ("job-failed", QUEUES["gpu"], True),
    ("job-failed", QUEUES["cpu"], True),
    ("job-failed", OTHER_QUEUE, False),
    ("job-succeeded", QUEUES["gpu"], False),
    ("job-failed-dependency", QUEUES["gpu"], False),
    ("job-queue-blocked", QUEUES["gpu"], True),
    ("job-queue-blocked", QUEUES["cpu"], True),
    ("job-queue-blocked", OTHER_QUEUE, False),
], ids=lambda v: v.rsplit("/", 1)[-1] if isinstance(v, str) else str(v))
def test_the_rule_matches_failed_and_blocking_jobs_of_this_stacks_queues_only(event, queue,
                                                                              expected):
    assert matches(rule()["EventPattern"], sample(event, queue)) is expected


def test_a_job_merely_runnable_is_not_reported():
    # The job state change to RUNNABLE happens to every job: only Batch's blocked-queue event,
    # with its reason, is worth a message.
    event = sample("job-failed", QUEUES["gpu"])
    event["detail"]["status"] = "RUNNABLE"
    del event["detail"]["statusReason"]
    assert not matches(rule()["EventPattern"], event)


def test_a_failed_job_without_a_status_reason_is_still_reported():
    event = sample("job-failed", QUEUES["gpu"])
    del event["detail"]["statusReason"]
    assert matches(rule()["EventPattern"], event)


def render(transformer: dict, event: dict) -> str:
    """What EventBridge hands to SNS: every <name> replaced by the value at its JSON path
    (strings inserted as they are); then the quoted lines as the e-mail shows them."""
    assert len(transformer["InputPathsMap"]) <= 100
    assert all(re.fullmatch(r"[A-Za-z0-9]+", k) for k in transformer["InputPathsMap"])
    template = transformer["InputTemplate"]
    assert len(template) <= 8192
    for name, path in transformer["InputPathsMap"].items():
        value = event
        for part in path.removeprefix("$.").split("."):
            value = value[part]
        template = template.replace(f"<{name}>", str(value))
    assert not re.search(r"<[A-Za-z0-9.-]+>", template), "a placeholder was left"
    # A plain-text template of JSON strings, one per line: each must still be one.
    return "\n".join(json.loads(line) for line in template.splitlines())


def message(event: dict) -> str:
    target, = rule()["Targets"]
    assert target["Arn"] == f"arn:aws:sns:{REGION}:{ACCOUNT}:{STACK}-notifications"
    return render(target["InputTransformer"], event)


def test_a_failed_job_reads_as_a_message_naming_job_queue_reason_and_log_command():
    event = sample("job-failed", QUEUES["gpu"])
    text, detail = message(event), event["detail"]
    assert text.splitlines()[0] == \
        f"Raster Vision job {detail['jobName']} is FAILED ({event['time']})."
    assert f"Reason: {detail['statusReason']}" in text
    assert f"Job {detail['jobId']} in queue {QUEUES['gpu']}" in text
    assert f"rv-batch-cfn logs {detail['jobId']} --region {REGION}" in text
    assert f"#jobs/detail/{detail['jobId']}" in text
    assert "{" not in text  # no raw JSON


def test_a_blocked_queue_reads_as_a_message_with_the_reason_and_what_to_do():
    event = sample("job-queue-blocked", QUEUES["cpu"])
    text, detail = message(event), event["detail"]
    assert text.splitlines()[0].startswith(f"Raster Vision job {detail['jobName']} is RUNNABLE")
    assert f"Reason: {detail['statusReason']}" in text
    assert f"rv-batch-cfn doctor --stack {STACK} --region {REGION}" in text
    assert "{" not in text
