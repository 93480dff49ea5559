"""Optional extras that cannot be read become a note, and the command's main answer stands:
`choose-subnets` behind an endpoint without GetSpotPlacementScores (moto lacks it, as an emulator
such as LocalStack or a proxy may) or without spot prices; `request-quota` names the instance
types it could not size instead of saying there is nothing to request.

The endpoint is a proxy in front of the emulator (tests/aws/faulty_endpoints.py) that
answers the one action as moto answers an action it lacks, and forwards everything else.
"""

from __future__ import annotations

import json

import pytest

from tests.aws.faulty_endpoints import NOT_IMPLEMENTED, ActionProxy
from tests.emulator import deploy, make_network, make_vpc, run_cli

TYPES = "g7e.2xlarge,m6i.xlarge"


@pytest.fixture
def without(emulator):
    """A proxy answering the given actions as an endpoint without them."""
    proxies = []

    def make(*actions: str) -> ActionProxy:
        proxy = ActionProxy(emulator.endpoint, {a: NOT_IMPLEMENTED for a in actions})
        proxies.append(proxy)
        return proxy
    yield make
    for proxy in proxies:
        proxy.close()


def choose(emulator, vpc: str, endpoint=None, *args: str):
    return run_cli(emulator, "choose-subnets", "--vpc", vpc, "--instance-types", TYPES, *args,
                   endpoint=endpoint)


def test_choose_subnets_without_placement_scores_still_recommends(emulator, without):
    vpc, _ = make_vpc(emulator, ["a", "b", "c"])
    direct = json.loads(choose(emulator, vpc, None, "--json").stdout)
    proxy = without("GetSpotPlacementScores")

    result = choose(emulator, vpc, proxy.url, "--json")

    assert "GetSpotPlacementScores" in proxy.answered
    assert result.returncode == (0 if direct["recommended"] else 1), result.stderr
    answer = json.loads(result.stdout)
    assert answer["recommended"] == direct["recommended"]  # the main answer stands
    refused = [s["refused"] for s in answer["spot_placement_scores"]]
    assert refused and all("cannot get spot placement scores" in r for r in refused)
    assert "cannot get spot placement scores" in answer["region_scores_refused"]

    table = choose(emulator, vpc, proxy.url)
    assert table.returncode == result.returncode, table.stderr
    assert "GPU spot placement scores (1 to 10)" in table.stdout and "not available (" in \
        table.stdout
    assert table.stdout.rstrip().splitlines()[-1].startswith(("Recommended SubnetIds", "No zone"))


def test_choose_subnets_without_spot_prices_notes_the_order(emulator, without):
    vpc, _ = make_vpc(emulator, ["a", "b", "c"])
    direct = json.loads(choose(emulator, vpc, None, "--json").stdout)
    proxy = without("DescribeSpotPriceHistory")

    result = choose(emulator, vpc, proxy.url, "--json")

    assert result.returncode == (0 if direct["recommended"] else 1), result.stderr
    answer = json.loads(result.stdout)
    assert sorted(answer["recommended"]) == sorted(direct["recommended"])
    [note] = answer["notes"]
    assert note.startswith("spot prices not read (cannot describe spot price history")
    assert "zone order, not cheapest first" in note
    assert {p for r in answer["subnets"] for p in r["spot_prices"].values()} == {None}
    table = choose(emulator, vpc, proxy.url)
    assert "Note: spot prices not read" in table.stdout


def stack_value(emulator, stack: str, key: str, value: str) -> None:
    """Set a parameter value on the emulator's record of a stack (same process). moto, like
    Batch, refuses a type EC2 does not describe when the stack is made; a stack can still hold
    one: a type retired since, or a value this reading cannot take apart."""
    from moto.cloudformation.models import cloudformation_backends
    from moto.core import DEFAULT_ACCOUNT_ID

    backend = cloudformation_backends[DEFAULT_ACCOUNT_ID][emulator.region]
    [record] = [s for s in backend.stacks.values() if s.name == stack]
    record.resource_map.resolved_parameters[key] = value


def test_request_quota_names_the_types_it_could_not_size(emulator):
    deploy(emulator, "rv", make_network(emulator))
    stack_value(emulator, "rv", "GpuInstanceTypes", "g9z.2xlarge")

    result = run_cli(emulator, "request-quota", "--stack", "rv", "--kind", "gpu", "--dry-run")
    assert result.returncode == 1, result.stderr
    assert "Nothing to request." not in result.stdout
    assert ("Not sized, so nothing requested for them: the GPU instance types g9z.2xlarge "
            "(EC2 in us-east-1 describes no such type). Check the stack's GpuInstanceTypes"
            in result.stdout)
    data = json.loads(run_cli(emulator, "request-quota", "--stack", "rv", "--kind", "gpu",
                              "--dry-run", "--json").stdout)
    assert data["unsized_instance_types"] == {"gpu": ["g9z.2xlarge"]}

    # One unknown type beside a known one: the known one is sized and its quota shown.
    stack_value(emulator, "rv", "GpuInstanceTypes", "g5.2xlarge,g9z.2xlarge")
    mixed = run_cli(emulator, "request-quota", "--stack", "rv", "--kind", "gpu", "--dry-run",
                    "--json")
    assert mixed.returncode == 1, mixed.stderr
    plan = json.loads(mixed.stdout)
    assert plan["quotas"] and plan["unsized_instance_types"] == {"gpu": ["g9z.2xlarge"]}


def test_doctor_without_service_quotas_notes_the_quotas_and_checks_the_rest(emulator, without):
    from rv_batch_cfn.aws import doctor

    deploy(emulator, "rv", make_network(emulator))
    direct = json.loads(run_cli(emulator, "doctor", "--stack", "rv", "--json").stdout)
    proxy = without("GetServiceQuota", "GetAWSDefaultServiceQuota")

    result = run_cli(emulator, "doctor", "--stack", "rv", "--json", endpoint=proxy.url)

    assert proxy.answered
    assert ": error:" not in result.stderr and "Traceback" not in result.stderr
    report = json.loads(result.stdout)
    [note] = [f for f in report["findings"] if f["check"] == doctor.QUOTAS]
    assert note["status"] == doctor.NOTE
    assert note["message"].startswith("EC2 vCPU quotas not checked: cannot read the quota")
    # every other check answers as it did with the quotas readable
    others = [(f["check"], f["status"]) for f in report["findings"]
              if f["check"] != doctor.QUOTAS]
    assert others == [(f["check"], f["status"]) for f in direct["findings"]
                      if f["check"] != doctor.QUOTAS]
