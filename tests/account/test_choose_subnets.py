"""`rv-batch-cfn choose-subnets` on emulator VPCs whose zones offer what each test sets up
(`offer`; moto's bundled offerings change between its releases).

The tests' offerings mirror AWS's shape: a new GPU type in some zones only, a CPU type in most,
a zone offering neither. moto gives every offered (type, zone) the same synthetic spot price, so
the price order is tested on `rank` directly.
"""

from __future__ import annotations

import json

from rv_batch_cfn.account.subnets import SubnetRow, rank, zone_price
from tests.cli_runner import assert_one_clean_error
from tests.emulator import make_vpc, offer

TYPES = "g7e.2xlarge,m6i.xlarge"
# The GPU type in 1a and 1c only, the CPU type in every zone but 1e.
OFFERED = {"a": ["g7e.2xlarge", "m6i.xlarge"], "b": ["m6i.xlarge"],
           "c": ["g7e.2xlarge", "m6i.xlarge"], "d": ["m6i.xlarge"], "e": ["m3.medium"]}


def test_recommends_the_subnets_of_zones_offering_every_type(emulator, cli):
    offer(emulator, OFFERED)
    vpc, subnets = make_vpc(emulator, ["a", "b", "c", "c", "e"])
    in_zone = {zone: sorted(s for s, z in subnets.items() if z == zone)
               for zone in set(subnets.values())}

    result = cli("choose-subnets", "--vpc", vpc, "--instance-types", TYPES, "--json")

    assert result.returncode == 0, result.stderr
    choice = json.loads(result.stdout)
    expected = in_zone["us-east-1a"] + in_zone["us-east-1c"]  # equal prices: zone, then id
    assert choice["recommended"] == expected
    assert choice["SubnetIds"] == ",".join(expected)
    assert choice["gpu_instance_types"] == ["g7e.2xlarge"]
    assert choice["cpu_instance_types"] == ["m6i.xlarge"]
    rows = {r["subnet"]: r for r in choice["subnets"]}
    assert rows[in_zone["us-east-1b"][0]]["offered"] == {"g7e.2xlarge": False, "m6i.xlarge": True}
    assert rows[in_zone["us-east-1e"][0]]["offered"] == {"g7e.2xlarge": False,
                                                         "m6i.xlarge": False}
    assert rows[expected[0]]["spot_prices"]["g7e.2xlarge"] is not None

    table = cli("choose-subnets", "--vpc", vpc, "--instance-types", TYPES)
    assert table.returncode == 0
    assert "not offered" in table.stdout
    assert table.stdout.rstrip().endswith(",".join(expected))


def test_no_zone_offering_every_type_exits_1_naming_the_rarest_type(emulator, cli):
    offer(emulator, OFFERED)
    vpc, _ = make_vpc(emulator, ["b", "e"])

    result = cli("choose-subnets", "--vpc", vpc, "--instance-types", TYPES)

    assert result.returncode == 1, result.stderr
    assert ("offers every type. Drop the type offered in fewest of them, g7e.2xlarge (0 of 2)"
            in result.stdout)


def test_bad_input_is_one_clear_error(emulator, cli):
    vpc, _ = make_vpc(emulator, ["a"])
    assert_one_clean_error(cli("choose-subnets", "--vpc", "vpc-0123456789abcdef0"),
                           "VPC 'vpc-0123456789abcdef0' not found in region us-east-1")
    assert_one_clean_error(cli("choose-subnets", "--vpc", vpc, "--instance-types",
                               "g5.2xlarge,g9z.2xlarge"),
                           "EC2 in us-east-1 knows no instance type g9z.2xlarge")
    assert_one_clean_error(cli("choose-subnets", "--vpc", vpc, "--instance-types", "g5,m6i.large"),
                           "--instance-types: got g5; allowed: instance types such as g5.2xlarge")
    empty = emulator.client("ec2").create_vpc(CidrBlock="10.9.0.0/16")["Vpc"]["VpcId"]
    assert_one_clean_error(cli("choose-subnets", "--vpc", empty), f"VPC {empty} has no subnets")


def test_cheapest_zone_first_and_zones_without_a_price_after_priced_ones():
    gpu, cpu = ["g5.2xlarge", "g6.2xlarge"], ["m6i.xlarge"]
    prices = {
        ("g5.2xlarge", "z-a"): 0.50, ("g6.2xlarge", "z-a"): 0.45, ("m6i.xlarge", "z-a"): 0.10,
        ("g5.2xlarge", "z-b"): 0.30, ("g6.2xlarge", "z-b"): 0.60, ("m6i.xlarge", "z-b"): 0.10,
        ("m6i.xlarge", "z-c"): 0.01,  # no GPU price in z-c: cheap-looking, but unknown
        ("g5.2xlarge", "z-d"): 0.01, ("m6i.xlarge", "z-d"): 0.01,
    }
    offered_everywhere = dict.fromkeys(gpu + cpu, True)

    def row(subnet: str, zone: str, eligible: bool = True) -> SubnetRow:
        offered = offered_everywhere if eligible else {**offered_everywhere, "g6.2xlarge": False}
        return SubnetRow(subnet, zone, offered, {}, zone_price(prices, zone, gpu, cpu))

    assert zone_price(prices, "z-a", gpu, cpu) == 0.45 + 0.10  # the cheaper GPU type counts
    assert zone_price(prices, "z-c", gpu, cpu) is None
    ranked = rank([row("s-c", "z-c"), row("s-d", "z-d", eligible=False), row("s-a", "z-a"),
                   row("s-b", "z-b")])
    assert [r.subnet_id for r in ranked] == ["s-b", "s-a", "s-c", "s-d"]


def test_the_emulator_offers_what_the_test_sets_up(emulator):
    """The tests' offerings hook (tests/emulator.py): every type in every zone unless a test
    calls `offer`, then exactly its table, spot prices included (moto prices what is offered)."""
    ec2 = emulator.client("ec2")

    def offered() -> set[tuple[str, str]]:
        pages = ec2.get_paginator("describe_instance_type_offerings").paginate(
            LocationType="availability-zone",
            Filters=[{"Name": "instance-type", "Values": ["g7e.2xlarge", "m6i.xlarge"]}])
        return {(o["InstanceType"], o["Location"][-1]) for page in pages
                for o in page["InstanceTypeOfferings"]}

    zones = [z["ZoneName"][-1] for z in ec2.describe_availability_zones()["AvailabilityZones"]]
    assert offered() == {(t, z) for t in ("g7e.2xlarge", "m6i.xlarge") for z in zones}
    offer(emulator, OFFERED)
    assert offered() == {(t, z) for z, types in OFFERED.items() for t in types
                         if t != "m3.medium"}
    priced = ec2.describe_spot_price_history(InstanceTypes=["g7e.2xlarge"])["SpotPriceHistory"]
    assert sorted(p["AvailabilityZone"] for p in priced) == ["us-east-1a", "us-east-1c"]
