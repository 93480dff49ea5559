"""Canaries for tests/moto_like_aws.py: each test shows, on an UNPATCHED moto server, one way moto
falls short of AWS that a patch there makes up for, and fails once moto behaves like AWS on its
own. Its message names the patch (or the part of it) that can then go.

The emulator fixture patches moto in the test process, so these tests start moto in a process
of its own, where nothing is patched. Each test states its set-up with plain asserts ("canary
set-up failed"), so that a canary cannot stay green because its set-up broke.

To check the canaries themselves, run this file with RV_CANARIES_AGAINST_PATCHED=1: the server
then gets make_moto_like_aws() as the emulator does, so it behaves like AWS, and every canary of
a patch must fail with its message. Only the image and spot price canaries pass: those patches
are hooks the tests use (root_volume_size, record_spot_price), not changes to what moto answers
when nothing is set.

Over 300 lines: one small self-contained test per shortfall, grouped by the patch they belong to.
"""

from __future__ import annotations

import itertools
import json
import textwrap
from typing import Any, Optional

import pytest

from tests import emulator, moto_like_aws
from tests.canaries import Canaries
from tests.unpatched_moto import (
    REGION, Unpatched, batch_network, batch_template, body, create_stack, fails,
    parameters,
)

# One worker starts the unpatched server (about 2.5 s of CPU; the `aws` fixture, tests/conftest.py)
# and runs every canary, these and tests/test_moto_like_aws_alerts.py's.
pytestmark = pytest.mark.xdist_group("unpatched-moto")

# Each patch's canaries: the tests that show what it makes up for.
CANARIES = Canaries(moto_like_aws, moto_like_aws.make_moto_like_aws)
canary, remove = CANARIES.mark, CANARIES.remove
_names = itertools.count()


def update_stack(aws: Unpatched, name: str, template: Any, **values: str) -> dict:
    cfn = aws("cloudformation")
    cfn.update_stack(StackName=name, TemplateBody=body(template), Parameters=parameters(values))
    stack = emulator.wait_stack(cfn, name, timeout=10)
    assert stack["StackStatus"] == "UPDATE_COMPLETE", f"canary set-up failed: {stack}"
    return stack


def change_set(aws: Unpatched, stack: str, template: Any, kind: str = "UPDATE",
               **values: Optional[str]) -> dict:
    """Create a change set and return its description."""
    cfn = aws("cloudformation")
    created = cfn.create_change_set(StackName=stack, ChangeSetName=f"canary{next(_names)}",
                                    TemplateBody=body(template), ChangeSetType=kind,
                                    Parameters=parameters(values))
    return cfn.describe_change_set(ChangeSetName=created["Id"])


def ssm(name: str, value: Any, condition: Optional[str] = None) -> dict:
    """An SSM parameter resource: cheap in moto, and its value reads back."""
    resource = {"Type": "AWS::SSM::Parameter",
                "Properties": {"Name": name, "Type": "String", "Value": value}}
    return {**resource, "Condition": condition} if condition else resource


def sized(big: str = "m5.large", small: str = "t3.micro") -> dict:
    """A launch template whose instance type follows condition Big (parameter Size), an SSM
    parameter reading its LatestVersionNumber, and a resource that exists only when Big."""
    return {
        "Parameters": {"Size": {"Type": "String", "Default": "small"}},
        "Conditions": {"Big": {"Fn::Equals": [{"Ref": "Size"}, "big"]}},
        "Resources": {
            "Template": {"Type": "AWS::EC2::LaunchTemplate", "Properties": {
                "LaunchTemplateName": "canary",
                "LaunchTemplateData": {"InstanceType": {"Fn::If": ["Big", big, small]}}}},
            "Reader": ssm("reader", {"Fn::GetAtt": ["Template", "LatestVersionNumber"]}),
            "OnlyBig": ssm("only-big", "x", condition="Big")},
        "Outputs": {"Size": {"Value": {"Ref": "Size"}}}}


def launch_template_versions(aws: Unpatched) -> dict[int, str]:
    versions = aws("ec2").describe_launch_template_versions(
        LaunchTemplateName="canary")["LaunchTemplateVersions"]
    return {v["VersionNumber"]: v["LaunchTemplateData"].get("InstanceType") for v in versions}


def test_every_patch_has_a_canary():
    """make_moto_like_aws applies every _patch_* function of the module, and each has a canary
    here: a new patch without one fails this test."""
    CANARIES.check()


# -- _patch_parameters ---------------------------------------------------------------------------

