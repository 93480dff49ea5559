"""E-mail notifications: a job that FAILED, a queue Batch reports blocked.

Created only when NotificationEmail is set: an SNS topic encrypted with a key of its own, the
e-mail subscription, a topic policy admitting this account's two rules only, and two EventBridge
rules matching this stack's two queues, each turning the event into a message a person reads.

Why a customer managed key and not alias/aws/sns: EventBridge publishes to an encrypted topic
only when the key policy lets events.amazonaws.com use the key, and the AWS managed key's policy
cannot be changed (EventBridge user guide, "Amazon SNS permissions"; SNS developer guide,
encryption at rest). The key serves this topic alone: EventBridge may use it only with the
encryption context SNS gives it for this topic (kms:EncryptionContext:aws:sns:topicArn), so the
topic has a fixed name, from which its ARN is known before it exists (the key comes first).
A customer managed key costs about 1 USD a month, which is why it exists only with the e-mail.
"""

from __future__ import annotations

import json

from awacs import kms, sns
from awacs.aws import (
    Allow, ArnEquals, Condition, PolicyDocument, Principal, Statement, StringEquals,
)
from troposphere import (
    AccountId, Equals, GetAtt, Not, Output, Parameter, Ref, Sub, Template, events,
)
from troposphere import kms as kms_resources
from troposphere import sns as sns_resources

from .. import config as c
from ..config import StackConfig
from . import jobs
from . import parameters as p
from .policies import VERSION, service_principal

HAS_EMAIL = "HasNotificationEmail"  # condition

KEY = "NotificationKey"
TOPIC = "NotificationTopic"
SUBSCRIPTION = "NotificationSubscription"
TOPIC_POLICY = "NotificationTopicPolicy"
JOB_FAILED_RULE = "JobFailedRule"
QUEUE_BLOCKED_RULE = "QueueBlockedRule"
RULES = (JOB_FAILED_RULE, QUEUE_BLOCKED_RULE)
TOPIC_OUTPUT = "NotificationTopicArn"  # present only when notifications are on

TOPIC_NAME = "${AWS::StackName}-notifications"  # stack names are unique in a region
TOPIC_ARN = Sub(f"arn:${{AWS::Partition}}:sns:${{AWS::Region}}:${{AWS::AccountId}}:{TOPIC_NAME}")

# Batch's event types (Batch user guide, "AWS Batch events": "Job state change events" and
# "Job queue blocked events"); both carry the queue's ARN in detail.jobQueue.
SOURCE = "aws.batch"
JOB_STATE_CHANGE = "Batch Job State Change"
JOB_QUEUE_BLOCKED = "Batch Job Queue Blocked"
# A failed job fails every job of the pipeline that depends on it: one message, for the cause.
DEPENDENCY_FAILED = "Dependent Job failed"

# What the messages use from an event (JSON paths into the documented event shape).
INPUT_PATHS = {
    "jobName": "$.detail.jobName",
    "jobId": "$.detail.jobId",
    "jobQueue": "$.detail.jobQueue",
    "status": "$.detail.status",
    "statusReason": "$.detail.statusReason",
    "region": "$.region",
    "time": "$.time",
}
CONSOLE_LINK = ("https://<region>.console.aws.amazon.com/batch/home?region=<region>"
                "#jobs/detail/<jobId>")
# A plain-text template of quoted lines, one per line of the message, as in the GuardDuty user
# guide's e-mail example ("Creating custom responses to GuardDuty findings with EventBridge").
JOB_FAILED_LINES = (
    "Raster Vision job <jobName> FAILED at <time>.",
    "Reason: <statusReason>",
    "Job id: <jobId>",
    "Queue: <jobQueue>",
    "Read its log: rv-batch-cfn logs <jobId> --region <region>",
    f"Console: {CONSOLE_LINK}",
)
QUEUE_BLOCKED_LINES = (
    "Raster Vision job <jobName> is stuck in RUNNABLE and blocks its queue (<time>).",
    "Reason: <statusReason>",
    "Job id: <jobId>",
    "Queue: <jobQueue>",
    "A reason starting with MISCONFIGURATION does not fix itself: the job asks for more than "
    "the queue's instance types or MaximumVCPUs offer. CAPACITY means no instance can be had "
    "in the subnets' zones right now.",
    "Find the cause: rv-batch-cfn doctor --stack ${AWS::StackName} --region <region>",
    f"Console: {CONSOLE_LINK}",
)


def input_template(lines: tuple[str, ...]) -> str | Sub:
    """The InputTemplate: each line a quoted string (EventBridge inserts the values as they
    are); ${AWS::StackName}, where a line has it, is the stack's name."""
    text = "\n".join(json.dumps(line) for line in lines) + "\n"
    return Sub(text) if "${" in text else text


def add_parameter(t: Template, cfg: StackConfig) -> None:
    """The optional e-mail address."""
    t.add_parameter(Parameter(
        p.NOTIFICATION_EMAIL, Type="String", Default=cfg.notification_email,
        AllowedPattern=c.EMAIL_PATTERN, MaxLength=254,
        ConstraintDescription="must be empty or an e-mail address such as team@example.com",
        Description="Optional e-mail address told of every job that FAILED and every queue "
                    "Batch reports blocked by a stuck job; AWS asks it to confirm first. Adds an "
                    "encrypted SNS topic and its KMS key (about 1 USD a month). Empty: no "
                    "notifications."))


