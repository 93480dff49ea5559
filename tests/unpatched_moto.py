"""moto as it comes, in a process of its own, for the canaries (tests/test_moto_like_aws.py and
tests/test_moto_like_aws_alerts.py): the emulator fixture patches moto in the test process, so
an unpatched moto cannot run there.

`start(log)` runs the server and gives its clients; tests/conftest.py holds the one
session fixture that does, so both canary modules (one xdist group, one worker) share one server.
A fixture imported into a second test module is a second fixture there, with its own server:
that cost a second start (about 2 s) per run.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import urllib.request
from pathlib import Path
from typing import Any, Callable, Iterator

from tests.emulator import batch_service_role, wait_stack

REGION = "us-east-1"
ROOT = Path(__file__).resolve().parents[1]
SERVER = textwrap.dedent("""
    import logging, sys
    from moto.server import ThreadedMotoServer
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    print("http://%s:%d" % server.get_host_and_port(), flush=True)
    sys.stdin.read()  # serve until the test process closes stdin or exits
    server.stop()
""")
FASTER = ("import sys; sys.path.insert(0, %r)\n"
          "from tests.moto_speed import make_moto_faster; make_moto_faster()\n")
PATCHED = ("import sys; sys.path.insert(0, %r)\n"
           "from tests.moto_like_aws import make_moto_like_aws; make_moto_like_aws()\n")


class Unpatched:
    """boto3 clients of the unpatched moto server (no retries: a 500 fails at once)."""

    def __init__(self, endpoint: str) -> None:
        self.endpoint = endpoint
        self._clients: dict[str, Any] = {}

    def __call__(self, service: str) -> Any:
        if service not in self._clients:
            import boto3
            from botocore.config import Config

            self._clients[service] = boto3.client(
                service, region_name=REGION, endpoint_url=self.endpoint,
                aws_access_key_id="testing", aws_secret_access_key="testing",
                config=Config(retries={"total_max_attempts": 1}))
        return self._clients[service]

    def client(self, service: str) -> Any:
        """As tests.emulator.Emulator.client, for the helpers there."""
        return self(service)

    def reset(self) -> None:
        urllib.request.urlopen(urllib.request.Request(
            f"{self.endpoint}/moto-api/reset", method="POST")).read()


class NotStarted(Exception):
    """The server printed no endpoint; the message holds its log."""


def start(log: Path) -> Iterator[Unpatched]:
    """Run the unpatched server until the generator is closed; its log goes to `log`. With
    RV_CANARIES_AGAINST_PATCHED set, the server gets make_moto_like_aws() as the emulator does
    (to check the canaries themselves: each must then fail)."""
    # moto's catalogue of public images would cost each reset a second and no canary uses it.
    env = {**os.environ, "MOTO_EC2_LOAD_DEFAULT_AMIS": "false"}
    # The same results, sooner (tests/moto_speed.py): no difference from moto to hide.
    script = FASTER % str(ROOT) + SERVER
    if os.environ.get("RV_CANARIES_AGAINST_PATCHED"):
        script = PATCHED % str(ROOT) + script
    with open(log, "w") as err:
        process = subprocess.Popen([sys.executable, "-c", script], stdin=subprocess.PIPE,
                                   stdout=subprocess.PIPE, stderr=err, text=True, env=env)
    endpoint = process.stdout.readline().strip()
    if not endpoint:
        process.wait(timeout=10)
        raise NotStarted(f"the unpatched moto server did not start:\n{log.read_text()}")
    try:
        yield Unpatched(endpoint)
    finally:
        process.stdin.close()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


# --- what the canaries of both modules build on the unpatched server ----------------------------

def fails(call: Callable[[], Any]) -> bool:
    """Whether the API call fails (an error response, or moto's HTML page for a crash)."""
    from botocore.exceptions import BotoCoreError, ClientError
    from botocore.parsers import ResponseParserError

    try:
        call()
    except (ClientError, BotoCoreError, ResponseParserError):
        return True
    return False


def body(template: Any) -> str:
    return template if isinstance(template, str) else json.dumps(template)


def parameters(values: dict[str, Any]) -> list[dict]:
    return [{"ParameterKey": k, "UsePreviousValue": True} if v is None
            else {"ParameterKey": k, "ParameterValue": v} for k, v in values.items()]


def create_stack(aws: Unpatched, name: str, template: Any, **values: str) -> dict:
    cfn = aws("cloudformation")
    cfn.create_stack(StackName=name, TemplateBody=body(template), Parameters=parameters(values),
                     Capabilities=["CAPABILITY_NAMED_IAM"])
    stack = wait_stack(cfn, name, timeout=10)
    assert stack["StackStatus"] == "CREATE_COMPLETE", f"canary set-up failed: {stack}"
    return stack


TRUST = json.dumps({"Version": "2012-10-17", "Statement": [{
    "Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}]})


def batch_network(aws: Unpatched) -> dict[str, str]:
    """A subnet, a security group, an instance profile and the service role moto wants."""
    ec2, iam = aws("ec2"), aws("iam")
    vpc = ec2.create_vpc(CidrBlock="10.9.0.0/16")["Vpc"]["VpcId"]
    subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.9.1.0/24")["Subnet"]["SubnetId"]
    group = ec2.create_security_group(GroupName="canary", Description="canary", VpcId=vpc)
    iam.create_role(RoleName="canary", AssumeRolePolicyDocument=TRUST)
    profile = iam.create_instance_profile(InstanceProfileName="canary")["InstanceProfile"]
    iam.add_role_to_instance_profile(InstanceProfileName="canary", RoleName="canary")
    return {"subnet": subnet, "group": group["GroupId"], "profile": profile["Arn"],
            "service_role": batch_service_role(aws)}


def batch_template(network: dict[str, str], max_vcpus: int = 4, priority: int = 1,
                   image: str = "busybox", service_role: bool = True) -> dict:
    """A compute environment, its queue and a job definition."""
    environment = {"Type": "MANAGED", "ComputeResources": {
        "Type": "EC2", "MinvCpus": 0, "MaxvCpus": max_vcpus, "InstanceTypes": ["m5.large"],
        "Subnets": [network["subnet"]], "SecurityGroupIds": [network["group"]],
        "InstanceRole": network["profile"]}}
    if service_role:
        environment["ServiceRole"] = network["service_role"]
    return {"Resources": {
        "Environment": {"Type": "AWS::Batch::ComputeEnvironment", "Properties": environment},
        "Queue": {"Type": "AWS::Batch::JobQueue", "Properties": {
            "JobQueueName": "canary", "Priority": priority, "ComputeEnvironmentOrder": [
                {"Order": 1, "ComputeEnvironment": {"Ref": "Environment"}}]}},
        "Definition": {"Type": "AWS::Batch::JobDefinition", "Properties": {
            "JobDefinitionName": "canary", "Type": "container", "RetryStrategy": {"Attempts": 1},
            "ContainerProperties": {"Image": image, "Vcpus": 1, "Memory": 512}}}}}