LISTS = {"Parameters": {"Names": {"Type": "CommaDelimitedList", "Default": "a,b"},
                        "Other": {"Type": "String", "Default": "x"}},
         "Resources": {"Value": ssm("value", {"Ref": "Other"})},
         "Outputs": {"Second": {"Value": {"Fn::Select": [1, {"Ref": "Names"}]}}}}


@canary("_patch_parameters")
def test_list_parameter_value_reads_back_as_a_python_list(aws):
    """AWS reports a list parameter as the comma-separated text it was given."""
    stack = create_stack(aws, "lists", LISTS, Names="a,b")
    reported = emulator.parameter_values(stack["Parameters"])["Names"]
    assert reported != "a,b", remove("_patch_parameters", "parameter_list/stack_parameters")


@canary("_patch_parameters")
def test_list_parameter_default_is_not_split(aws):
    """AWS splits a list parameter's default as it splits a given value: item 1 of "a,b" is b."""
    stack = create_stack(aws, "defaults", LISTS)
    second = {o["OutputKey"]: o["OutputValue"] for o in stack["Outputs"]}["Second"]
    assert second != "b", remove("_patch_parameters", "load_parameters")


@canary("_patch_parameters")
def test_previous_value_of_a_list_parameter_breaks_the_update(aws):
    """AWS hands the stack's value back for UsePreviousValue; moto hands back its split list,
    which it then fails to split again when the change set runs."""
    create_stack(aws, "previous", LISTS, Names="a,b")
    description = change_set(aws, "previous", LISTS, Names=None, Other="y")
    assert description["Status"] == "CREATE_COMPLETE", f"canary set-up failed: {description}"
    run = aws("cloudformation").execute_change_set
    assert fails(lambda: run(ChangeSetName=description["ChangeSetId"])), remove(
        "_patch_parameters", "stack_parameters (UsePreviousValue of a list)")


# -- _patch_change_sets ----------------------------------------------------------------------------

@canary("_patch_change_sets")
def test_executed_create_change_set_leaves_no_outputs(aws):
    """AWS's stack gets the change set's template, outputs included."""
    cfn = aws("cloudformation")
    description = change_set(aws, "outputs", sized(), kind="CREATE", Size="small")
    cfn.execute_change_set(ChangeSetName=description["ChangeSetId"])
    stack = emulator.wait_stack(cfn, "outputs", timeout=10)
    assert stack["StackStatus"] == "CREATE_COMPLETE", f"canary set-up failed: {stack}"
    assert not stack.get("Outputs"), remove("_patch_change_sets", "_execute_change_set (outputs)")


@canary("_patch_change_sets")
def test_other_change_sets_are_kept_after_one_is_executed(aws):
    """AWS deletes the stack's other change sets when one is executed (they no longer apply)."""
    cfn = aws("cloudformation")
    create_stack(aws, "kept", sized(), Size="small")
    executed = change_set(aws, "kept", sized(), Size="big")["ChangeSetId"]
    other = change_set(aws, "kept", sized(small="t3.small"), Size="small")["ChangeSetId"]
    cfn.execute_change_set(ChangeSetName=executed)
    stack = emulator.wait_stack(cfn, "kept", timeout=10)
    assert stack["StackStatus"] == "UPDATE_COMPLETE", f"canary set-up failed: {stack}"
    kept = {c["ChangeSetId"] for c in cfn.list_change_sets(StackName="kept")["Summaries"]}
    assert other in kept, remove("_patch_change_sets", "_execute_change_set (deleting change sets)")


@canary("_patch_change_sets")
def test_failed_change_set_fails_the_call(aws):
    """In AWS, ExecuteChangeSet only starts the update: a resource that fails rolls the stack
    back (UPDATE_ROLLBACK_COMPLETE); moto fails the API call itself."""
    taken = {"Type": "AWS::EC2::LaunchTemplate", "Properties": {
        "LaunchTemplateName": "canary", "LaunchTemplateData": {"InstanceType": "t3.micro"}}}
    create_stack(aws, "rollback", {"Resources": {"First": taken}})
    description = change_set(aws, "rollback", {"Resources": {"First": taken, "Second": taken}})
    run = aws("cloudformation").execute_change_set
    assert fails(lambda: run(ChangeSetName=description["ChangeSetId"])), remove(
        "_patch_change_sets", "_execute_change_set (rollback)")


