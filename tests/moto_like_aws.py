"""Where moto falls short of AWS, compensated in the test fixture (never in the product).

The moto server runs in the test process (ThreadedMotoServer), so the fixture can make it behave
as CloudFormation and Batch do, and the product talks to it exactly as it talks to AWS. Every
patch says what AWS does that moto does not, and where AWS documents it. They reach into moto's
internals, which is why setup.cfg pins moto to one minor series; a moto upgrade must rerun the
emulator tests.

Each patch has canaries in tests/test_moto_like_aws.py: they run an unpatched moto server and
fail once moto behaves like AWS on its own, naming the patch (or the part of it) to remove. A new
patch needs a canary there (a test checks that every _patch_* function applied here has one).
"""

from __future__ import annotations

from typing import Any, Optional

_PATCHED = False


def make_moto_like_aws() -> None:
    """Patch the in-process moto so that parameters, change sets and updates, stack events,
    Batch updates and deletions, YAML short-form tags over a mapping, image root volumes and
    spot price history behave as in AWS, and what
    tests/moto_like_aws_alerts.py and tests/moto_like_aws_quotas.py patch (idempotent)."""
    global _PATCHED
    if _PATCHED:
        return
    _PATCHED = True
    _patch_parameters()
    _patch_change_sets()
    _patch_resource_events()
    _patch_batch()
    _patch_yaml()
    _patch_images()
    _patch_imports()
    _patch_spot_prices()
    # Queue time limits, notifications and jobs without Docker: tests/moto_like_aws_alerts.py.
    from tests import moto_like_aws_alerts
    moto_like_aws_alerts.patch()
    # EC2's vCPU quotas (Service Quotas) and spot placement scores: tests/moto_like_aws_quotas.py.
    from tests import moto_like_aws_quotas
    moto_like_aws_quotas.patch()
    # AWS::Budgets::Budget, which moto's CloudFormation lacks: tests/moto_like_aws_budgets.py.
    from tests import moto_like_aws_budgets
    moto_like_aws_budgets.patch()


def _as_console_string(value: Any) -> str:
    """A resolved parameter value as CloudFormation reports it: lists joined with commas."""
    if isinstance(value, (list, tuple)):
        return ",".join(str(v) for v in value)
    return "" if value is None else str(value)


def _patch_parameters() -> None:
    """List parameters as in CloudFormation (User Guide, "Parameters": a CommaDelimitedList or
    List<...> value, given or default, is a comma-separated string that CloudFormation splits;
    API Reference, "Parameter": DescribeStacks reports ParameterValue as that string, and
    UsePreviousValue reuses the value the stack is using)."""
    from moto.cloudformation.models import Stack
    from moto.cloudformation.parsing import ResourceMap

    from rv_batch_cfn.config.limits import is_list_type

    # AWS reports list parameters as "a,b" and hands the same string back for UsePreviousValue;
    # moto reports Python reprs ("['a', 'b']") and passes the split list back, which its own
    # parameter loader then fails to split again.
    def parameter_list(self: Any) -> list[dict[str, str]]:
        return [{"ParameterKey": k,
                 "ParameterValue": "****" if k in self.resource_map.no_echo_parameter_keys
                 else _as_console_string(v)}
                for k, v in self.resource_map.resolved_parameters.items()]

    def stack_parameters(self: Any) -> dict[str, str]:
        return {k: _as_console_string(v) for k, v in self.resource_map.resolved_parameters.items()}

    # AWS splits the default of a list parameter as it splits a given value; moto passes the
    # default on as one string ("a,b"), so a stack relying on it gets the wrong list.
    original_load = ResourceMap.load_parameters

    def load_parameters(self: Any) -> None:
        original_load(self)
        for name, declaration in self._template.get("Parameters", {}).items():
            kind = declaration.get("Type", "String")
            value = self.resolved_parameters.get(name)
            if (is_list_type(kind) and name not in self.input_parameters and isinstance(value, str)):
                self.resolved_parameters[name] = value.split(",")
                self._parsed_resources[name] = self.resolved_parameters[name]

    ResourceMap.load_parameters = load_parameters
    Stack.parameter_list = property(parameter_list)
    Stack.stack_parameters = property(stack_parameters)


