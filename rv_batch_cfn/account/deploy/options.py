"""What `deploy` takes beyond the template and its parameters, as `aws cloudformation deploy`
does (tags, a service role, an S3 bucket for large templates, no rollback, no execution), and
what it returns. change_set.py follows the stack; this module holds the values and their checks.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping, Sequence

from ...config.limits import BUCKET_NAME_PATTERN, REQUIRED_ROLE_ARN_PATTERN
from ...errors import AwsError, ConfigError, Problem, RvBatchError
from ..session import aws_errors

# A TemplateBody holds at most this many bytes; a larger template must come from S3
# (TemplateURL), which takes up to 1 MB: CloudFormation's quotas, and the API reference of
# CreateChangeSet.
TEMPLATE_BODY_LIMIT = 51_200
TEMPLATE_URL_LIMIT = 1_000_000
# The bucket the CloudFormation console creates for the templates a user uploads, one per
# region: cf-templates-<random>-<region>. deploy uses it as the console does when a template is
# too large to send inline and no --s3-bucket is given.
CONSOLE_BUCKET_PREFIX = "cf-templates-"

# What deploy() did.
EXECUTED, UNCHANGED, DECLINED = "executed", "unchanged", "declined"
CHANGE_SET_CREATED = "change-set-created"  # --no-execute-changeset: left for review


@dataclass(frozen=True)
class DeployOptions:
    """How the change set is made and executed, beyond the template and parameters.

    `tags` go on the stack and every resource that takes tags; `role_arn` is the service role
    CloudFormation acts with; with `s3_bucket`, the template is uploaded (under `s3_prefix`)
    and passed as TemplateURL (without it, a template over 51,200 bytes goes to the console's
    own template bucket, see template_source); `disable_rollback`
    keeps the resources of a failed deployment for inspection; `execute` False creates the
    change set and leaves it for review."""

    tags: Mapping[str, str] = field(default_factory=dict)
    role_arn: str = ""
    s3_bucket: str = ""
    s3_prefix: str = ""
    disable_rollback: bool = False
    execute: bool = True

    def problems(self) -> list[Problem]:
        """What CloudFormation or S3 would refuse, found before any call."""
        found = []
        for key, value in self.tags.items():
            if not 1 <= len(key) <= 128 or key.lower().startswith("aws:"):
                found.append(Problem(f"--tags {key}", value, "allowed: a key of 1 to 128 "
                                     "characters, not starting with aws:"))
            if len(value) > 256:
                found.append(Problem(f"--tags {key}", value, "allowed: at most 256 characters"))
        if len(self.tags) > 50:
            found.append(Problem("--tags", len(self.tags), "allowed: at most 50 tags"))
        if self.role_arn and not re.fullmatch(REQUIRED_ROLE_ARN_PATTERN, self.role_arn):
            found.append(Problem("--role-arn", self.role_arn, "allowed: an IAM role ARN, e.g. "
                                 "arn:aws:iam::123456789012:role/cloudformation-deployer"))
        if self.s3_bucket and not re.fullmatch(BUCKET_NAME_PATTERN, self.s3_bucket):
            found.append(Problem("--s3-bucket", self.s3_bucket, "allowed: an S3 bucket name "
                                 "(3-63 lower-case letters, digits, . -), without s3://"))
        if self.s3_prefix and not self.s3_bucket:
            found.append(Problem("--s3-prefix", self.s3_prefix, "allowed: only with --s3-bucket"))
        return found

    def check(self, template_text: str, template_path: Any) -> None:
        """ConfigError listing every problem, the template's size included."""
        found = self.problems()
        size = len(template_text.encode("utf-8"))
        if size > TEMPLATE_URL_LIMIT:
            found.append(Problem("--template", str(template_path),
                                 f"{size} bytes; CloudFormation takes a template of at most "
                                 f"{TEMPLATE_URL_LIMIT} bytes from S3 ({TEMPLATE_BODY_LIMIT} "
                                 "in a request)"))
        if found:
            raise ConfigError(found, "the deploy options")

    def change_set_arguments(self) -> dict[str, Any]:
        """The CreateChangeSet arguments these options add."""
        extra: dict[str, Any] = {}
        if self.tags:
            extra["Tags"] = [{"Key": k, "Value": v} for k, v in self.tags.items()]
        if self.role_arn:
            extra["RoleARN"] = self.role_arn
        return extra

    def execute_arguments(self) -> dict[str, Any]:
        """The ExecuteChangeSet arguments these options add."""
        return {"DisableRollback": True} if self.disable_rollback else {}


def parse_tags(pairs: Sequence[str]) -> dict[str, str]:
    """`KEY=VALUE` strings (from --tags) as a mapping; ConfigError for malformed or repeated
    ones."""
    tags: dict[str, str] = {}
    problems = []
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            problems.append(Problem("--tags", pair, "allowed: KEY=VALUE, e.g. team=geo"))
        elif key.strip() in tags:
            problems.append(Problem(f"--tags {key.strip()}", value, "given twice; allowed: once"))
        else:
            tags[key.strip()] = value
    if problems:
        raise ConfigError(problems)
    return tags


