"""The AWS emulator the integration tests use: moto in server mode on 127.0.0.1.

Also the console's part of a deployment: a VPC, subnets in three zones and a key pair to fill the
required parameters with, and every parameter value sent explicitly (the console always does,
and moto does not split the default of a list parameter).
"""

from __future__ import annotations

import contextlib
import functools
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Iterator, Optional

import boto3

from rv_batch_cfn.account.stack import stack_outputs
from rv_batch_cfn.inputs import template_data

REGION = "us-east-1"
ACCOUNT = "123456789012"  # moto's default account
ROOT = Path(__file__).resolve().parents[1]
TEMPLATE = ROOT / "cloudformation" / "template.yml"
JOB_DEF_TEMPLATE = ROOT / "cloudformation" / "job-definitions.yml"
# The public half of a key pair whose private half was thrown away.
PUBLIC_KEY = ("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAID67/GUmaSfJxf2Y/Ve237QBwj8owzNcPinzMYXqQv1y "
              "rv-batch-cfn-tests")


@dataclass
class Emulator:
    """A running moto server and helpers to talk to it as a user of this account would."""

    endpoint: str
    region: str = REGION
    env: dict = field(default_factory=dict)

    def client(self, service: str) -> Any:
        """A boto3 client of this emulator, made once per process (clients keep no state between
        calls, and making one reads its service model: about 40 ms)."""
        return _client(service, self.region, self.endpoint)

    def reset(self) -> None:
        """Forget every resource (between tests that must not see each other's stacks)."""
        import urllib.request

        urllib.request.urlopen(urllib.request.Request(
            f"{self.endpoint}/moto-api/reset", method="POST")).read()


@functools.lru_cache(maxsize=None)
def _client(service: str, region: str, endpoint: str) -> Any:
    return boto3.client(service, region_name=region, endpoint_url=endpoint,
                        aws_access_key_id="testing", aws_secret_access_key="testing")


@dataclass
class Network:
    """What the console's required fields are filled with."""

    vpc_id: str
    subnet_ids: list[str]
    zones: list[str]
    key_name: str
    service_role_arn: str


def make_network(emu: Emulator, key_name: str = "rv-key") -> Network:
    ec2 = emu.client("ec2")
    vpc_id = ec2.create_vpc(CidrBlock="10.42.0.0/16")["Vpc"]["VpcId"]
    zones = [f"{emu.region}{z}" for z in "abc"]
    subnets = [ec2.create_subnet(VpcId=vpc_id, CidrBlock=f"10.42.{i}.0/24",
                                 AvailabilityZone=zone)["Subnet"]["SubnetId"]
               for i, zone in enumerate(zones)]
    try:
        # Imported rather than created: moto would generate an RSA key (about 0.1 s), and no
        # test logs in to an instance.
        ec2.import_key_pair(KeyName=key_name, PublicKeyMaterial=PUBLIC_KEY)
    except ec2.exceptions.ClientError as e:  # the same emulator may already have it
        if "Duplicate" not in str(e):
            raise
    return Network(vpc_id, subnets, zones, key_name, batch_service_role(emu))


def make_vpc(emulator: Emulator, zones: list[str]) -> tuple[str, dict[str, str]]:
    """A VPC with one subnet per entry of `zones` (a zone may repeat); subnet id -> zone."""
    ec2 = emulator.client("ec2")
    vpc = ec2.create_vpc(CidrBlock="10.7.0.0/16")["Vpc"]["VpcId"]
    subnets = {}
    for i, zone in enumerate(zones):
        subnet = ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.7.{i}.0/24",
                                   AvailabilityZone=f"us-east-1{zone}")["Subnet"]
        subnets[subnet["SubnetId"]] = subnet["AvailabilityZone"]
    return vpc, subnets


def batch_service_role(emu: Emulator) -> str:
    """moto's compute environment handler insists on a ServiceRole it can find by ARN, where AWS
    falls back to the AWSServiceRoleForBatch service-linked role. Compensate here, in the test
    fixture, by creating that role at its real path and passing its ARN as BatchServiceRoleArn."""
    iam = emu.client("iam")
    name, path = "AWSServiceRoleForBatch", "/aws-service-role/batch.amazonaws.com/"
    try:
        return iam.get_role(RoleName=name)["Role"]["Arn"]
    except iam.exceptions.NoSuchEntityException:
        return iam.create_role(RoleName=name, Path=path, AssumeRolePolicyDocument=(
            '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":'
            '{"Service":"batch.amazonaws.com"},"Action":"sts:AssumeRole"}]}'))["Role"]["Arn"]