@canary("_patch_change_sets")
def test_update_ignores_a_changed_condition(aws):
    """AWS updates a resource whose Fn::If condition changed value; moto's update leaves it."""
    create_stack(aws, "cond", sized(), Size="small")
    update_stack(aws, "cond", sized(), Size="big")
    assert "m5.large" not in launch_template_versions(aws).values(), remove(
        "_patch_change_sets", "build_resource_diff (conditions)")


@canary("_patch_change_sets")
def test_update_ignores_readers_of_a_modified_attribute(aws):
    """AWS updates a resource reading an attribute of a modified one: the reader of the launch
    template's LatestVersionNumber gets 2."""
    create_stack(aws, "attr", sized(), Size="small")
    update_stack(aws, "attr", sized(small="t3.small"), Size="small")
    assert 2 in launch_template_versions(aws), "canary set-up failed: no version 2"
    reader = aws("ssm").get_parameter(Name="reader")["Parameter"]["Value"]
    assert reader == "1", remove("_patch_change_sets", "build_resource_diff (attribute readers)")


# -- _patch_resource_events ------------------------------------------------------------------------

@canary("_patch_resource_events")
def test_stack_events_lack_resource_events(aws):
    """AWS reports each resource's CREATE_IN_PROGRESS and CREATE_COMPLETE as stack events."""
    create_stack(aws, "events", {"Resources": {"Value": ssm("value", "v")}})
    events = aws("cloudformation").describe_stack_events(StackName="events")["StackEvents"]
    assert "Value" not in {e["LogicalResourceId"] for e in events}, remove(
        "_patch_resource_events", "the events")


@canary("_patch_resource_events")
def test_update_of_a_resource_whose_condition_is_false_fails(aws):
    """AWS leaves a resource whose condition is false alone on update; moto tries to update
    the resource it never created, and crashes."""
    create_stack(aws, "absent", sized(), Size="small")
    changed = sized()
    changed["Resources"]["OnlyBig"]["Properties"]["Value"] = "y"
    update = aws("cloudformation").update_stack
    message = remove("_patch_resource_events", "the skipped update of a false-condition resource")
    assert fails(lambda: update(StackName="absent", TemplateBody=body(changed),
                                Parameters=parameters({"Size": "small"}))), message


# -- _patch_batch ---------------------------------------------------------------------------------


@pytest.fixture
def batch_stack(aws) -> dict[str, str]:
    """Stack "batch" of batch_template(); its network for the update."""
    network = batch_network(aws)
    create_stack(aws, "batch", batch_template(network))
    return network


@canary("_patch_batch")
def test_compute_environment_update_is_not_applied(aws, batch_stack):
    """AWS updates a compute environment's MaxvCpus in place ("Update requires: No
    interruption"); moto reports UPDATE_COMPLETE and keeps the old value."""
    update_stack(aws, "batch", batch_template(batch_stack, max_vcpus=8))
    environment, = aws("batch").describe_compute_environments()["computeEnvironments"]
    assert environment["computeResources"]["maxvCpus"] == 4, remove(
        "_patch_batch", "the compute environment update")


@canary("_patch_batch")
def test_job_queue_update_is_not_applied(aws, batch_stack):
    """AWS updates a job queue's Priority in place ("Update requires: No interruption")."""
    update_stack(aws, "batch", batch_template(batch_stack, priority=5))
    queue, = aws("batch").describe_job_queues()["jobQueues"]
    assert queue["priority"] == 1, remove("_patch_batch", "the job queue update")


@canary("_patch_batch")
def test_job_definition_update_registers_no_revision(aws, batch_stack):
    """AWS registers a new revision and deregisters the previous one (ResourceRetentionPolicy
    SkipDeregisterOnUpdate, false by default)."""
    update_stack(aws, "batch", batch_template(batch_stack, image="alpine"))
    definitions = aws("batch").describe_job_definitions()["jobDefinitions"]
    active = {d["containerProperties"]["image"] for d in definitions if d["status"] == "ACTIVE"}
    assert active != {"alpine"}, remove("_patch_batch", "the job definition update")


@canary("_patch_batch")
def test_stack_deletion_leaves_batch_resources(aws, batch_stack):
    """AWS deletes a stack's resources with the stack."""
    cfn, batch = aws("cloudformation"), aws("batch")
    cfn.delete_stack(StackName="batch")
    left = {"ComputeEnvironment": batch.describe_compute_environments()["computeEnvironments"],
            "JobQueue": batch.describe_job_queues()["jobQueues"],
            "JobDefinition": [d for d in batch.describe_job_definitions()["jobDefinitions"]
                              if d["status"] == "ACTIVE"]}
    deleted = sorted(kind for kind, found in left.items() if not found)
    assert not deleted, remove("_patch_batch", f"delete_from_cloudformation_json of {deleted}")