def add_conditions(t: Template) -> None:
    """Notifications are on when the e-mail address is set."""
    t.add_condition(HAS_EMAIL, Not(Equals(Ref(p.NOTIFICATION_EMAIL), "")))


def queue_arns() -> list[Ref]:
    """This stack's two queues (Ref on a job queue is its ARN)."""
    return [Ref(jobs.queue_id(kind)) for kind in p.KINDS]


def event_pattern(detail_type: str) -> dict:
    """Batch events of one type from this stack's queues only."""
    detail: dict = {"jobQueue": queue_arns()}
    if detail_type == JOB_STATE_CHANGE:
        detail["status"] = ["FAILED"]
        # Either condition (a list is an OR): a reason other than a failed dependency, or none.
        detail["statusReason"] = [{"anything-but": {"prefix": DEPENDENCY_FAILED}},
                                  {"exists": False}]
    return {"source": [SOURCE], "detail-type": [detail_type], "detail": detail}


def key_policy() -> PolicyDocument:
    """The account administers the key (as the default key policy does); EventBridge may use it
    for this stack's topic only."""
    return PolicyDocument(Version=VERSION, Statement=[
        Statement(Sid="AccountAdministersTheKey", Effect=Allow,
                  Principal=Principal("AWS", [Sub("arn:${AWS::Partition}:iam::${AWS::AccountId}:root")]),
                  Action=[kms.Action("*")], Resource=["*"]),
        Statement(Sid="EventBridgeEncryptsForTheTopic", Effect=Allow,
                  Principal=service_principal("events"),
                  Action=[kms.Decrypt, kms.Action("GenerateDataKey*")], Resource=["*"],
                  Condition=Condition(StringEquals(
                      "kms:EncryptionContext:aws:sns:topicArn", TOPIC_ARN))),
    ])


def topic_policy() -> PolicyDocument:
    """EventBridge may publish, for this account's two rules only (no one else is admitted;
    people of the account keep what their IAM policies grant)."""
    return PolicyDocument(Version=VERSION, Statement=[
        Statement(Sid="EventBridgeRulesOfThisStack", Effect=Allow,
                  Principal=service_principal("events"), Action=[sns.Publish],
                  Resource=[Ref(TOPIC)],
                  Condition=Condition([
                      StringEquals("aws:SourceAccount", AccountId),
                      ArnEquals("aws:SourceArn", [GetAtt(rule, "Arn") for rule in RULES]),
                  ])),
    ])


def _rule(t: Template, logical_id: str, description: str, detail_type: str,
          lines: tuple[str, ...]) -> events.Rule:
    return t.add_resource(events.Rule(
        logical_id,
        Condition=HAS_EMAIL,
        Description=description,
        State="ENABLED",
        EventPattern=event_pattern(detail_type),
        Targets=[events.Target(
            Id="email", Arn=Ref(TOPIC),
            InputTransformer=events.InputTransformer(
                InputPathsMap={k: v for k, v in INPUT_PATHS.items()
                               if f"<{k}>" in "".join(lines)},
                InputTemplate=input_template(lines)),
        )],
    ))


def add_notifications(t: Template) -> None:
    """The key, the topic, the subscription, the rules and the topic policy."""
    # Deleted with the stack (after the pending window): it protects messages in flight only.
    t.add_resource(kms_resources.Key(
        KEY, Condition=HAS_EMAIL, DeletionPolicy="Delete", UpdateReplacePolicy="Delete",
        Description=Sub("Encrypts the notification topic of stack ${AWS::StackName}"),
        EnableKeyRotation=True,
        PendingWindowInDays=7,
        KeyPolicy=key_policy(),
    ))
    t.add_resource(sns_resources.Topic(
        TOPIC, Condition=HAS_EMAIL,
        TopicName=Sub(TOPIC_NAME),
        DisplayName="Raster Vision Batch",
        KmsMasterKeyId=GetAtt(KEY, "Arn"),
    ))
    t.add_resource(sns_resources.SubscriptionResource(
        SUBSCRIPTION, Condition=HAS_EMAIL,
        TopicArn=Ref(TOPIC), Protocol="email", Endpoint=Ref(p.NOTIFICATION_EMAIL),
    ))
    _rule(t, JOB_FAILED_RULE, "A Raster Vision job of this stack FAILED: e-mail the reason",
          JOB_STATE_CHANGE, JOB_FAILED_LINES)
    _rule(t, QUEUE_BLOCKED_RULE, "A job stuck in RUNNABLE blocks a queue of this stack: e-mail "
          "the reason", JOB_QUEUE_BLOCKED, QUEUE_BLOCKED_LINES)
    t.add_resource(sns_resources.TopicPolicy(
        TOPIC_POLICY, Condition=HAS_EMAIL, Topics=[Ref(TOPIC)], PolicyDocument=topic_policy(),
    ))
    t.add_output(Output(
        TOPIC_OUTPUT, Condition=HAS_EMAIL, Value=Ref(TOPIC),
        Description="SNS topic of the e-mail notifications (failed jobs, blocked queues)"))
