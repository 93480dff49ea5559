"""The committed template deployed in the AWS emulator (moto server) the console's way, and the
real API objects checked afterwards: queues, compute environments, job definitions, launch
templates, the security group, the job role's policy, ECR repositories and the outputs.

Expected values come from the template's own defaults and the values each test sends, never
from copies of the generated text.
"""

from __future__ import annotations

import ast
import base64
import email
import json

import pytest

from rv_batch_cfn.template import compute, iam, job_queues, network, registry, userdata
from rv_batch_cfn.template import outputs as out
from rv_batch_cfn.template import parameters as p
from tests.emulator import (
    TEMPLATE, Emulator, Network, console_parameters, deploy, make_network, outputs,
    parameter_values, physical_ids, update,
)

KINDS = ("gpu", "cpu")


def sent_values(network: Network, **overrides) -> dict[str, str]:
    """What the console sent: every parameter, as strings."""
    return parameter_values(console_parameters(TEMPLATE.read_text(), network, **overrides))


def split(value: str) -> list[str]:
    return [v for v in value.split(",") if v]


def account_id(emu: Emulator) -> str:
    return emu.client("sts").get_caller_identity()["Account"]


def job_definition(emu: Emulator, name: str) -> dict:
    """The latest ACTIVE revision of a job definition, as Raster Vision would submit it."""
    found = emu.client("batch").describe_job_definitions(
        jobDefinitionName=name, status="ACTIVE")["jobDefinitions"]
    assert found, f"no ACTIVE job definition named {name}"
    return max(found, key=lambda d: d["revision"])


def requirements(definition: dict) -> dict[str, str]:
    return {r["type"]: str(r["value"])
            for r in definition["containerProperties"]["resourceRequirements"]}


def latest_launch_template(emu: Emulator, template_id: str) -> dict:
    return emu.client("ec2").describe_launch_template_versions(
        LaunchTemplateId=template_id, Versions=["$Latest"])["LaunchTemplateVersions"][0]


