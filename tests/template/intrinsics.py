"""A small evaluator of a template as CloudFormation would resolve it for given parameter values:
conditions decided, resources whose condition is false left out, and Ref, Fn::Sub, Fn::Join,
Fn::Split, Fn::Select, Fn::If (with AWS::NoValue) and Fn::GetAtt replaced by values.

Scanners read the template as written: checkov sees `Fn::Split` where CloudFormation will put
`arn:*:s3:::*/*`, and passes it. Tests of what a policy really allows need the values, hence this.
Attributes of resources (Fn::GetAtt, Ref on a resource) become `<Logical.Attribute>` placeholders.
"""

from __future__ import annotations

import fnmatch
import re
from typing import Any, Iterator, Mapping

from rv_batch_cfn.config.limits import is_list_type, list_members

PSEUDO = {"AWS::Partition": "aws", "AWS::Region": "us-east-1", "AWS::AccountId": "123456789012",
          "AWS::URLSuffix": "amazonaws.com", "AWS::StackName": "rv",
          "AWS::StackId": "arn:aws:cloudformation:us-east-1:123456789012:stack/rv/x"}
_REMOVED = object()  # AWS::NoValue


def parameter_values(template: Mapping[str, Any], **given: str) -> dict[str, Any]:
    """Defaults overridden by `given` (strings, as the console sends them); lists split."""
    values = {}
    for name, declaration in template.get("Parameters", {}).items():
        raw = given.get(name, declaration.get("Default"))
        if raw is None:
            raw = "vpc-0123456789abcdef0" if "VPC" in str(declaration["Type"]) else \
                "subnet-0123456789abcdef0"
        raw = str(raw)
        values[name] = list_members(raw) if is_list_type(declaration.get("Type")) else raw
    unknown = set(given) - set(values)
    assert not unknown, f"not parameters of the template: {unknown}"
    return values


class Resolver:
    """Resolves expressions of one template for one set of parameter values."""

    def __init__(self, template: Mapping[str, Any], **given: str):
        self.template = template
        self.values = {**PSEUDO, **parameter_values(template, **given)}
        self.conditions: dict[str, bool] = {}
        for name in template.get("Conditions", {}):
            self.condition(name)

    def condition(self, name: str) -> bool:
        if name not in self.conditions:
            self.conditions[name] = bool(self.resolve(self.template["Conditions"][name]))
        return self.conditions[name]

    def resolve(self, expression: Any) -> Any:
        if isinstance(expression, list):
            items = [self.resolve(e) for e in expression]
            return [i for i in items if i is not _REMOVED]
        if not isinstance(expression, Mapping):
            return expression
        if len(expression) == 1:
            (key, argument), = expression.items()
            function = getattr(self, "_" + key.replace("::", "_"), None)
            if key == "Condition" and isinstance(argument, str):
                return self.condition(argument)
            if function is not None:
                return function(argument)
        resolved = {k: self.resolve(v) for k, v in expression.items()}
        return {k: v for k, v in resolved.items() if v is not _REMOVED}

    def _Ref(self, name: str) -> Any:
        if name == "AWS::NoValue":
            return _REMOVED
        if name in self.values:
            return self.values[name]
        assert name in self.template["Resources"], f"Ref to unknown {name}"
        return f"<{name}>"

    def _Fn_GetAtt(self, argument: Any) -> str:
        logical, attribute = argument if isinstance(argument, list) else argument.split(".", 1)
        return f"<{logical}.{attribute}>"

    def _Fn_Sub(self, argument: Any) -> str:
        text, names = (argument, {}) if isinstance(argument, str) else argument
        names = {k: self.resolve(v) for k, v in names.items()}

        def value(match: re.Match) -> str:
            name = match.group(1)
            if name.startswith("!"):
                return "${" + name[1:] + "}"
            if name in names:
                return str(names[name])
            if name in self.values:
                found = self.values[name]
                assert not isinstance(found, list), f"${{{name}}} is a list"
                return str(found)
            return f"<{name}>"  # a resource or one of its attributes

        return re.sub(r"\$\{([^}]+)\}", value, text)

    def _Fn_Join(self, argument: list) -> str:
        delimiter, items = argument
        return delimiter.join(str(i) for i in self.resolve(items))

    def _Fn_Split(self, argument: list) -> list[str]:
        delimiter, text = argument
        return str(self.resolve(text)).split(delimiter)

    def _Fn_Select(self, argument: list) -> Any:
        index, items = argument
        return self.resolve(items)[int(self.resolve(index))]

    def _Fn_If(self, argument: list) -> Any:
        name, if_true, if_false = argument
        return self.resolve(if_true if self.condition(name) else if_false)

    def _Fn_Equals(self, argument: list) -> bool:
        first, second = (self.resolve(a) for a in argument)
        return first == second

    def _Fn_Not(self, argument: list) -> bool:
        return not self.resolve(argument[0])

    def _Fn_And(self, argument: list) -> bool:
        return all(self.resolve(a) for a in argument)

    def _Fn_Or(self, argument: list) -> bool:
        return any(self.resolve(a) for a in argument)

    def resources(self) -> dict[str, dict]:
        """The resources CloudFormation would create, their properties resolved."""
        created = {}
        for name, resource in self.template["Resources"].items():
            if "Condition" in resource and not self.condition(resource["Condition"]):
                continue
            created[name] = {**resource,
                             "Properties": self.resolve(resource.get("Properties", {}))}
        return created