def test_compute_environment_without_service_role_fails(aws):
    """Not a patch: tests/emulator.py's batch_service_role() passes the service-linked role's
    ARN because moto's handler requires ServiceRole, where AWS uses AWSServiceRoleForBatch."""
    template = batch_template(batch_network(aws), service_role=False)
    create = aws("cloudformation").create_stack
    assert fails(lambda: create(StackName="norole", TemplateBody=body(template))), (
        "moto now creates a compute environment without ServiceRole, as AWS does: "
        "BatchServiceRoleArn may be left empty in tests (see batch_service_role in "
        "tests/emulator.py), and this canary removed")


# -- _patch_yaml, _patch_images -------------------------------------------------------------------

@canary("_patch_yaml")
def test_short_form_tag_over_a_mapping_is_misread(aws):
    """CloudFormation reads `!ImportValue` over a mapping (`Fn::Sub: ...` on the next line, as
    cfn-flip writes it) like its long form; moto's YAML loader passes on the raw YAML nodes."""
    exporter = {"Resources": {"Value": ssm("value", "v")},
                "Outputs": {"Out": {"Value": "exported", "Export": {"Name": "canary-out"}}}}
    create_stack(aws, "exporter", exporter)
    text = textwrap.dedent("""\
        Parameters:
          Source: {Type: String, Default: canary}
        Resources:
          Imported:
            Type: AWS::SSM::Parameter
            Properties:
              Type: String
              Name: imported
              Value: %s
        """)
    create_stack(aws, "long", text % "{'Fn::ImportValue': {'Fn::Sub': '${Source}-out'}}")
    imported = aws("ssm").get_parameter(Name="imported")["Parameter"]["Value"]
    assert imported == "exported", f"canary set-up failed: {imported}"
    aws("cloudformation").delete_stack(StackName="long")
    short_form = text % "!ImportValue\n          Fn::Sub: '${Source}-out'"
    create = aws("cloudformation").create_stack
    assert fails(lambda: create(StackName="short", TemplateBody=short_form)), remove("_patch_yaml")


@canary("_patch_imports")
def test_list_imports_is_not_implemented(aws):
    """AWS names the stacks importing an export (ListImports); moto has no ListImports."""
    create_stack(aws, "exporter", {"Resources": {"Value": ssm("exported", "x")}, "Outputs": {
        "Out": {"Value": "x", "Export": {"Name": "canary-out"}}}})
    create_stack(aws, "importer", {"Resources": {"Value": ssm(
        "imported", {"Fn::ImportValue": "canary-out"})}})
    cfn = aws("cloudformation")
    assert fails(lambda: cfn.list_imports(ExportName="canary-out")), remove("_patch_imports")


@canary("_patch_images")
def test_registered_root_volume_size_is_ignored(aws):
    """AWS reports an image's block device mappings as registered (RegisterImage,
    DescribeImages); moto reports a 15 GiB volume at /dev/sda1 for every image."""
    ec2 = aws("ec2")
    image = ec2.register_image(Name="canary", RootDeviceName="/dev/xvda", BlockDeviceMappings=[
        {"DeviceName": "/dev/xvda", "Ebs": {"VolumeSize": 75}}])["ImageId"]
    mappings = ec2.describe_images(ImageIds=[image])["Images"][0]["BlockDeviceMappings"]
    sizes = {m["DeviceName"]: m.get("Ebs", {}).get("VolumeSize") for m in mappings}
    assert sizes.get("/dev/xvda") != 75, remove("_patch_images")


@canary("_patch_spot_prices")
def test_spot_price_history_is_one_made_up_price(aws):
    """AWS keeps each type's spot price changes per zone (DescribeSpotPriceHistory, between
    StartTime and EndTime); moto answers 0.00001 stamped 2006-01-02 for every type and zone,
    whatever the window, and has no way to record a price."""
    from datetime import datetime, timedelta, timezone

    end = datetime.now(timezone.utc)
    history = aws("ec2").describe_spot_price_history(
        InstanceTypes=["m5.large"], AvailabilityZone=f"{REGION}a",
        StartTime=end - timedelta(hours=1), EndTime=end)["SpotPriceHistory"]
    assert history, "canary set-up failed: moto gave no spot price at all"
    made_up = {(h["SpotPrice"], h["Timestamp"].year) for h in history}
    assert made_up == {("0.00001", 2006)}, remove("_patch_spot_prices")
