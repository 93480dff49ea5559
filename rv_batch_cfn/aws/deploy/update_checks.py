"""What a stack update will do to running work, told before the change set: whether it replaces
the instances of a compute environment (an "infrastructure update"), and whether Batch will
refuse it outright (a switch between the service-linked role and a custom service role).

Pure functions of templates (as data, intrinsic functions in their long form) and parameter
values (strings, as CloudFormation reports them): no AWS calls, no printing.
"""

from __future__ import annotations

import re
from typing import Any, Mapping, Optional

from ...template import parameters as params

# ComputeResources properties whose change makes Batch replace the instances (Batch user guide,
# "Perform infrastructure updates"). Minimum, maximum and desired vCPUs only scale.
INFRASTRUCTURE = ("AllocationStrategy", "InstanceTypes", "BidPercentage", "Type", "ImageId",
                  "Ec2Configuration", "LaunchTemplate", "Ec2KeyPair", "UpdateToLatestImageVersion",
                  "Subnets", "SecurityGroupIds", "PlacementGroup", "InstanceRole", "Tags")
# What the launch template's new version carries; a change to it is a change of LaunchTemplate.
LAUNCH_TEMPLATE_DATA = "LaunchTemplate (its data)"
COMPUTE_ENVIRONMENT = "AWS::Batch::ComputeEnvironment"
SERVICE_LINKED_ROLE = re.compile(r"^arn:[^:]+:iam::\d{12}:role/aws-service-role/"
                                 r"batch\.amazonaws\.com/AWSServiceRoleForBatch$")
# Batch API reference, UpdateComputeEnvironment, serviceRole.
SERVICE_ROLE_RULE = ("If the compute environment has a service-linked role, it can't be changed "
                     "to use a regular IAM role. Likewise, if the compute environment has a "
                     "regular IAM role, it can't be changed to use a service-linked role.")


def is_service_linked(role_arn: str) -> bool:
    """Whether BatchServiceRoleArn means the service-linked role: empty (Batch uses it), or its
    own ARN given explicitly."""
    return not role_arn or bool(SERVICE_LINKED_ROLE.match(role_arn))


def service_role_switch(old_values: Mapping[str, str],
                        new_values: Mapping[str, str]) -> Optional[str]:
    """Why Batch will refuse this update of BatchServiceRoleArn, or None when it will not."""
    name = params.BATCH_SERVICE_ROLE_ARN
    if name not in old_values or name not in new_values:
        return None
    old, new = old_values[name], new_values[name]
    if is_service_linked(old) == is_service_linked(new):
        return None

    def said(arn: str) -> str:
        return (f"{arn!r} (the service-linked role)" if is_service_linked(arn)
                else f"{arn!r} (a custom service role)")

    return (f"{name} would change from {said(old)} to {said(new)}, and AWS Batch refuses that "
            f"on an existing compute environment: \"{SERVICE_ROLE_RULE}\" (AWS Batch API "
            "reference, UpdateComputeEnvironment). The update would fail and roll back. Keep "
            f"{name} as it is (leave --param {name} out), or delete the stack and create it "
            "again with the new role (ECR repositories are retained: create the new stack with "
            "GpuRepositoryMode/CpuRepositoryMode existing)")


def update_warnings(old_values: Mapping[str, str], new_values: Mapping[str, str],
                    template: Mapping[str, Any],
                    old_template: Optional[Mapping[str, Any]] = None) -> list[str]:
    """One warning per compute environment whose instances the update replaces, naming what
    changes and how long running jobs get; `old_template` is the stack's current template
    (None: the same as `template`, so only the parameter values differ)."""
    before = infrastructure(old_template if old_template is not None else template, old_values)
    after = infrastructure(template, new_values)
    minutes = new_values.get(params.UPDATE_JOB_TIMEOUT)
    grace = (f"running jobs get {minutes} minutes ({params.UPDATE_JOB_TIMEOUT}) to finish "
             "before their instances go" if minutes else
             "running jobs get the update policy's time (Batch's default: 30 minutes) to finish "
             "before their instances go")
    warnings = []
    for name, properties in after.items():
        if name not in before:
            continue
        changed = [p for p in properties if properties[p] != before[name].get(p)]
        if changed:
            warnings.append(f"this update replaces the instances of {name} (changed: "
                            f"{', '.join(changed)}): {grace}")
    return warnings


