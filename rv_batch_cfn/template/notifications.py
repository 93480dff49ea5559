"""E-mail notifications: a job that FAILED, a queue Batch reports blocked.

Created only when NotificationEmail is set: an SNS topic encrypted with a key of its own, the
e-mail subscription, a topic policy admitting this stack's rule only, and one EventBridge rule
matching both kinds of event from this stack's queues (one rule, not two: the template must
stay under CloudFormation's 51,200 bytes for a template sent inline), which turns the event into
a message a person reads.

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
    AccountId, Equals, GetAtt, If, Not, NoValue, Output, Parameter, Ref, Sub, Template, events,
)
from troposphere import kms as kms_resources
from troposphere import sns as sns_resources

from ..config import StackConfig, limits
from . import compute, job_queues
from . import parameters as p
from .policies import VERSION, service_principal

HAS_EMAIL = "HasNotificationEmail"  # condition

KEY = "NotificationKey"
TOPIC = "NotificationTopic"
SUBSCRIPTION = "NotificationSubscription"
TOPIC_POLICY = "NotificationTopicPolicy"
RULE = "JobAlertRule"
RULES = (RULE,)
TOPIC_OUTPUT = "NotificationTopicArn"  # present only when notifications are on

ACCOUNT_ROOT = Sub("arn:${AWS::Partition}:iam::${AWS::AccountId}:root")
TOPIC_NAME = "${AWS::StackName}-notifications"  # stack names are unique in a region
TOPIC_ARN = Sub(f"arn:${{AWS::Partition}}:sns:${{AWS::Region}}:${{AWS::AccountId}}:{TOPIC_NAME}")

# Batch's event types (Batch user guide, "AWS Batch events": "Job state change events" and
# "Job queue blocked events"); both carry the queue's ARN in detail.jobQueue.
SOURCE = "aws.batch"
JOB_STATE_CHANGE = "Batch Job State Change"
JOB_QUEUE_BLOCKED = "Batch Job Queue Blocked"
# A failed job fails every job of the pipeline that depends on it: one message, for the cause.
DEPENDENCY_FAILED = "Dependent Job failed"

# What the message uses from an event (JSON paths into the documented event shape).
INPUT_PATHS = {
    "jobName": "$.detail.jobName",
    "jobId": "$.detail.jobId",
    "jobQueue": "$.detail.jobQueue",
    "status": "$.detail.status",
    "statusReason": "$.detail.statusReason",
    "region": "$.region",
    "time": "$.time",
}
# A plain-text template of quoted lines, one per line of the message, as in the GuardDuty user
# guide's e-mail example ("Creating custom responses to GuardDuty findings with EventBridge").
# A blocked queue's job is RUNNABLE, a failed one FAILED: the status line tells them apart.
MESSAGE_LINES = (
    "Raster Vision job <jobName> is <status> (<time>).",
    "Reason: <statusReason>",
    "Job <jobId> in queue <jobQueue>",
    "Its log: rv-batch-cfn logs <jobId> --region <region>",
    "RUNNABLE for long: the job blocks its queue; rv-batch-cfn doctor --stack ${AWS::StackName} "
    "--region <region> says why.",
    "https://<region>.console.aws.amazon.com/batch/home?region=<region>#jobs/detail/<jobId>",
)


def input_template(lines: tuple[str, ...] = MESSAGE_LINES) -> Sub:
    """The InputTemplate: each line a quoted string (EventBridge inserts the values as they
    are); ${AWS::StackName} is the stack's name."""
    return Sub("\n".join(json.dumps(line) for line in lines) + "\n")


def add_parameter(t: Template, cfg: StackConfig) -> None:
    """The optional e-mail address."""
    t.add_parameter(Parameter(
        p.NOTIFICATION_EMAIL, Type="String", Default=cfg.notification_email,
        AllowedPattern=limits.EMAIL_PATTERN, MaxLength=254,
        ConstraintDescription="must be empty or an e-mail address such as team@example.com",
        Description="Optional address e-mailed when a job FAILED or blocks its queue (AWS asks "
                    "it to confirm first). Adds a KMS key (about 1 USD a month). Empty: none."))