def _patch_change_sets() -> None:
    """Change sets and updates as in CloudFormation (User Guide, "Update CloudFormation stacks
    using change sets" and "Conditions"; API Reference, ExecuteChangeSet):

    - an update (UpdateStack or ExecuteChangeSet) updates every resource whose resolved
      properties change: through the template, a parameter, a condition, or an attribute of
      another modified resource (ChangeSource DirectModification, ParameterReference,
      ResourceAttribute);
    - ExecuteChangeSet only starts the operation: the stack gets the change set's template,
      parameters and outputs; a failing resource rolls the stack back (ROLLBACK_COMPLETE,
      UPDATE_ROLLBACK_COMPLETE) instead of failing the call; CloudFormation then deletes the
      stack's other change sets.

    The list of changes a change set describes stays moto's (every resource of the template,
    conditions aside; for an update, those whose text or raw parameter changed): deploy only
    shows that list, and tests/aws/test_deploy_plan.py answers DescribeChangeSet from a script
    to test what it shows. A change set without changes needs no patch for deploy: moto, as AWS,
    creates it FAILED with the reason "The submitted information didn't contain changes...", as
    deploy sends every parameter and the template by TemplateURL (tests/aws/test_deploy.py).
    (Given a TemplateBody, moto refuses the call instead; nothing sends it one.)
    """
    from moto.cloudformation import models, parsing

    models.CloudFormationBackend.execute_change_set = _execute_change_set

    def build_resource_diff(self: Any, other_template: dict, parameters: Any = None) -> dict:
        diff = original_diff(self, other_template, parameters)
        planned = _resource_map(self, other_template, parameters or self.input_parameters)
        diff["Modify"] = _modified(self, planned)
        return diff

    original_diff = parsing.ResourceMap.build_resource_diff
    parsing.ResourceMap.build_resource_diff = build_resource_diff


def _resource_map(current: Any, template: dict, parameters: dict) -> Any:
    """A loaded resource map of `template` and `parameters`, beside the stack of `current`."""
    from moto.cloudformation.models import cloudformation_backends
    from moto.cloudformation.parsing import ResourceMap

    backend = cloudformation_backends[current._account_id][current._region_name]
    planned = ResourceMap(current.stack_id, current["AWS::StackName"], parameters, {},
                          region_name=current._region_name, account_id=current._account_id,
                          template=template, cross_stack_resources=backend.exports)
    planned.load()
    return planned


def _existing_resources(template: dict, resource_map: Any) -> dict:
    """The template's resources whose condition holds: AWS plans, creates and lists only
    those; moto lists every resource of the template."""
    return {name: resource for name, resource in template.get("Resources", {}).items()
            if not resource.get("Condition")
            or resource_map.lazy_condition_map[resource["Condition"]]}


def _conditions(node: Any) -> set[str]:
    """The conditions a resource depends on: its Condition and the first argument of Fn::If."""
    if isinstance(node, list):
        return set().union(*(_conditions(n) for n in node)) if node else set()
    if not isinstance(node, dict):
        return set()
    found = {node["Condition"]} if isinstance(node.get("Condition"), str) else set()
    if isinstance(node.get("Fn::If"), list):
        found.add(node["Fn::If"][0])
    return found | set().union(*(_conditions(v) for v in node.values()))


def _modified(current: Any, planned: Any) -> list[str]:
    """The resources an update modifies, in update order. moto counts only those whose text
    changed or that Ref a parameter given a different raw value; AWS compares resolved values,
    so it also counts resources using a condition whose value changed, and those reading an
    attribute of a modified resource."""
    old_template = current._template or {}
    old = _existing_resources(old_template, current)
    new = _existing_resources(planned._template, planned)
    before = {k: _as_console_string(v) for k, v in current.resolved_parameters.items()}
    after = {k: _as_console_string(v) for k, v in planned.resolved_parameters.items()}
    changed = {k for k in set(before) | set(after) if before.get(k) != after.get(k)}
    conditions = {c for c in planned._template.get("Conditions", {})
                  if c in old_template.get("Conditions", {})
                  and current.lazy_condition_map[c] != planned.lazy_condition_map[c]}
    direct = [name for name, resource in new.items() if name in old and (
        resource != old[name] or changed & _references(resource)
        or conditions & _conditions(resource))]
    return _with_dependents({n: r for n, r in new.items() if n in old}, direct)