def assert_batch_setup(emu: Emulator, stack: dict, network: Network,
                       values: dict[str, str]) -> None:
    """Every promise the template makes, checked on the objects the APIs report."""
    assert stack["StackStatus"] in ("CREATE_COMPLETE", "UPDATE_COMPLETE"), stack["StackStatus"]
    ids = physical_ids(emu, stack["StackName"])
    stack_outputs = outputs(stack)
    batch = emu.client("batch")
    ec2 = emu.client("ec2")
    group_id = ids[network_group_id()]
    profile_arn = emu.client("iam").get_instance_profile(
        InstanceProfileName=ids[iam.INSTANCE_PROFILE])["InstanceProfile"]["Arn"]
    job_role = emu.client("iam").get_role(RoleName=ids[iam.JOB_ROLE])["Role"]

    for kind in KINDS:
        k = p.KINDS[kind]
        title = kind.capitalize()
        # The queue named by the output feeds this stack's environment of the same kind.
        queue_name = stack_outputs[f"{title}JobQueueName"]
        queues = batch.describe_job_queues(jobQueues=[queue_name])["jobQueues"]
        assert len(queues) == 1 and queues[0]["state"] == "ENABLED"
        environment_arn = ids[compute.compute_environment_id(kind)]
        assert [o["computeEnvironment"] for o in queues[0]["computeEnvironmentOrder"]] == \
            [environment_arn]
        assert queues[0]["jobQueueArn"] == ids[job_queues.queue_id(kind)]

        environment, = batch.describe_compute_environments(
            computeEnvironments=[environment_arn])["computeEnvironments"]
        resources = environment["computeResources"]
        assert (environment["type"], environment["state"]) == ("MANAGED", "ENABLED")
        assert resources["subnets"] == network.subnet_ids
        assert resources["minvCpus"] == 0 == int(values[p.MINIMUM_VCPUS])
        assert resources["maxvCpus"] == int(values[p.MAXIMUM_VCPUS])
        assert resources["instanceTypes"] == split(values[k.instance_types])
        assert resources["type"] == ("SPOT" if values[k.capacity] == "SPOT" else "EC2")
        assert resources["securityGroupIds"] == [group_id]
        assert resources["instanceRole"] == profile_arn

        # Launch template: IMDSv2 only, an encrypted gp3 root of the configured size, and the
        # environment uses its latest version.
        template_id = ids[compute.launch_template_id(kind)]
        version = latest_launch_template(emu, template_id)
        assert resources["launchTemplate"] == {"launchTemplateId": template_id,
                                               "version": str(version["VersionNumber"])}
        data = version["LaunchTemplateData"]
        assert data["MetadataOptions"]["HttpTokens"] == "required"
        root, = data["BlockDeviceMappings"]
        assert root["DeviceName"] == compute.ROOT_DEVICE
        assert root["Ebs"]["Encrypted"] is True
        assert root["Ebs"]["VolumeType"] == "gp3"
        assert root["Ebs"]["VolumeSize"] == int(values[k.storage])
        assert root["Ebs"]["Throughput"] == int(values[k.throughput])
        assert root["Ebs"]["Iops"] == int(values[k.iops])
        # The user data that prepares the jobs' scratch folder, as EC2 stores it (base64): a
        # MIME multi-part archive, as Batch requires, whose boothook is the packaged script.
        text = base64.b64decode(data["UserData"]).decode("ascii")
        assert text == userdata.user_data()
        archive = email.message_from_string(text)
        assert archive.is_multipart()
        part, = archive.get_payload()
        assert part.get_content_type() == "text/cloud-boothook"
        assert part.get_payload() == userdata.boothook()

        # Job definition, named by the output, as Raster Vision will submit it.
        definition = job_definition(emu, stack_outputs[f"{title}JobDefinitionName"])
        container = definition["containerProperties"]
        if values[k.repository_name]:
            image = (f"{account_id(emu)}.dkr.ecr.{emu.region}.amazonaws.com/"
                     f"{values[k.repository_name]}:{values[p.IMAGE_TAG]}")
        else:
            image = values[k.hosted_image]
        assert container["image"] == image
        expected = {"VCPU": values[k.vcpus], "MEMORY": values[k.memory]}
        if kind == "gpu":
            expected["GPU"] = "1"
        assert requirements(definition) == expected
        assert container["linuxParameters"]["sharedMemorySize"] == int(values[p.SHARED_MEMORY_SIZE])
        assert definition["retryStrategy"]["attempts"] == int(values[p.JOB_ATTEMPTS])
        assert {"onStatusReason": "Host EC2*", "action": "retry"} in \
            definition["retryStrategy"]["evaluateOnExit"]
        assert container["jobRoleArn"] == job_role["Arn"]
        assert container["privileged"] is False
        assert [m["containerPath"] for m in container["mountPoints"]] == [job_queues.CONTAINER_DATA_PATH]
        # /opt/data is the folder the user data prepares, not a user's home.
        volume, = container["volumes"]
        assert volume["host"]["sourcePath"] == userdata.SCRATCH_DIR == "/var/lib/rv-scratch"
        assert container["mountPoints"][0]["sourceVolume"] == volume["name"]

    # Scaling from zero: nothing runs until a job arrives.
    assert not ec2.describe_instances(Filters=[{"Name": "instance-state-name",
                                                "Values": ["pending", "running"]}])["Reservations"]

    # No inbound traffic unless CidrRange is set; then TensorBoard only (no key pair, no SSH).
    group, = ec2.describe_security_groups(GroupIds=[group_id])["SecurityGroups"]
    ports = sorted((r["FromPort"], r["IpRanges"][0]["CidrIp"]) for r in group["IpPermissions"])
    if values[p.CIDR_RANGE]:
        assert ports == sorted([(6006, values[p.CIDR_RANGE])] + (
            [(22, values[p.CIDR_RANGE])] if values[p.KEY_NAME] else []))
    else:
        assert ports == []

    # The job role's policies: write access to exactly the named buckets (none by default),
    # read-only access to the read-only ones, the KMS keys only when given.
    documents = role_policies(emu, job_role["RoleName"])
    expected = {name for name, parameter in JOB_POLICIES.items() if split(values[parameter])}
    assert set(documents) == expected
    for name, parameter in JOB_POLICIES.items():
        if name not in documents:
            continue
        named = {r for s in documents[name]["Statement"] for r in _as_list(s["Resource"])}
        given = split(values[parameter])
        if parameter == p.KMS_KEY_ARNS:
            assert named == set(given)
        else:
            assert named == {f"arn:*:s3:::{b}" for b in given} | {f"arn:*:s3:::{b}/*"
                                                                  for b in given}
    if "s3-read-only" in documents:
        actions = {a for s in documents["s3-read-only"]["Statement"] for a in _as_list(s["Action"])}
        assert actions == {"s3:ListBucket", "s3:GetBucketLocation", "s3:GetObject"}

    # The instance role: no inline policy, but Session Manager's when asked for. (moto attaches
    # no AWS managed policy unless it loads their whole catalogue; tests/template/test_iam.py
    # checks ManagedPolicyArns.)
    assert set(role_policies(emu, ids[iam.INSTANCE_ROLE])) == (
        {"session-manager"} if values[p.SESSION_MANAGER] == "true" else set())

    # Exports for the per-project job-definitions stacks: this stack's role and log group.
    assert stack_outputs[out.JOB_ROLE_ARN] == job_role["Arn"]
    assert stack_outputs[out.JOB_LOG_GROUP] == ids[job_queues.LOG_GROUP]
    exports = {e["Name"]: e["Value"]
               for e in emu.client("cloudformation").list_exports()["Exports"]}
    for output in out.EXPORTED:
        assert exports[f"{stack['StackName']}-{output}"] == stack_outputs[output]

    # Outputs: the [BATCH] section names the very queues and job definitions.
    section = stack_outputs[out.RV_CONFIG]
    for output, key in out.BATCH_KEYS.items():
        assert f"{key} = {stack_outputs[output]}\n" in section
    assert f"attempts = {values[p.JOB_ATTEMPTS]}\n" in section
    assert f"{out.REGION_KEY} = {emu.region}\n" in section  # the stack's, batch_retry submits in