def infrastructure(template: Mapping[str, Any], values: Mapping[str, str]) -> dict[str, dict]:
    """Each compute environment's infrastructure-update properties, resolved for `values`."""
    resolver = _Resolver(template, values)
    resources = template.get("Resources") or {}
    found = {}
    for name, resource in resources.items():
        if resource.get("Type") != COMPUTE_ENVIRONMENT or not resolver.exists(resource):
            continue
        compute = (resource.get("Properties") or {}).get("ComputeResources") or {}
        properties = {p: resolver.resolve(compute[p]) for p in INFRASTRUCTURE if p in compute}
        launch = compute.get("LaunchTemplate") or {}
        referenced = launch.get("LaunchTemplateId") or launch.get("LaunchTemplateName")
        if isinstance(referenced, Mapping) and set(referenced) == {"Ref"} \
                and referenced["Ref"] in resources:
            data = (resources[referenced["Ref"]].get("Properties") or {}).get("LaunchTemplateData")
            properties[LAUNCH_TEMPLATE_DATA] = resolver.resolve(data)
        found[name] = properties
    return found


class _Unknown(str):
    """A value only AWS knows (a resource's id or attribute): equal to itself in both
    templates, so it never shows as a change by itself."""


class _Resolver:
    """Ref, Fn::Sub, Fn::Join, Fn::Split, Fn::Select, Fn::If and conditions, for values."""

    _REMOVED = object()

    def __init__(self, template: Mapping[str, Any], values: Mapping[str, str]):
        self.template = template
        declared = template.get("Parameters") or {}
        self.values: dict[str, Any] = {}
        for name, declaration in declared.items():
            value = values.get(name, declaration.get("Default"))
            if value is None:
                continue
            kind = str(declaration.get("Type", "String"))
            if kind == "CommaDelimitedList" or kind.startswith("List<"):
                value = [v.strip() for v in str(value).split(",")] if not isinstance(
                    value, list) else value
            self.values[name] = value if isinstance(value, list) else str(value)
        self.conditions: dict[str, bool] = {}

    def exists(self, resource: Mapping[str, Any]) -> bool:
        condition = resource.get("Condition")
        return condition is None or self.condition(condition)

    def condition(self, name: str) -> bool:
        if name not in self.conditions:
            expression = (self.template.get("Conditions") or {}).get(name)
            self.conditions[name] = bool(self.resolve(expression)) if expression is not None \
                else False
        return self.conditions[name]

    def resolve(self, node: Any) -> Any:
        if isinstance(node, list):
            return [v for v in (self.resolve(n) for n in node) if v is not self._REMOVED]
        if not isinstance(node, Mapping):
            return node
        if len(node) == 1:
            (key, argument), = node.items()
            handler = self._FUNCTIONS.get(key)
            if handler is not None:
                return handler(self, argument)
        resolved = {k: self.resolve(v) for k, v in node.items()}
        return {k: v for k, v in resolved.items() if v is not self._REMOVED}

    def _ref(self, name: str) -> Any:
        if name == "AWS::NoValue":
            return self._REMOVED
        return self.values.get(name, _Unknown(f"<{name}>"))

    def _sub(self, argument: Any) -> str:
        text, names = (argument, {}) if isinstance(argument, str) else argument
        names = {k: self.resolve(v) for k, v in (names or {}).items()}

        def value(match: re.Match) -> str:
            key = match.group(1)
            found = names.get(key, self.values.get(key, f"<{key}>"))
            return ",".join(found) if isinstance(found, list) else str(found)

        return re.sub(r"\$\{(?!!)([^}]+)\}", value, text)

    def _join(self, argument: list) -> str:
        delimiter, items = argument
        resolved = self.resolve(items)
        return delimiter.join(str(i) for i in resolved) if isinstance(resolved, list) \
            else str(resolved)

    def _split(self, argument: list) -> list:
        delimiter, text = argument
        return str(self.resolve(text)).split(delimiter)

    def _select(self, argument: list) -> Any:
        index, items = argument
        resolved = self.resolve(items)
        try:
            return resolved[int(self.resolve(index))]
        except (IndexError, TypeError, ValueError):
            return _Unknown("<Fn::Select>")

    def _if(self, argument: list) -> Any:
        name, if_true, if_false = argument
        return self.resolve(if_true if self.condition(name) else if_false)

    def _get_att(self, argument: Any) -> str:
        parts = argument if isinstance(argument, list) else str(argument).split(".", 1)
        return _Unknown("<" + ".".join(str(p) for p in parts) + ">")

    def _equals(self, argument: list) -> bool:
        first, second = (self.resolve(a) for a in argument)
        return first == second

    _FUNCTIONS = {
        "Ref": _ref, "Fn::Sub": _sub, "Fn::Join": _join, "Fn::Split": _split,
        "Fn::Select": _select, "Fn::If": _if, "Fn::GetAtt": _get_att, "Fn::Equals": _equals,
        "Fn::Not": lambda self, a: not self.resolve(a[0]),
        "Fn::And": lambda self, a: all(self.resolve(x) for x in a),
        "Fn::Or": lambda self, a: any(self.resolve(x) for x in a),
        "Condition": lambda self, a: self.condition(a),
    }