def _references(node: Any, attributes_only: bool = False) -> set[str]:
    """Every name a template fragment refers to with Ref, Fn::GetAtt or Fn::Sub (only those
    whose attributes it reads, with `attributes_only`)."""
    import re

    if isinstance(node, list):
        return set().union(*(_references(n, attributes_only) for n in node)) if node else set()
    if not isinstance(node, dict):
        return set()
    found: set[str] = set()
    for key, value in node.items():
        if key == "Ref" and isinstance(value, str):
            found |= set() if attributes_only else {value}
        elif key == "Fn::GetAtt":
            found.add(value.split(".")[0] if isinstance(value, str) else value[0])
        elif key == "Fn::Sub":
            text = value if isinstance(value, str) else value[0]
            names = re.findall(r"\$\{([^!}][^}]*)\}", text)
            found |= {n.split(".")[0] for n in names if "." in n or not attributes_only}
            found |= _references(value[1:] if isinstance(value, list) else [], attributes_only)
        else:
            found |= _references(value, attributes_only)
    return found


def _with_dependents(resources: dict, modified: list[str]) -> list[str]:
    """`modified` and, after them, every resource reading an attribute of one of them
    (transitively): in AWS a new attribute value (a launch template's LatestVersionNumber)
    updates its readers too; a Ref (the physical id) stays the same on an in-place update."""
    result = list(modified)
    grew = True
    while grew:
        grew = False
        for name, resource in resources.items():
            if name not in result and _references(resource, True) & set(result):
                result.append(name)
                grew = True
    return result


def _register_exports(backend: Any, stack: Any) -> None:
    for name in [n for n, e in backend.exports.items()
                 if e.exporting_stack_id == stack.stack_id]:
        del backend.exports[name]
    backend._validate_export_uniqueness(stack)
    for export in stack.exports:
        backend.exports[export.name] = export