# Inline policy name of the job role -> the parameter that lists what it names.
JOB_POLICIES = {"s3-read-write": p.S3_BUCKETS, "s3-read-only": p.S3_READ_ONLY_BUCKETS,
                "kms-s3-keys": p.KMS_KEY_ARNS}


def role_policies(emu: Emulator, role_name: str) -> dict[str, dict]:
    """The inline policies of a role (AWS::IAM::Policy resources attach as such), by name."""
    client = emu.client("iam")
    documents = {}
    for name in client.list_role_policies(RoleName=role_name)["PolicyNames"]:
        document = client.get_role_policy(RoleName=role_name, PolicyName=name)["PolicyDocument"]
        # AWS returns the JSON document (boto3 decodes it to a dict); moto keeps the Python repr
        # of a template's inline policy. Only this test reads it back: read moto's form.
        documents[name] = ast.literal_eval(document) if isinstance(document, str) else document
    return documents


def _as_list(value) -> list:
    return value if isinstance(value, list) else [value]


def network_group_id() -> str:
    return network.SECURITY_GROUP


def repositories(emu: Emulator) -> set[str]:
    return {r["repositoryName"]
            for r in emu.client("ecr").describe_repositories()["repositories"]}


def test_defaults(emulator):
    net = make_network(emulator)
    stack = deploy(emulator, "rv", net)
    assert_batch_setup(emulator, stack, net, sent_values(net))
    assert repositories(emulator) == set()


@pytest.mark.parametrize("name, overrides, expected_repositories", [
    ("two repositories, image tag, on-demand GPU",
     dict(GpuRepositoryName="team/rv-gpu", CpuRepositoryName="team/rv-cpu", ImageTag="v1",
          GpuCapacity="ON_DEMAND", S3Buckets="rv-data,rv-results", CidrRange="203.0.113.0/24"),
     {"team/rv-gpu", "team/rv-cpu"}),
    ("one repository for both kinds",
     dict(GpuRepositoryName="raster-vision", CpuRepositoryName="raster-vision",
          ImageTag="pytorch-0.31", CpuCapacity="ON_DEMAND"),
     {"raster-vision"}),
    ("hosted GPU image, ECR for CPU only",
     dict(CpuRepositoryName="rv-cpu", KeyName="rv-key", CidrRange="198.51.100.7/32"),
     {"rv-cpu"}),
    ("named buckets only, SSE-KMS keys, Session Manager",
     dict(S3Buckets="rv-results", S3ReadOnlyBuckets="rv-data,rv-public",
          S3KmsKeyArns="arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-"
                       "1234567890ab", EnableSessionManager="true"),
     set()),
])
def test_ecr_and_capacity(emulator, name, overrides, expected_repositories):
    net = make_network(emulator)
    stack = deploy(emulator, "rv", net, **overrides)
    assert_batch_setup(emulator, stack, net, sent_values(net, **overrides))
    assert repositories(emulator) == expected_repositories