def template_defaults(template_text: str) -> dict[str, str]:
    """Every parameter's default, as the console would show it."""
    return dict(_defaults(template_text))


@functools.lru_cache(maxsize=16)
def _defaults(template_text: str) -> tuple:
    data = load_template(template_text)
    return tuple((name, str(p["Default"])) for name, p in data["Parameters"].items()
                 if "Default" in p)


def console_parameters(template_text: str, network: Network, **overrides: Any) -> list[dict]:
    """Every parameter value, as the console sends them: defaults, the required fields, and
    `overrides` (values converted to strings; lists joined with commas)."""
    values = template_defaults(template_text)
    values.update({"VPC": network.vpc_id, "SubnetIds": ",".join(network.subnet_ids),
                   "BatchServiceRoleArn": network.service_role_arn})
    for key, value in overrides.items():
        values[key] = ",".join(value) if isinstance(value, (list, tuple)) else str(value)
    return [{"ParameterKey": k, "ParameterValue": v} for k, v in values.items()]


def wait_stack(cfn: Any, name: str, timeout: float = 60) -> dict:
    """Wait until the stack leaves its *_IN_PROGRESS state; return its description."""
    deadline = time.monotonic() + timeout
    while True:
        stacks = cfn.describe_stacks(StackName=name)["Stacks"]
        if not stacks[0]["StackStatus"].endswith("_IN_PROGRESS") or time.monotonic() > deadline:
            return stacks[0]
        time.sleep(0.05)


def deploy(emu: Emulator, name: str, network: Network, template_text: Optional[str] = None,
           **overrides: Any) -> dict:
    """Create a stack from the template (the committed one by default); return its description."""
    return _submit(emu, "create_stack", name, network, template_text, overrides)


def update(emu: Emulator, name: str, network: Network, template_text: Optional[str] = None,
           **overrides: Any) -> dict:
    """Update a stack the console's way (every value sent again); return its description."""
    return _submit(emu, "update_stack", name, network, template_text, overrides)


def _submit(emu: Emulator, action: str, name: str, network: Network,
            template_text: Optional[str], overrides: dict) -> dict:
    text = template_text if template_text is not None else TEMPLATE.read_text()
    cfn = emu.client("cloudformation")
    getattr(cfn, action)(StackName=name, TemplateBody=text,
                         Parameters=console_parameters(text, network, **overrides),
                         Capabilities=["CAPABILITY_IAM"])
    return wait_stack(cfn, name)


# The product's own reading of a stack's outputs.
outputs = stack_outputs


def physical_ids(emu: Emulator, stack_name: str) -> dict[str, str]:
    """Logical id -> physical id of every resource the stack created."""
    summaries = emu.client("cloudformation").list_stack_resources(
        StackName=stack_name)["StackResourceSummaries"]
    return {r["LogicalResourceId"]: r["PhysicalResourceId"] for r in summaries
            if r["LogicalResourceId"]}


def parameter_values(parameters: list[dict]) -> dict[str, str]:
    """The ParameterKey -> ParameterValue mapping of a Parameters list."""
    return {p["ParameterKey"]: p["ParameterValue"] for p in parameters}


def load_template(text: str) -> dict:
    """The template as plain data, intrinsic functions in their long form (the product's own
    reading of a template, rv_batch_cfn/inputs.py, without its checks)."""
    return template_data(text)


def aws_env(emu: Emulator, **extra: str) -> dict[str, str]:
    """Environment for a subprocess that should reach the emulator the way a user's CLI would."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update({"AWS_ENDPOINT_URL": emu.endpoint, "AWS_REGION": emu.region,
                "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                "AWS_CONFIG_FILE": os.devnull, "AWS_SHARED_CREDENTIALS_FILE": os.devnull})
    env.update(extra)
    return env


def run_cli(emu: Optional[Emulator], *args: str, input: Optional[str] = None,
            env: Optional[dict] = None, endpoint: Optional[str] = None) -> Any:
    """Run `rv-batch-cfn ARGS` as a user would, reaching the emulator through AWS_ENDPOINT_URL
    and AWS_REGION (or `endpoint`, e.g. one where nothing listens); in this process, with what a
    subprocess would print and exit with (tests/cli_runner.py)."""
    from tests import cli_runner

    environment = aws_env(emu) if emu is not None else aws_env(Emulator(endpoint or ""))
    if endpoint:
        environment["AWS_ENDPOINT_URL"] = endpoint
    # No instance-metadata lookups: they would wait for a network that is not there.
    environment["AWS_EC2_METADATA_DISABLED"] = "true"
    environment.update(env or {})
    return cli_runner.run(args, env=environment, cwd=ROOT, input=input)


def network_parameters(network: Network) -> list[str]:
    """The --param arguments for the console's required fields. BatchServiceRoleArn is the
    fixture's stand-in for the service-linked role moto cannot find by itself (see
    batch_service_role)."""
    return ["--param", f"VPC={network.vpc_id}",
            "--param", f"SubnetIds={','.join(network.subnet_ids)}",
            "--param", f"BatchServiceRoleArn={network.service_role_arn}"]


def moto_api(emu: Emulator, path: str, body: Optional[dict] = None) -> bytes:
    """POST to the emulator's own API (/moto-api/...), a JSON body when given."""
    import json
    import urllib.request

    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(f"{emu.endpoint}/moto-api/{path}", data=data, method="POST",
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request) as response:
        return response.read()