def _execute_change_set(self: Any, change_set_name: str, stack_name: Optional[str] = None) -> None:
    """AWS's ExecuteChangeSet: the stack gets the change set's template, parameters, outputs and
    exports (moto keeps the empty template of a CREATE change set, so no outputs), each resource
    reports its own events, and a failure rolls the stack back with the failing resource's reason
    instead of failing the API call."""
    from moto.cloudformation.exceptions import ValidationError
    from moto.cloudformation.models import Stack

    change_set = self.change_sets.get(change_set_name) or next(
        (c for c in self.change_sets.values() if c.change_set_name == change_set_name
         and (stack_name is None or c.stack_name == stack_name)), None)
    if change_set is None:
        raise ValidationError(stack_name or change_set_name)
    if change_set.execution_status != "AVAILABLE":
        raise ValidationError(message=f"ChangeSet [{change_set.change_set_id}] cannot be executed "
                                      f"in its current execution status of "
                                      f"[{change_set.execution_status}]")
    old = self.stacks[change_set.stack_id]
    change_set.execution_status = "EXECUTE_IN_PROGRESS"
    if change_set.change_set_type == "CREATE":
        old._add_stack_event("CREATE_IN_PROGRESS", resource_status_reason="User Initiated")
        old.status = "CREATE_IN_PROGRESS"
        try:
            stack = Stack(stack_id=old.stack_id, name=old.name, template=change_set.template,
                          parameters=change_set.parameters, account_id=self.account_id,
                          region_name=self.region_name, notification_arns=old.notification_arns,
                          tags=change_set.tags, role_arn=change_set.role_arn,
                          cross_stack_resources=self.exports)
        except Exception as e:  # noqa: BLE001 - any moto error is a failed deployment
            _roll_back_create(old, None, e)
            change_set.execution_status = "EXECUTE_FAILED"
            return
        stack.events = old.events
        stack.status = "CREATE_IN_PROGRESS"
        self.stacks[stack.stack_id] = stack
        change_set.stack = stack
        try:
            stack.resource_map.create(stack.template_dict)
            _register_exports(self, stack)
        except Exception as e:  # noqa: BLE001
            _roll_back_create(stack, stack.resource_map, e)
            change_set.execution_status = "EXECUTE_FAILED"
            return
        stack.mark_creation_complete()
    else:
        saved = (old.template, old.template_dict, old.parameters, old.output_map)
        resources = old.resource_map
        saved_map = (resources._template, resources._resource_json_map,
                     resources.input_parameters, dict(resources.resolved_parameters))
        # moto decides what an update touches by comparing the new values with the raw request
        # that last created or updated the stack, so every value a request left to its default
        # or previous value looks changed; AWS compares the values themselves.
        old.resource_map.input_parameters = dict(old.stack_parameters)
        try:
            old.update(change_set.template, role_arn=change_set.role_arn,
                       parameters=change_set.parameters, tags=change_set.tags or None)
            _register_exports(self, old)
        except Exception as e:  # noqa: BLE001
            # AWS restores the previous resources too; the emulator only restores the stack's
            # template, parameters and outputs, which is what the tests read afterwards.
            old.template, old.template_dict, old.parameters, old.output_map = saved
            (resources._template, resources._resource_json_map, resources.input_parameters,
             resources.resolved_parameters) = saved_map
            resources._parsed_resources.update(resources.resolved_parameters)
            resources.load_conditions()
            old._add_stack_event("UPDATE_ROLLBACK_IN_PROGRESS", resource_status_reason=(
                f"The following resource(s) failed to update: [{_failed_resource(e)}]."))
            old._add_stack_event("UPDATE_ROLLBACK_COMPLETE")
            old.status = "UPDATE_ROLLBACK_COMPLETE"
            change_set.execution_status = "EXECUTE_FAILED"
            return
    change_set.execution_status = "EXECUTE_COMPLETE"
    # AWS deletes a stack's change sets once one of them is executed.
    for change_set_id in [i for i, c in self.change_sets.items()
                          if c.stack_id == change_set.stack_id]:
        del self.change_sets[change_set_id]


def _failed_resource(error: BaseException) -> str:
    return getattr(error, "rv_logical_id", "unknown")


def _roll_back_create(stack: Any, resource_map: Any, error: BaseException) -> None:
    from moto.cloudformation.parsing import OutputMap

    stack._add_stack_event("ROLLBACK_IN_PROGRESS", resource_status_reason=(
        f"The following resource(s) failed to create: [{_failed_resource(error)}]. "
        "Rollback requested by user."))
    if resource_map is not None:
        try:
            resource_map.delete()
        except Exception:  # noqa: BLE001 - best effort, as the emulator's rollback is
            pass
    stack._add_stack_event("ROLLBACK_COMPLETE")
    stack.status = "ROLLBACK_COMPLETE"
    # A rolled-back stack has no outputs in AWS; moto would evaluate them lazily and so recreate
    # the deleted resources they refer to.
    stack.output_map = OutputMap(stack.resource_map, {}, stack.stack_id)


def _error_message(error: BaseException) -> str:
    return str(getattr(error, "message", None) or error)