def test_two_stacks_with_prefixes_share_an_account(emulator):
    net = make_network(emulator)
    stacks = {prefix: deploy(emulator, f"rv-{prefix}", net, Prefix=prefix)
              for prefix in ("alpha", "beta")}
    for prefix, stack in stacks.items():
        assert_batch_setup(emulator, stack, net, sent_values(net, Prefix=prefix))
        assert outputs(stack)[out.GPU_JOB_QUEUE].startswith(prefix)
    alpha, beta = (set(physical_ids(emulator, f"rv-{x}").values()) for x in ("alpha", "beta"))
    assert not alpha & beta, "the two stacks share a resource"
    names = {o for s in stacks.values() for o in outputs(s).values()}
    assert len(names) == 2 * len(outputs(stacks["alpha"]))
    exports = {e["Name"] for e in emulator.client("cloudformation").list_exports()["Exports"]}
    assert {"rv-alpha-JobRoleArn", "rv-beta-JobRoleArn"} <= exports


def test_update_instance_types_storage_and_capacity(emulator):
    net = make_network(emulator)
    deploy(emulator, "rv", net)
    before = physical_ids(emulator, "rv")
    changes = dict(GpuInstanceTypes="g5.4xlarge,g6.4xlarge", GPUInstanceStorage=300,
                   GpuCapacity="ON_DEMAND", GPURootVolumeThroughput=500, GPURootVolumeIops=6000)
    stack = update(emulator, "rv", net, **changes)
    assert stack["StackStatus"] == "UPDATE_COMPLETE"
    # The instance types and capacity reach the environment through the fixture's stand-in for
    # Batch's in-place update, which moto lacks (tests/emulator.py, _patch_batch).
    assert_batch_setup(emulator, stack, net, sent_values(net, **changes))
    after = physical_ids(emulator, "rv")
    # Updated in place: the queues keep their environments, nothing was replaced.
    assert after == before
    gpu_template = latest_launch_template(emulator, after[compute.launch_template_id("gpu")])
    assert gpu_template["VersionNumber"] == 2
    cpu_template = latest_launch_template(emulator, after[compute.launch_template_id("cpu")])
    assert cpu_template["VersionNumber"] == 1


def test_delete(emulator):
    net = make_network(emulator)
    stack = deploy(emulator, "rv", net, GpuRepositoryName="rv-gpu")
    ids = physical_ids(emulator, "rv")
    cfn = emulator.client("cloudformation")
    cfn.delete_stack(StackName="rv")
    deleted, = cfn.describe_stacks(StackName=stack["StackId"])["Stacks"]
    assert deleted["StackStatus"] == "DELETE_COMPLETE"

    batch = emulator.client("batch")
    assert batch.describe_job_queues()["jobQueues"] == []
    assert batch.describe_compute_environments()["computeEnvironments"] == []
    assert batch.describe_job_definitions(status="ACTIVE")["jobDefinitions"] == []
    assert emulator.client("ec2").describe_launch_templates()["LaunchTemplates"] == []
    groups = emulator.client("ec2").describe_security_groups()["SecurityGroups"]
    assert ids[network_group_id()] not in {g["GroupId"] for g in groups}
    roles = {r["RoleName"] for r in emulator.client("iam").list_roles()["Roles"]}
    assert not {ids[iam.JOB_ROLE], ids[iam.INSTANCE_ROLE]} & roles
    # Images outlive the stack: the repository is retained.
    assert repositories(emulator) == {"rv-gpu"}
    assert registry.repository_id("gpu") in ids