def batch_without_docker(emu: Emulator) -> None:
    """Make the emulator's Batch complete submitted jobs at once (SUCCEEDED, with a log stream
    name but no log events) instead of running them in Docker, which this machine lacks."""
    moto_api(emu, "config", {"batch": {"use_docker": False}})


@dataclass
class Recording:
    """The requests the emulator received while recording (moto's request recorder)."""

    path: Path

    def requests(self) -> list[dict]:
        """Every recorded request: method, url, headers and body (decoded)."""
        import base64
        import json

        lines = self.path.read_text().splitlines() if self.path.exists() else []
        entries = [json.loads(line) for line in lines if line.strip()]
        for entry in entries:
            if entry.get("body_encoded"):
                entry["body"] = base64.b64decode(entry["body"]).decode()
        return entries

    def submitted_jobs(self) -> list[dict]:
        """The bodies of the SubmitJob requests (Batch's REST API: POST /v1/submitjob), in the
        order they arrived."""
        import json

        return [json.loads(e["body"]) for e in self.requests()
                if e["method"] == "POST" and e["url"].split("?")[0].endswith("/v1/submitjob")]


@contextlib.contextmanager
def recording(emu: Emulator, path: Path) -> Iterator[Recording]:
    """Record the requests the emulator receives inside the block, into the file `path`.

    moto keeps what AWS would not report back (a submit-time retry strategy, for one), so tests
    read the requests themselves. moto's recorder writes where MOTO_RECORDER_FILEPATH said when
    moto was imported (./moto_recording by default); the server runs in this process, so the
    file is pointed at the test's own directory instead.
    """
    from moto.moto_api import recorder

    previous = recorder._location
    recorder._location = str(path)
    moto_api(emu, "recorder/reset-recording")
    moto_api(emu, "recorder/start-recording")
    try:
        yield Recording(path)
    finally:
        moto_api(emu, "recorder/stop-recording")
        recorder._location = previous


def set_job_state(emu: Emulator, job_id: str, status: str, reason: Optional[str] = None, *,
                  created_ago: Optional[float] = None, ran_for: Optional[float] = None,
                  exit_code: Optional[int] = None, attempts: Optional[list[dict]] = None,
                  stream: Optional[str] = None) -> None:
    """Put a job in the state a test needs, as Batch would report it.

    moto's Batch without Docker completes every job at once; in AWS jobs wait (RUNNABLE, with a
    reason when blocked), run, fail and are retried. The server runs in this process, so the
    state is set on moto's own job object: `created_ago` and `ran_for` in seconds, `attempts`
    as DescribeJobs reports them (finished attempts), `stream` the current attempt's log stream
    (an ended job's is its last attempt's).
    """
    from datetime import datetime, timedelta

    from moto.batch.models import batch_backends

    account = emu.client("sts").get_caller_identity()["Account"]
    job = batch_backends[account][emu.region]._jobs[job_id]
    now = datetime.now()
    if created_ago is not None:
        job.job_created_at = now - timedelta(seconds=created_ago)
    job.status = status
    job.job_stopped_reason = reason
    job.job_stopped = status in ("SUCCEEDED", "FAILED")
    started = status in ("RUNNING", "SUCCEEDED", "FAILED")
    if started and ran_for is not None:
        job.job_started_at = now - timedelta(seconds=ran_for)
        job.job_stopped_at = now
    if not started and status != "STARTING":
        job.log_stream_name = None
        job.attempts = []
    if attempts is not None:
        job.attempts = attempts
        if job.job_stopped and attempts:
            job.log_stream_name = attempts[-1]["container"]["logStreamName"]
    if stream is not None:
        job.log_stream_name = stream
    job.exit_code = exit_code


