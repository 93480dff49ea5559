"""Notifications deployed in the emulator the console's way, with and without the e-mail address,
and read back through the SNS, KMS and EventBridge APIs.

moto lacks CloudFormation handlers for the SNS subscription and topic policy and keeps a key
policy from a template as a mapping: tests/moto_like_aws_alerts.py supplies what AWS does.
The queues' time-limit actions are checked in tests/template/test_alerts.py (moto does not
store them).
"""

from __future__ import annotations

import json

from rv_batch_cfn.template import job_queues, notifications
from tests.emulator import Emulator, deploy, make_network, outputs, physical_ids, update
from tests.template.helpers import matches, sample

EMAIL = "team@example.com"


def account_id(emu: Emulator) -> str:
    return emu.client("sts").get_caller_identity()["Account"]


def queue_arns(emu: Emulator, stack: str) -> set[str]:
    ids = physical_ids(emu, stack)
    return {ids[job_queues.queue_id(kind)] for kind in ("gpu", "cpu")}


def stack_rules(emu: Emulator, stack: str) -> dict[str, dict]:
    ids = physical_ids(emu, stack)
    events = emu.client("events")
    return {logical: events.describe_rule(Name=ids[logical]) for logical in notifications.RULES
            if logical in ids}


def everything(emu: Emulator) -> dict[str, list]:
    """The notification resources of the whole account."""
    return {"topics": emu.client("sns").list_topics()["Topics"],
            "subscriptions": emu.client("sns").list_subscriptions()["Subscriptions"],
            "rules": emu.client("events").list_rules()["Rules"],
            "keys": emu.client("kms").list_keys()["Keys"]}


def test_without_an_email_address_nothing_is_created(emulator):
    stack = deploy(emulator, "rv", make_network(emulator))
    assert stack["StackStatus"] == "CREATE_COMPLETE"
    assert everything(emulator) == {"topics": [], "subscriptions": [], "rules": [], "keys": []}
    assert notifications.TOPIC_OUTPUT not in outputs(stack)


def test_with_an_email_address_failures_reach_it_through_an_encrypted_topic(emulator):
    stack = deploy(emulator, "rv", make_network(emulator), NotificationEmail=EMAIL)
    assert stack["StackStatus"] == "CREATE_COMPLETE"
    account, ids = account_id(emulator), physical_ids(emulator, "rv")
    sns, kms = emulator.client("sns"), emulator.client("kms")

    topic_arn = outputs(stack)[notifications.TOPIC_OUTPUT]
    assert [t["TopicArn"] for t in sns.list_topics()["Topics"]] == [topic_arn]
    attributes = sns.get_topic_attributes(TopicArn=topic_arn)["Attributes"]

    # Encrypted with the stack's own key, which rotates, and which EventBridge may use for this
    # topic only. moto keeps a template's KeyPolicy as the mapping where AWS keeps the JSON
    # document (and its DescribeKey then fails); the product never reads the key, so this test
    # reads moto's form rather than patching it.
    key_id = attributes["KmsMasterKeyId"].rsplit("/", 1)[-1]
    assert key_id == ids[notifications.KEY]
    assert key_id in {k["KeyId"] for k in kms.list_keys()["Keys"]}
    assert kms.get_key_rotation_status(KeyId=key_id)["KeyRotationEnabled"] is True
    stored = kms.get_key_policy(KeyId=key_id, PolicyName="default")["Policy"]
    key_policy = json.loads(stored) if isinstance(stored, str) else stored
    for_events = [s for s in key_policy["Statement"]
                  if s["Principal"] == {"Service": ["events.amazonaws.com"]}]
    assert for_events and all(
        s["Condition"] == {"StringEquals": {"kms:EncryptionContext:aws:sns:topicArn": topic_arn}}
        for s in for_events)

    # The address is subscribed and must confirm.
    subscription, = sns.list_subscriptions_by_topic(TopicArn=topic_arn)["Subscriptions"]
    assert (subscription["Protocol"], subscription["Endpoint"]) == ("email", EMAIL)
    assert sns.get_subscription_attributes(SubscriptionArn=subscription["SubscriptionArn"])[
        "Attributes"]["PendingConfirmation"] == "true"

    # One rule, on exactly this stack's queues for both kinds of event, sending to the topic.
    rule, = stack_rules(emulator, "rv").values()
    pattern = json.loads(rule["EventPattern"])
    for branch in pattern["$or"]:
        assert set(branch["detail"]["jobQueue"]) == queue_arns(emulator, "rv")
        assert len(branch["detail"]["jobQueue"]) == 2
    target, = emulator.client("events").list_targets_by_rule(Rule=rule["Name"])["Targets"]
    assert target["Arn"] == topic_arn and "InputTransformer" in target

    # The topic policy admits EventBridge, for this stack's rule, and no one else.
    statement, = json.loads(attributes["Policy"])["Statement"]
    assert statement["Principal"] == {"Service": ["events.amazonaws.com"]}
    assert statement["Action"] == ["sns:Publish"] and statement["Effect"] == "Allow"
    assert statement["Condition"] == {"StringEquals": {"aws:SourceAccount": account},
                                      "ArnEquals": {"aws:SourceArn": rule["Arn"]}}


def test_the_deployed_patterns_match_only_this_stacks_events(emulator):
    net = make_network(emulator)
    deploy(emulator, "rv", net, NotificationEmail=EMAIL)
    deploy(emulator, "other", net, Prefix="other")  # a second stack, without notifications
    rule, = stack_rules(emulator, "rv").values()
    ours, theirs = sorted(queue_arns(emulator, "rv")), sorted(queue_arns(emulator, "other"))

    # moto does not implement TestEventPattern: its own EventBridge matcher reads the pattern.
    def matched(event: str, queue: str) -> bool:
        return matches(json.loads(rule["EventPattern"]), sample(event, queue))

    for queue in ours:
        assert matched("job-failed", queue) and matched("job-queue-blocked", queue)
        assert not matched("job-succeeded", queue)
    for queue in theirs:
        assert not matched("job-failed", queue) and not matched("job-queue-blocked", queue)
    assert len(everything(emulator)["rules"]) == 1  # none for the other stack


def test_an_update_can_turn_notifications_on(emulator):
    net = make_network(emulator)
    deploy(emulator, "rv", net)
    stack = update(emulator, "rv", net, NotificationEmail=EMAIL)
    assert stack["StackStatus"] == "UPDATE_COMPLETE"
    assert notifications.TOPIC_OUTPUT in outputs(stack)
    assert set(stack_rules(emulator, "rv")) == {notifications.RULE}
    found = everything(emulator)
    assert [s["Endpoint"] for s in found["subscriptions"]] == [EMAIL]