def _patch_resource_events() -> None:
    """AWS reports every resource's progress and failure as stack events (API Reference,
    DescribeStackEvents and StackEvent; User Guide, "Monitor stack progress"); moto reports
    only the stack's own. (moto retries a failed resource a few times where AWS tries once, so
    its events may repeat; deploy names the first failure either way.) Wrap moto's resource creation and update to add them. Also, as the
    User Guide's "Conditions" says, a resource whose condition is false is neither created nor
    updated; moto tries to update it and fails."""
    from moto.cloudformation import parsing
    from moto.cloudformation.models import Event, cloudformation_backends

    def add_event(resources_map: Any, logical_id: str, resource_type: str, status: str,
                  physical_id: str = "", reason: Optional[str] = None) -> None:
        backend = cloudformation_backends[resources_map._account_id][resources_map._region_name]
        stack = backend.stacks.get(resources_map.stack_id)
        if stack is None:
            return
        stack.events.append(Event(
            stack_id=stack.stack_id, stack_name=stack.name, logical_resource_id=logical_id,
            physical_resource_id=physical_id, resource_type=resource_type,
            resource_status=status, resource_status_reason=reason, resource_properties=None))

    def wrap(original: Any, action: str) -> Any:
        def wrapper(logical_id: str, resource_json: dict, resources_map: Any, *args: Any,
                    **kwargs: Any) -> Any:
            condition = resource_json.get("Condition")
            if condition and not resources_map.lazy_condition_map[condition]:
                # AWS leaves a resource whose condition is false alone; moto would try to
                # update the resource that was never created.
                if action == "UPDATE":
                    return None
                return original(logical_id, resource_json, resources_map, *args, **kwargs)
            resource_type = resource_json.get("Type", "")
            add_event(resources_map, logical_id, resource_type, f"{action}_IN_PROGRESS")
            try:
                resource = original(logical_id, resource_json, resources_map, *args, **kwargs)
            except Exception as e:
                if not hasattr(e, "rv_logical_id"):
                    e.rv_logical_id = logical_id  # type: ignore[attr-defined]
                    add_event(resources_map, logical_id, resource_type, f"{action}_FAILED",
                              reason=_error_message(e))
                raise
            physical = getattr(resource, "physical_resource_id", "") if resource else ""
            add_event(resources_map, logical_id, resource_type, f"{action}_COMPLETE",
                      physical_id=str(physical or ""))
            return resource
        return wrapper

    parsing.parse_and_create_resource = wrap(parsing.parse_and_create_resource, "CREATE")
    parsing.parse_and_update_resource = wrap(parsing.parse_and_update_resource, "UPDATE")


def _patch_batch() -> None:
    """Batch resources in AWS CloudFormation (Template Reference, AWS::Batch::ComputeEnvironment
    ComputeResources and AWS::Batch::JobQueue: "Update requires: No interruption";
    AWS::Batch::JobDefinition ResourceRetentionPolicy: by default the previous revision is
    deregistered once the new one is registered): compute environments and queues update in
    place, a job definition change registers a new revision and deregisters the old one, and
    deleting the stack deletes them all. moto's handlers do none of this."""
    from moto.batch import models as batch
    from moto.batch.utils import lowercase_first_key

    def backend(account_id: str, region_name: str) -> Any:
        return batch.batch_backends[account_id][region_name]

    def update_environment(cls: Any, original_resource: Any, new_resource_name: str,
                           cloudformation_json: dict, account_id: str, region_name: str) -> Any:
        properties = cloudformation_json["Properties"]
        resources = lowercase_first_key(properties["ComputeResources"])
        backend(account_id, region_name)._validate_compute_resources(resources)
        original_resource.compute_resources = resources
        original_resource.state = properties.get("State", "ENABLED")
        _keep_update_policy(original_resource, properties)
        return original_resource

    # AWS keeps a compute environment's UpdatePolicy and describes it (updatePolicy, with a
    # whole number of minutes); moto drops it.
    def _keep_update_policy(environment: Any, properties: dict) -> None:
        policy = properties.get("UpdatePolicy")
        if policy is not None:
            environment.update_policy = {
                "terminateJobsOnUpdate": str(policy.get("TerminateJobsOnUpdate", False)).lower()
                == "true",
                "jobExecutionTimeoutMinutes": int(policy.get("JobExecutionTimeoutMinutes", 30))}

    original_create_environment = batch.ComputeEnvironment.create_from_cloudformation_json

    def create_environment(cls: Any, resource_name: str, cloudformation_json: dict,
                           account_id: str, region_name: str, **kwargs: Any) -> Any:
        environment = original_create_environment.__func__(
            cls, resource_name, cloudformation_json, account_id, region_name, **kwargs)
        _keep_update_policy(environment, cloudformation_json["Properties"])
        return environment

    batch.ComputeEnvironment.create_from_cloudformation_json = classmethod(create_environment)
    original_describe = batch.BatchBackend.describe_compute_environments

    def describe_compute_environments(self: Any, environments: Any = None) -> list:
        described = original_describe(self, environments)
        for entry in described:
            environment = self._compute_environments.get(entry["computeEnvironmentArn"])
            if getattr(environment, "update_policy", None) is not None:
                entry["updatePolicy"] = environment.update_policy
        return described

    batch.BatchBackend.describe_compute_environments = describe_compute_environments

    def update_queue(cls: Any, original_resource: Any, new_resource_name: str,
                     cloudformation_json: dict, account_id: str, region_name: str) -> Any:
        properties = cloudformation_json["Properties"]
        order = [lowercase_first_key(o) for o in properties["ComputeEnvironmentOrder"]]
        backend(account_id, region_name).update_job_queue(
            original_resource.arn, properties["Priority"], properties.get("State", "ENABLED"),
            order, None)
        return original_resource

    def update_definition(cls: Any, original_resource: Any, new_resource_name: str,
                          cloudformation_json: dict, account_id: str, region_name: str) -> Any:
        new = cls.create_from_cloudformation_json(original_resource.name, cloudformation_json,
                                                  account_id, region_name)
        original_resource.deregister()
        return new

    def delete_environment(cls: Any, resource_name: str, cloudformation_json: dict,
                           account_id: str, region_name: str) -> None:
        backend(account_id, region_name).delete_compute_environment(resource_name)

    def delete_queue(cls: Any, resource_name: str, cloudformation_json: dict, account_id: str,
                     region_name: str) -> None:
        backend(account_id, region_name).delete_job_queue(resource_name)

    def delete_definition(cls: Any, resource_name: str, cloudformation_json: dict,
                          account_id: str, region_name: str) -> None:
        backend(account_id, region_name).deregister_job_definition(resource_name)

    for model, update, delete in ((batch.ComputeEnvironment, update_environment,
                                   delete_environment),
                                  (batch.JobQueue, update_queue, delete_queue),
                                  (batch.JobDefinition, update_definition, delete_definition)):
        model.update_from_cloudformation_json = classmethod(update)
        model.delete_from_cloudformation_json = classmethod(delete)