def template_source(session: Any, text: str, options: DeployOptions,
                    say: Callable[[str], None] = lambda line: None) -> dict[str, str]:
    """TemplateBody, or TemplateURL after uploading the template to S3: to `options.s3_bucket`
    when given, else, for a template over TEMPLATE_BODY_LIMIT, to the bucket the CloudFormation
    console keeps for its uploads in this region (created as the console would, when the
    account has none yet), so that a large template deploys as it uploads in the console.
    The object's key is named after its content, so the same template is one object."""
    size = len(text.encode("utf-8"))
    if not options.s3_bucket and size <= TEMPLATE_BODY_LIMIT:
        return {"TemplateBody": text}
    s3 = session.client("s3")
    bucket, prefix = options.s3_bucket, options.s3_prefix
    if not bucket:
        bucket = console_bucket(s3, session.region_name, size, say)
    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]
    key = "/".join(p for p in (prefix.strip("/"), f"{digest}.template") if p)
    with aws_errors(f"upload the template to s3://{bucket}/{key}"):
        s3.put_object(Bucket=bucket, Key=key, Body=text.encode("utf-8"))
    return {"TemplateURL": s3_url(session.region_name, bucket, key)}


def console_bucket(s3: Any, region: str, size: int, say: Callable[[str], None]) -> str:
    """The CloudFormation console's template bucket of `region` (cf-templates-<random>-<region>),
    created with public access blocked when there is none. AwsError naming --s3-bucket when
    the buckets cannot be listed or the bucket cannot be created."""
    import secrets
    import string

    pattern = re.compile(re.escape(CONSOLE_BUCKET_PREFIX) + r"[a-z0-9]+-" + re.escape(region))
    alphabet = string.ascii_lowercase + string.digits
    bucket = (CONSOLE_BUCKET_PREFIX + "".join(secrets.choice(alphabet) for _ in range(12))
              + f"-{region}")
    try:
        with aws_errors("list your S3 buckets to find the CloudFormation console's template "
                        f"bucket of {region}"):
            names = sorted(b["Name"] for b in s3.list_buckets().get("Buckets", []))
        found = [n for n in names if pattern.fullmatch(n)]
        if found:
            return found[0]
        where = {} if region == "us-east-1" else {
            "CreateBucketConfiguration": {"LocationConstraint": region}}
        with aws_errors(f"create S3 bucket {bucket} for the template"):
            s3.create_bucket(Bucket=bucket, **where)
            s3.put_public_access_block(Bucket=bucket, PublicAccessBlockConfiguration={
                "BlockPublicAcls": True, "IgnorePublicAcls": True, "BlockPublicPolicy": True,
                "RestrictPublicBuckets": True})
    except AwsError as e:
        raise AwsError(f"{e}; the template is {size} bytes, over the {TEMPLATE_BODY_LIMIT} "
                       "CloudFormation takes in a request: pass --s3-bucket BUCKET (a bucket "
                       "of yours in the stack's region) to deploy it from there") from None
    say(f"Created S3 bucket {bucket} for templates, as the CloudFormation console does")
    return bucket


def s3_url(region: str, bucket: str, key: str) -> str:
    """The path-style HTTPS URL of an S3 object, with the DNS suffix of the region's partition
    (amazonaws.com.cn in China), as CloudFormation's TemplateURL wants it."""
    import botocore.exceptions
    from botocore.loaders import create_loader
    from botocore.regions import EndpointResolver

    resolver = EndpointResolver(create_loader().load_data("endpoints"))
    try:
        suffix = resolver.get_partition_dns_suffix(resolver.get_partition_for_region(region))
    except botocore.exceptions.UnknownRegionError:
        raise RvBatchError(f"unknown AWS region {region!r}") from None
    return f"https://s3.{region}.{suffix}/{bucket}/{key}"


@dataclass(frozen=True)
class Deployment:
    """What deploy() did: its outcome, the change set, and the stack as it ended."""

    outcome: str
    stack_name: str
    stack_id: str = ""
    change_set_name: str = ""
    change_set_id: str = ""
    changes: tuple[dict, ...] = ()
    status: str = ""
    outputs: Mapping[str, str] = field(default_factory=dict)

    def as_dict(self) -> dict:
        """Plain data for --output json."""
        return {"outcome": self.outcome, "stack": self.stack_name, "stack_id": self.stack_id,
                "change_set": {"name": self.change_set_name, "id": self.change_set_id,
                               "changes": [_change(c) for c in self.changes]}
                if self.change_set_name else None,
                "status": self.status or None, "outputs": dict(self.outputs)}


def _change(change: dict) -> dict:
    r = change.get("ResourceChange", {})
    return {"action": r.get("Action"), "logical_id": r.get("LogicalResourceId"),
            "type": r.get("ResourceType"), "replacement": r.get("Replacement")}
