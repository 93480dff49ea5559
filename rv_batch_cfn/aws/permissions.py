"""`permissions`: the IAM policy a person needs to deploy, update and tear down the stack
(`deploy`), or only to operate it (`operate`), as an awacs policy document.

Two sources, neither a hand-kept list of what the template creates:

- the **resource types of the built template** (the main template with every optional part, and
  the per-project job-definitions template): for each type, the permissions CloudFormation's
  resource provider states for creating, updating, reading and deleting it (the `handlers` of
  the type's registry schema, which cfn-lint carries);
- the **AWS calls each command makes** (COMMAND_CALLS below), as IAM actions. A test runs the
  commands against the emulator, records every call (botocore's before-call event, as the
  fault-at-every-call test does) and checks each is allowed, so the table cannot fall behind.

Two actions get statements of their own, narrowed by a condition: iam:PassRole (only to the
services the stack's roles are for) and iam:CreateServiceLinkedRole (only Batch's, which a new
account has not got until its first compute environment).
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from typing import Any, Iterable, Mapping, Optional, Sequence

from ..errors import RvBatchError, quote

DEPLOY = "deploy"
OPERATE = "operate"
AUDIENCES = (DEPLOY, OPERATE)

# The calls each command makes, by the IAM action that allows each (service prefix: action).
# Operating commands first; `operate` is these, `deploy` adds the rest and the stack's resources.
_BATCH_READ = ("batch:DescribeJobQueues", "batch:DescribeComputeEnvironments",
               "batch:DescribeJobDefinitions")
_JOB_COSTS = ("batch:ListJobs", "batch:DescribeJobs", "ecs:DescribeContainerInstances",
              "ec2:DescribeSpotPriceHistory", "ec2:DescribeInstanceTypes", "pricing:GetProducts")
_QUOTA_READ = ("servicequotas:GetServiceQuota", "servicequotas:GetAWSDefaultServiceQuota",
               "ec2:DescribeInstanceTypes")
_STACK_READ = ("cloudformation:DescribeStacks", "sts:GetCallerIdentity")

COMMAND_CALLS: dict[str, tuple[str, ...]] = {
    "rv-config": _STACK_READ,
    "doctor": (*_STACK_READ, "cloudformation:GetTemplate", *_BATCH_READ, *_QUOTA_READ,
               "ec2:DescribeLaunchTemplateVersions", "ec2:DescribeImages",
               "ec2:DescribeInstanceTypeOfferings", "ec2:DescribeSubnets",
               "ec2:DescribeAvailabilityZones", "ec2:GetSpotPlacementScores",
               "ecr:DescribeImages", "sns:ListSubscriptionsByTopic",
               "sns:GetSubscriptionAttributes", "budgets:ViewBudget",
               "ce:ListCostAllocationTags"),
    "jobs": (*_STACK_READ, *_BATCH_READ, *_JOB_COSTS),
    "logs": ("batch:DescribeJobs", "batch:DescribeJobDefinitions", "logs:GetLogEvents"),
    "costs": (*_STACK_READ, *_BATCH_READ, *_JOB_COSTS, "ce:GetCostAndUsage",
              "ce:ListCostAllocationTags", "budgets:ViewBudget"),
    # A failed run's jobs submitted again (their definitions, overrides and tags read back).
    "rerun": (*_STACK_READ, *_BATCH_READ, "batch:ListJobs", "batch:DescribeJobs",
              "batch:SubmitJob"),
    # After the budget's hard stop: the environments, then the queues, enabled again.
    "resume": (*_STACK_READ, *_BATCH_READ, "batch:UpdateComputeEnvironment",
               "batch:UpdateJobQueue"),
    "smoke-test": (*_STACK_READ, *_BATCH_READ, *_QUOTA_READ, "batch:SubmitJob",
                   "batch:DescribeJobs", "batch:ListJobs", "batch:TerminateJob",
                   "logs:GetLogEvents"),
    # Raster Vision's runner (batch_retry) submits the pipeline's jobs, after checking each
    # command's size against the instance types of its queue.
    "rastervision run batch_retry": ("batch:SubmitJob", *_BATCH_READ,
                                     "ec2:DescribeInstanceTypes"),
    # Setting the stack up and taking it down.
    "deploy": (*_STACK_READ, "cloudformation:GetTemplate", "cloudformation:CreateChangeSet",
               "cloudformation:DescribeChangeSet", "cloudformation:ExecuteChangeSet",
               "cloudformation:DeleteChangeSet", "cloudformation:DescribeStackEvents",
               "cloudformation:DeleteStack", *_BATCH_READ, *_QUOTA_READ, "ec2:DescribeImages",
               # A template too large to send: uploaded (to --s3-bucket, else to the console's
               # bucket, found or created), then read by CloudFormation as the caller.
               "s3:PutObject", "s3:GetObject", "s3:ListAllMyBuckets", "s3:CreateBucket",
               "s3:PutBucketPublicAccessBlock"),
    "teardown": (*_STACK_READ, "cloudformation:GetTemplate", "cloudformation:ListStacks",
                 "cloudformation:ListStackResources", "cloudformation:ListImports",
                 "cloudformation:DeleteStack", "cloudformation:DescribeStackEvents",
                 "batch:DescribeJobQueues", "batch:ListJobs", "batch:CancelJob",
                 "batch:TerminateJob", "batch:UpdateJobQueue", "ec2:DescribeImages",
                 "ecr:DescribeImages", "logs:DescribeLogGroups"),
    "choose-subnets": ("ec2:DescribeVpcs", "ec2:DescribeSubnets",
                       "ec2:DescribeInstanceTypeOfferings", "ec2:DescribeSpotPriceHistory",
                       "ec2:DescribeAvailabilityZones", "ec2:GetSpotPlacementScores",
                       "sts:GetCallerIdentity", *_QUOTA_READ),
    "request-quota": (*_STACK_READ, *_QUOTA_READ,
                      "servicequotas:ListRequestedServiceQuotaChangeHistoryByQuota",
                      "servicequotas:RequestServiceQuotaIncrease"),
    # docker push makes the ECR layer calls after GetAuthorizationToken.
    "publish-container": (*_STACK_READ, "ecr:DescribeRepositories", "ecr:DescribeImages",
                          "ecr:GetAuthorizationToken", "ecr:BatchCheckLayerAvailability",
                          "ecr:InitiateLayerUpload", "ecr:UploadLayerPart",
                          "ecr:CompleteLayerUpload", "ecr:PutImage", "ecr:BatchGetImage"),
}
OPERATE_COMMANDS = ("rv-config", "doctor", "jobs", "logs", "costs", "smoke-test", "rerun",
                    "rastervision run batch_retry")
# `resume` undoes the budget's hard stop: a decision for whoever owns the stack and its budget,
# so it is with deploying (operating changes no resource of the stack).
DEPLOY_COMMANDS = (*OPERATE_COMMANDS, "deploy", "teardown", "choose-subnets", "request-quota",
                   "publish-container", "resume")
# Commands no policy here covers: the generators reach no AWS service; create-ami,
# validate-ami and find-base-ami run Packer, whose Amazon plugin documents its own policy.
NOT_COVERED = ("template", "job-def-template", "packer-template", "parameters-page", "lint",
               "create-ami", "validate-ami", "find-base-ami")

# The services the stack's roles are passed to: the instance role (through its instance profile)
# to EC2, the job role to ECS tasks, a service role (BatchServiceRoleArn) to Batch.
PASSED_TO = ("batch.amazonaws.com", "ec2.amazonaws.com", "ecs-tasks.amazonaws.com")
BATCH_SERVICE = "batch.amazonaws.com"
# What a resource provider may call for parts the stack never uses, left out of the policy:
# compute environments on EKS (the stack's are EC2), a log group delivering to Firehose, and
# inline policies of users and groups (the stack's AWS::IAM::Policy attach to its roles).
UNUSED_BY_THE_STACK = ("eks:", "firehose:", "iam:putuserpolicy", "iam:getuserpolicy",
                       "iam:deleteuserpolicy", "iam:putgrouppolicy", "iam:getgrouppolicy",
                       "iam:deletegrouppolicy")
# Stated by the statements of their own.
_OWN_STATEMENT = ("iam:passrole", "iam:createservicelinkedrole")
HANDLERS = ("create", "read", "update", "delete")
SCHEMA_REGION = "us-east-1"


@dataclass(frozen=True)
class Policy:
    """The policy of one audience: the awacs document, and why each action is in it."""

    audience: str
    document: Any  # awacs.aws.PolicyDocument
    reasons: Mapping[str, tuple[str, ...]]  # action -> the resource types and commands needing it
    resource_types: tuple[str, ...]
    commands: tuple[str, ...]

    def as_json(self) -> dict:
        """The policy document as plain data (what `aws iam create-policy` takes)."""
        import json

        return json.loads(self.document.to_json())

    @property
    def actions(self) -> list[str]:
        return sorted(self.reasons, key=str.lower)


def template_resource_types(templates: Iterable[Mapping[str, Any]]) -> tuple[str, ...]:
    """The resource types of the templates (as data), each once, sorted."""
    types = {r.get("Type") for t in templates for r in (t.get("Resources") or {}).values()
             if isinstance(r, Mapping)}
    return tuple(sorted(t for t in types if isinstance(t, str)))


def built_templates() -> list[dict]:
    """The main template with every optional part (its resources exist under conditions, so
    every part is in it) and the per-project job-definitions template, as data."""
    from ..template import build_job_definitions_template, build_template

    return [build_template().to_dict(), build_job_definitions_template().to_dict()]


def templates_from_files(paths: Sequence[Any]) -> list[dict]:
    """Templates read from files (YAML or JSON), as data; InputError when one cannot be read,
    RvBatchError when it is no CloudFormation template."""
    from ..inputs import read_template, shown

    found = []
    for path in paths:
        data = read_template(path)[1]
        if not isinstance(data, Mapping) or not isinstance(data.get("Resources"), Mapping):
            raise RvBatchError(f"{shown(path)} is not a CloudFormation template (no Resources "
                               "section)")
        found.append(dict(data))
    return found


def resource_actions(resource_type: str) -> tuple[str, ...]:
    """The actions CloudFormation's resource provider needs to create, read, update and delete
    `resource_type` (its registry schema's handlers), each as `prefix:Action`."""
    from cfnlint.schema import PROVIDER_SCHEMA_MANAGER, ResourceNotFoundError

    try:
        schema = PROVIDER_SCHEMA_MANAGER.get_resource_schema(SCHEMA_REGION, resource_type)
    except ResourceNotFoundError:
        raise RvBatchError(f"the resource type {quote(resource_type)} has no registry schema, "
                           "so its permissions are not known") from None
    handlers = schema.schema.get("handlers") or {}
    found: list[str] = []
    for handler in HANDLERS:
        found += (handlers.get(handler) or {}).get("permissions", [])
    if not found:
        raise RvBatchError(f"the registry schema of {quote(resource_type)} states no permissions")
    return tuple(dict.fromkeys(_normal(a) for a in found))


def build_policy(audience: str, templates: Optional[Sequence[Mapping[str, Any]]] = None
                 ) -> Policy:
    """The policy of `audience` ('deploy' or 'operate'); `templates` (data) default to the built
    ones. A resource type without a registry schema raises RvBatchError."""
    from awacs.aws import Allow, Condition, PolicyDocument, Statement, StringEquals

    if audience not in AUDIENCES:
        raise RvBatchError(f"the audience {quote(audience)} is unknown; allowed: "
                           + ", ".join(AUDIENCES))
    commands = DEPLOY_COMMANDS if audience == DEPLOY else OPERATE_COMMANDS
    reasons: dict[str, list[str]] = {}
    resource_types: tuple[str, ...] = ()
    if audience == DEPLOY:
        resource_types = template_resource_types(
            built_templates() if templates is None else templates)
        for rtype in resource_types:
            for action in resource_actions(rtype):
                reasons.setdefault(action, []).append(rtype)
    for command in commands:
        for action in COMMAND_CALLS[command]:
            reasons.setdefault(_normal(action), []).append(command)
    kept = {a: tuple(dict.fromkeys(r)) for a, r in reasons.items() if _kept(a)}
    plain = sorted((a for a in kept if a.lower() not in _OWN_STATEMENT), key=str.lower)
    statements = [Statement(Sid=_sid(audience), Effect=Allow,
                            Action=[_action(a) for a in plain], Resource=["*"])]
    if audience == DEPLOY:
        kept.setdefault("iam:PassRole", ("the stack's roles",))
        kept.setdefault("iam:CreateServiceLinkedRole", ("AWS::Batch::ComputeEnvironment",))
        statements.append(Statement(
            Sid="PassTheStackRoles", Effect=Allow, Action=[_action("iam:PassRole")],
            Resource=["*"],
            Condition=Condition(StringEquals({"iam:PassedToService": list(PASSED_TO)}))))
        statements.append(Statement(
            Sid="BatchServiceLinkedRole", Effect=Allow,
            Action=[_action("iam:CreateServiceLinkedRole")],
            Resource=[f"arn:aws:iam::*:role/aws-service-role/{BATCH_SERVICE}/*"],
            Condition=Condition(StringEquals({"iam:AWSServiceName": BATCH_SERVICE}))))
    document = PolicyDocument(Version="2012-10-17", Statement=statements)
    return Policy(audience, document, kept, resource_types, tuple(commands))


def _sid(audience: str) -> str:
    return ("CreateUpdateDeleteAndOperateTheStack" if audience == DEPLOY
            else "OperateTheStack")


def _normal(action: str) -> str:
    """An action as awacs spells it (IAM reads actions regardless of case, and schemas write
    `Batch:UnTagResource` for batch:UntagResource); as given, prefix in lower case, when awacs
    does not know it."""
    prefix, _, name = action.partition(":")
    prefix = prefix.lower()
    module = _awacs_module(prefix)
    spelled = _spellings(module).get(name.lower()) if module is not None else None
    return f"{prefix}:{spelled or name}"


def _spellings(module: Any) -> dict[str, str]:
    """The actions of an awacs module, by their names in lower case."""
    return {n.lower(): n for n, v in vars(module).items() if isinstance(v, module.Action)}


def _kept(action: str) -> bool:
    """Whether an action goes into the policy: a real IAM action (awacs knows it: schemas also
    name S3 REST operations, which are not actions) of a part the stack uses."""
    return not action.lower().startswith(UNUSED_BY_THE_STACK) and known_action(action)


def known_action(action: str) -> bool:
    """Whether awacs (generated from AWS's list of actions) has `prefix:Action`."""
    prefix, _, name = action.partition(":")
    module = _awacs_module(prefix)
    return module is not None and name.lower() in _spellings(module)


def _action(action: str) -> Any:
    prefix, _, name = action.partition(":")
    return _awacs_module(prefix).Action(name)


@functools.lru_cache(maxsize=None)
def _awacs_module(prefix: str) -> Any:
    """awacs's module of the IAM service prefix (its modules are named by prefix), None when
    awacs has none."""
    import importlib

    if not re.fullmatch(r"[a-z0-9-]+", prefix):
        return None
    try:
        module = importlib.import_module(f"awacs.{prefix.replace('-', '_')}")
    except ImportError:
        return None
    return module if getattr(module, "prefix", None) == prefix else None