def _patch_yaml() -> None:
    """CloudFormation reads a short-form tag over a mapping (`!ImportValue` then `Fn::Sub: ...`
    on the next line, as cfn-flip writes it) as the long form (Template Reference,
    "Fn::ImportValue": a short-form !ImportValue cannot hold a short-form !Sub, so the !Sub is
    written in its long form); moto's YAML loader hands back the raw YAML nodes."""
    import yaml
    from moto.cloudformation import models, responses, utils

    original = utils.yaml_tag_constructor

    def yaml_tag_constructor(loader: Any, tag: Any, node: Any) -> Any:
        if isinstance(node, yaml.MappingNode):
            key = "Ref" if tag == "!Ref" else f"Fn::{tag[1:]}"
            return {key: loader.construct_mapping(node, deep=True)}
        return original(loader, tag, node)

    for module in (utils, models, responses):
        if hasattr(module, "yaml_tag_constructor"):
            module.yaml_tag_constructor = yaml_tag_constructor


def _patch_images() -> None:
    """An image's root device mapping reports the volume it was made with, at its own device
    name and size (EC2 API Reference, RegisterImage and DescribeImages BlockDeviceMappings;
    75 GiB on /dev/xvda for the Deep Learning Base OSS AMIs); moto reports a 15 GiB volume at
    /dev/sda1 for every image, whatever it was registered with. Tests set `root_volume_size` on
    moto's record of an image."""
    from moto.ec2.models.amis import Ami

    original = Ami.block_device_mappings.fget

    def block_device_mappings(self: Any) -> list:
        mappings = original(self)
        size = getattr(self, "root_volume_size", None)
        if size is not None:
            for mapping in mappings:
                if mapping["DeviceName"] == self.root_device_name:
                    mapping["Ebs"]["VolumeSize"] = size
        return mappings

    Ami.block_device_mappings = property(block_device_mappings)