def update_policies(emu: Emulator, stack_name: str) -> dict[str, dict]:
    """Each kind's compute environment's updatePolicy, as Batch describes it."""
    ids = physical_ids(emu, stack_name)
    found = {}
    for kind in KINDS:
        environment, = emu.client("batch").describe_compute_environments(
            computeEnvironments=[ids[compute.compute_environment_id(kind)]])["computeEnvironments"]
        found[kind] = environment["updatePolicy"]
    return found


def test_update_with_a_longer_job_timeout(emulator):
    # moto keeps no updatePolicy; the fixture stores and describes it as Batch does
    # (tests/moto_like_aws.py, _patch_batch).
    net = make_network(emulator)
    deploy(emulator, "rv", net)
    default = int(sent_values(net)[p.UPDATE_JOB_TIMEOUT])
    assert default == 1440
    assert update_policies(emulator, "rv") == {
        kind: {"terminateJobsOnUpdate": False, "jobExecutionTimeoutMinutes": default}
        for kind in KINDS}
    before = physical_ids(emulator, "rv")
    stack = update(emulator, "rv", net, UpdateJobTimeoutMinutes=4320)
    assert stack["StackStatus"] == "UPDATE_COMPLETE"
    assert update_policies(emulator, "rv") == {
        kind: {"terminateJobsOnUpdate": False, "jobExecutionTimeoutMinutes": 4320}
        for kind in KINDS}
    assert physical_ids(emulator, "rv") == before  # in place: the same environments


def test_existing_repository_is_used_by_a_new_stack(emulator):
    net = make_network(emulator)
    existing = emulator.client("ecr").create_repository(repositoryName="team/rv")["repository"]
    overrides = dict(GpuRepositoryName="team/rv", GpuRepositoryMode="existing",
                     CpuRepositoryName="team/rv", CpuRepositoryMode="existing", ImageTag="v2")
    stack = deploy(emulator, "rv", net, **overrides)
    assert_batch_setup(emulator, stack, net, sent_values(net, **overrides))
    ids = physical_ids(emulator, "rv")
    assert not {registry.repository_id(kind) for kind in KINDS} & set(ids)  # nothing created
    assert repositories(emulator) == {"team/rv"}
    for kind in KINDS:
        assert outputs(stack)[out.REPOSITORY_URIS[kind]] == existing["repositoryUri"]
        name = outputs(stack)[f"{kind.capitalize()}JobDefinitionName"]
        definition = job_definition(emulator, name)
        assert definition["containerProperties"]["image"] == existing["repositoryUri"] + ":v2"


def test_a_retained_repository_is_used_again_after_the_stack_is_deleted(emulator):
    """The documented path: the repository outlives its stack; a new stack of the same name
    fails with "already exists" when it would create it, and uses it with mode existing."""
    net = make_network(emulator)
    deploy(emulator, "rv", net, GpuRepositoryName="rv-gpu")
    emulator.client("cloudformation").delete_stack(StackName="rv")
    assert repositories(emulator) == {"rv-gpu"}

    # AWS creates the stack and rolls it back ("... already exists"); moto refuses the
    # CreateStack call itself with the same reason.
    from botocore.exceptions import ClientError
    try:
        again = deploy(emulator, "rv-again", net, GpuRepositoryName="rv-gpu")
    except ClientError as e:
        assert "already exists" in str(e)
    else:
        assert again["StackStatus"] == "ROLLBACK_COMPLETE", again["StackStatus"]

    # (moto's refusal comes after it created some resources, which a rollback would have
    # removed: the prefix keeps this stack's queue names apart from those leftovers.)
    stack = deploy(emulator, "rv-reused", net, GpuRepositoryName="rv-gpu",
                   GpuRepositoryMode="existing", Prefix="reused")
    assert stack["StackStatus"] == "CREATE_COMPLETE", stack.get("StackStatusReason")
    assert outputs(stack)[out.REPOSITORY_URIS["gpu"]].endswith(".amazonaws.com/rv-gpu")
    assert out.REPOSITORY_URIS["cpu"] not in outputs(stack)  # the CPU jobs use the hosted image