def deploy_project(emulator, name: str, **values) -> dict:
    """A job-definitions stack, every parameter sent as the console sends them."""
    text = JOB_DEF_TEMPLATE.read_text()
    declared = load_template(text)["Parameters"]
    sent = {k: str(p["Default"]) for k, p in declared.items() if "Default" in p}
    sent.update({k: str(v) for k, v in values.items()})
    cfn = emulator.client("cloudformation")
    cfn.create_stack(StackName=name, TemplateBody=text,
                     Parameters=[{"ParameterKey": k, "ParameterValue": v} for k, v in sent.items()])
    stack = wait_stack(cfn, name)
    assert stack["StackStatus"] == "CREATE_COMPLETE", stack["StackStatus"]
    return {"stack": stack, "sent": sent}


# --- Instance type offerings: the test's data, not moto's -------------------------------------
# moto answers DescribeInstanceTypeOfferings (and prices spot only for the pairs offered) from
# the per-zone data it bundles, which changes in its patch releases (moto 5.2.6 began offering
# g7e.2xlarge in us-east-1b). A test never takes that data as fact: unless it calls `offer`, the
# emulator offers every instance type it knows in every zone of the region; with `offer`, exactly
# the types the test names in each zone (a zone it leaves out offers none).


def offer(emu: Emulator, table: dict[str, Iterable[str]]) -> None:
    """Make the emulator's region offer, per availability zone (`us-east-1a`, or its letter
    `a`), exactly the given instance types, until the emulator is reset."""
    from moto.ec2.models import ec2_backends

    backend = ec2_backends[ACCOUNT][emu.region]
    zone = (lambda z: z if z.startswith(emu.region) else emu.region + z)
    backend.offered_by_test = {zone(z): set(types) for z, types in table.items()}


def _offered(backend: Any, location_type: str, types: Optional[Iterable[str]] = None) -> list:
    """The offerings of `backend`'s region (of `types` only, when given): the test's table, else
    every type in every zone."""
    from moto.ec2.models.instance_types import INSTANCE_TYPES

    table = getattr(backend, "offered_by_test", None)
    zones = {z.name: z.zone_id for z in backend.describe_availability_zones()}
    if table is None:
        table = dict.fromkeys(zones, INSTANCE_TYPES.keys())
    wanted = (lambda offered: sorted(offered if types is None else set(types) & set(offered)))
    if location_type == "region":
        every = set().union(*table.values()) if table else set()
        return [{"InstanceType": t, "LocationType": "region", "Location": backend.region_name}
                for t in wanted(every)]
    return [{"InstanceType": t, "LocationType": location_type,
             "Location": z if location_type == "availability-zone" else zones[z]}
            for z in sorted(table) if z in zones for t in wanted(table[z])]


def make_offerings_owned() -> None:
    """Patch the in-process moto so that DescribeInstanceTypeOfferings and the spot price
    history answer from `_offered` (idempotent). moto's own filters still apply."""
    from moto.ec2.models.instance_types import InstanceTypeOfferingBackend
    from moto.ec2.models.spot_requests import SpotRequestBackend

    if getattr(InstanceTypeOfferingBackend, "offerings_owned_by_tests", False):
        return

    def describe_instance_type_offerings(self: Any, location_type: Optional[str] = None,
                                         filters: Optional[dict] = None) -> list:
        location_type = location_type or "region"
        types = (filters or {}).get("instance-type")
        return [o for o in _offered(self, location_type, types)
                if self.matches_filters(o, filters or {}, location_type)]

    def describe_spot_price_history(self: Any, instance_types: Optional[list] = None,
                                    filters: Optional[dict] = None) -> list:
        wanted = {"availability-zone": "Location", "instance-type": "InstanceType"}
        types = (filters or {}).get("instance-type") or instance_types or None
        return [o for o in _offered(self, "availability-zone", types)
                if all(key in wanted and o[wanted[key]] in values
                       for key, values in (filters or {}).items())
                and (not instance_types or o["InstanceType"] in instance_types)]

    InstanceTypeOfferingBackend.describe_instance_type_offerings = \
        describe_instance_type_offerings
    SpotRequestBackend.describe_spot_price_history = describe_spot_price_history
    InstanceTypeOfferingBackend.offerings_owned_by_tests = True