def _patch_imports() -> None:
    """CloudFormation's ListImports names the stacks importing an export, and refuses an
    export nobody imports with a ValidationError; moto has no ListImports at all. Answer it from
    the live stacks' templates, resolving each Fn::ImportValue's argument in its stack."""
    from moto.cloudformation import parsing
    from moto.cloudformation.exceptions import ValidationError
    from moto.cloudformation.responses import CloudFormationResponse
    from moto.core.responses import ActionResult

    def imported_names(node: Any, stack: Any) -> list[str]:
        if isinstance(node, dict):
            if set(node) == {"Fn::ImportValue"}:
                return [str(parsing.clean_json(node["Fn::ImportValue"], stack.resource_map))]
            return [n for value in node.values() for n in imported_names(value, stack)]
        if isinstance(node, list):
            return [n for value in node for n in imported_names(value, stack)]
        return []

    def list_imports(self: Any) -> Any:
        name = self._get_param("ExportName")
        importers = [stack.name for stack in self.cloudformation_backend.stacks.values()
                     if stack.status != "DELETE_COMPLETE"
                     and name in imported_names(stack.template_dict, stack)]
        if not importers:
            raise ValidationError(message=f"Export '{name}' is not imported by any stack.")
        return ActionResult({"Imports": sorted(importers)})

    CloudFormationResponse.list_imports = list_imports


def record_spot_price(account: str, region: str, instance_type: str, zone: str, price: float,
                      when: Any) -> None:
    """Record that the spot price of `instance_type` in `zone` became `price` at `when` (an
    aware datetime), as EC2's spot price history would show it (see _patch_spot_prices)."""
    from moto.ec2.models import ec2_backends

    backend = ec2_backends[account][region]
    backend.__dict__.setdefault("recorded_spot_prices", []).append(
        (instance_type, zone, float(price), when))


def _patch_spot_prices() -> None:
    """Spot price history as in EC2 (API Reference, DescribeSpotPriceHistory: the price changes
    between StartTime and EndTime, and the last change before StartTime, the price in effect
    then). moto answers one price, 0.00001 timestamped 2006-01-02, for every type and zone
    offered, whatever the times asked. Tests record prices with `record_spot_price`; for a type
    and zone with recorded prices this answers from them, for the others as moto does."""
    from datetime import datetime, timezone

    from moto.core.responses import ActionResult
    from moto.ec2.responses.spot_instances import SpotInstances

    original = SpotInstances.describe_spot_price_history

    def moment(text: Any) -> Any:
        if not text:
            return None
        value = datetime.fromisoformat(str(text).replace("Z", "+00:00"))
        return value if value.tzinfo else value.replace(tzinfo=timezone.utc)

    def describe_spot_price_history(self: Any) -> Any:
        recorded = self.ec2_backend.__dict__.get("recorded_spot_prices", [])
        types = self._get_param("InstanceTypes", []) or []
        zone = self._get_param("AvailabilityZone")
        zones = ([zone] if zone else []) + list(self._filters_from_querystring().get(
            "availability-zone", []))
        start, end = moment(self._get_param("StartTime")), moment(self._get_param("EndTime"))
        history = []
        pairs = {(t, z) for t, z, _, _ in recorded
                 if (not types or t in types) and (not zones or z in zones)}
        if not pairs:
            return original(self)
        for pair in sorted(pairs):
            changes = sorted((when, price) for t, z, price, when in recorded if (t, z) == pair)
            inside = [c for c in changes if (start is None or c[0] > start)
                      and (end is None or c[0] <= end)]
            before = [c for c in changes if start is not None and c[0] <= start]
            for when, price in ([before[-1]] if before else []) + inside:
                history.append({"InstanceType": pair[0], "AvailabilityZone": pair[1],
                                "ProductDescription": "Linux/UNIX (Amazon VPC)",
                                "SpotPrice": f"{price:.6f}",
                                "Timestamp": when.strftime("%Y-%m-%dT%H:%M:%S.000Z")})
        # EC2 lists the most recent first.
        history.sort(key=lambda h: h["Timestamp"], reverse=True)
        return ActionResult({"SpotPriceHistory": history})

    SpotInstances.describe_spot_price_history = describe_spot_price_history