# ----------------------------------------------------------------------------------------------
# What the IAM policies of a resolved template allow


def _as_list(value: Any) -> list:
    return value if isinstance(value, list) else [value]


def iam_statements(resources: Mapping[str, dict]) -> Iterator[tuple[str, dict]]:
    """(resource name, statement) for every statement of every inline or standalone policy."""
    for name, resource in resources.items():
        properties = resource["Properties"]
        documents = []
        if resource["Type"] == "AWS::IAM::Role":
            documents = [p["PolicyDocument"] for p in properties.get("Policies", [])]
        elif resource["Type"] in ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy",
                                  "AWS::IAM::RolePolicy"):
            documents = [properties["PolicyDocument"]]
        for document in documents:
            for statement in _as_list(document["Statement"]):
                yield name, statement


# Actions that write, delete or change in S3; an action pattern matching any of them writes.
S3_WRITE_ACTIONS = ("s3:PutObject", "s3:DeleteObject", "s3:DeleteObjectVersion",
                    "s3:AbortMultipartUpload", "s3:PutObjectAcl", "s3:PutBucketPolicy",
                    "s3:DeleteBucket", "s3:CreateBucket", "s3:RestoreObject",
                    "s3:ReplicateObject", "s3:PutLifecycleConfiguration")
S3_WRITE_VERBS = re.compile(r"^s3:(Put|Delete|Abort|Create|Restore|Replicate|Update|Bypass)",
                            re.IGNORECASE)


def writes_s3(action: str) -> bool:
    """Whether an action (or an action pattern such as s3:* or *) allows writing to S3."""
    return bool(S3_WRITE_VERBS.match(action)) or any(
        fnmatch.fnmatchcase(known.lower(), action.lower()) for known in S3_WRITE_ACTIONS)


def bucket_of(resource: str) -> str | None:
    """The bucket part of an S3 ARN (`*` for a bare `*`); None for other ARNs."""
    if resource == "*":
        return "*"
    match = re.match(r"^arn:[^:]*:s3:::([^/]*)", resource)
    return match.group(1) if match else None


def wildcard_bucket_writes(resources: Mapping[str, dict]) -> list[str]:
    """Every (policy, action, resource) allowing an S3 write on a bucket named with a wildcard."""
    found = []
    for name, statement in iam_statements(resources):
        if statement.get("Effect") != "Allow":
            continue
        actions = [a for a in _as_list(statement.get("Action", [])) if writes_s3(a)]
        for action in actions:
            for resource in _as_list(statement.get("Resource", [])):
                bucket = bucket_of(resource)
                if bucket is not None and any(c in bucket for c in "*?"):
                    found.append(f"{name}: {action} on {resource}")
    return found


def s3_write_grants(resources: Mapping[str, dict]) -> list[tuple[str, str]]:
    """(action, resource) of every S3 write allowed, wildcard or not."""
    return [(a, r) for _, s in iam_statements(resources) if s.get("Effect") == "Allow"
            for a in _as_list(s.get("Action", [])) if writes_s3(a)
            for r in _as_list(s.get("Resource", []))]