def add_conditions(t: Template) -> None:
    """Notifications are on when the e-mail address is set."""
    t.add_condition(HAS_EMAIL, Not(Equals(Ref(p.NOTIFICATION_EMAIL), "")))


def queue_arns() -> list:
    """This stack's queues (Ref on a job queue is its ARN): GPU, CPU, and the on-demand GPU
    queue when there is one."""
    return [*(Ref(job_queues.queue_id(kind)) for kind in p.KINDS),
            If(p.HAS_GPU_ON_DEMAND_QUEUE, Ref(job_queues.queue_id(compute.GPU_ON_DEMAND)),
               NoValue)]


def event_pattern() -> dict:
    """A job of this stack's queues that FAILED (not merely because a job it depended on
    failed), or that Batch reports blocking its queue ($or: either alternative)."""
    queues = queue_arns()
    return {"source": [SOURCE], "$or": [
        {"detail-type": [JOB_STATE_CHANGE],
         "detail": {"jobQueue": queues, "status": ["FAILED"],
                    # A reason other than a failed dependency, or none (a list is an OR).
                    "statusReason": [{"anything-but": {"prefix": DEPENDENCY_FAILED}},
                                     {"exists": False}]}},
        {"detail-type": [JOB_QUEUE_BLOCKED], "detail": {"jobQueue": queues}},
    ]}


def key_policy() -> PolicyDocument:
    """The account administers the key (as the default key policy does); EventBridge may use it
    for this stack's topic only."""
    return PolicyDocument(Version=VERSION, Statement=[
        Statement(Sid="Account", Effect=Allow,
                  Principal=Principal("AWS", ACCOUNT_ROOT),
                  Action=[kms.Action("*")], Resource=["*"]),
        Statement(Sid="EventBridgeForTheTopic", Effect=Allow,
                  Principal=service_principal("events"),
                  Action=[kms.Decrypt, kms.Action("GenerateDataKey*")], Resource=["*"],
                  Condition=Condition(StringEquals(
                      "kms:EncryptionContext:aws:sns:topicArn", TOPIC_ARN))),
    ])


def topic_policy() -> PolicyDocument:
    """EventBridge may publish, for this stack's rule only (no one else is admitted; people of
    the account keep what their IAM policies grant)."""
    return PolicyDocument(Version=VERSION, Statement=[
        Statement(Sid="EventBridgeRuleOfThisStack", Effect=Allow,
                  Principal=service_principal("events"), Action=[sns.Publish],
                  Resource=[Ref(TOPIC)],
                  Condition=Condition([
                      StringEquals("aws:SourceAccount", AccountId),
                      ArnEquals("aws:SourceArn", GetAtt(RULE, "Arn")),
                  ])),
    ])


def add_notifications(t: Template) -> None:
    """The key, the topic, the subscription, the rule and the topic policy."""
    # Deleted with the stack (after the pending window): it protects messages in flight only.
    t.add_resource(kms_resources.Key(
        KEY, Condition=HAS_EMAIL, DeletionPolicy="Delete", UpdateReplacePolicy="Delete",
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
    t.add_resource(events.Rule(
        RULE, Condition=HAS_EMAIL, State="ENABLED", EventPattern=event_pattern(),
        Targets=[events.Target(Id="email", Arn=Ref(TOPIC), InputTransformer=events.InputTransformer(
            InputPathsMap=INPUT_PATHS, InputTemplate=input_template()))],
    ))
    t.add_resource(sns_resources.TopicPolicy(
        TOPIC_POLICY, Condition=HAS_EMAIL, Topics=[Ref(TOPIC)], PolicyDocument=topic_policy(),
    ))
    t.add_output(Output(
        TOPIC_OUTPUT, Condition=HAS_EMAIL, Value=Ref(TOPIC),
        Description="SNS topic of the e-mail notifications"))
