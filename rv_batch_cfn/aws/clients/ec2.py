"""What EC2 says about instance types and subnets: sizes, the zones that offer a type, spot prices.

Shared by `choose-subnets` (before deploying) and `doctor` (after). Sizes come back as
`rv_batch_cfn.instance_types.InstanceType`, so the ECS agent's memory reserve is computed by the
same rule as the generation-time check.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from typing import Any, Iterable, Optional

from ...errors import AwsError
from ...instance_types import InstanceType
from .session import aws_error, aws_errors, error_code

# Batch's "optimal" picks from families it chooses itself; nothing to look up.
OPTIMAL = "optimal"
# Spot prices of Linux instances: inside a VPC (every Batch instance) and the EC2-Classic-era name.
LINUX = ["Linux/UNIX", "Linux/UNIX (Amazon VPC)"]


def is_family(name: str) -> bool:
    """Whether `name` is an instance family (g5) rather than an instance type (g5.2xlarge)."""
    return "." not in name and name != OPTIMAL


@dataclass(frozen=True)
class TypeLookup:
    """Instance types by the names a compute environment lists; a family maps to all its sizes."""

    types: dict[str, tuple[InstanceType, ...]]
    unknown: tuple[str, ...]

    def concrete(self) -> list[InstanceType]:
        """Every concrete instance type found, once each, by name."""
        seen = {t.name: t for found in self.types.values() for t in found}
        return [seen[name] for name in sorted(seen)]


def instance_type_from_api(description: dict) -> InstanceType:
    """An InstanceType from one entry of ec2:DescribeInstanceTypes."""
    gpus = sum(g.get("Count", 0) for g in description.get("GpuInfo", {}).get("Gpus", []))
    return InstanceType(description["InstanceType"], description["VCpuInfo"]["DefaultVCpus"],
                        description["MemoryInfo"]["SizeInMiB"], gpus)


def describe_types(ec2: Any, names: Iterable[str]) -> TypeLookup:
    """Look up instance types and families (not 'optimal'); unknown names are returned, not raised.

    A filter instead of the InstanceTypes argument, because that argument fails the whole call
    on the first unknown name, and because a filter accepts the family wildcard (g5.*).
    """
    names = sorted(set(names) - {OPTIMAL})
    if not names:
        return TypeLookup({}, ())
    values = [f"{n}.*" if is_family(n) else n for n in names]
    found: list[InstanceType] = []
    with aws_errors("describe instance types " + ", ".join(names)):
        for page in ec2.get_paginator("describe_instance_types").paginate(
                Filters=[{"Name": "instance-type", "Values": values}]):
            found += [instance_type_from_api(d) for d in page["InstanceTypes"]]
    types = {}
    for name in names:
        matches = tuple(sorted((t for t in found if t.name == name or
                                (is_family(name) and t.name.split(".")[0] == name)),
                               key=lambda t: (t.vcpus, t.memory_mib, t.name)))
        if matches:
            types[name] = matches
    return TypeLookup(types, tuple(n for n in names if n not in types))


def offerings(ec2: Any, types: Iterable[str], zones: Iterable[str]) -> set[tuple[str, str]]:
    """The (instance type, zone) pairs EC2 offers, among the given types and zones."""
    types, zones = sorted(set(types)), sorted(set(zones))
    if not types or not zones:
        return set()
    pairs = set()
    with aws_errors("describe instance type offerings"):
        for page in ec2.get_paginator("describe_instance_type_offerings").paginate(
                LocationType="availability-zone",
                Filters=[{"Name": "instance-type", "Values": types},
                         {"Name": "location", "Values": zones}]):
            pairs |= {(o["InstanceType"], o["Location"]) for o in page["InstanceTypeOfferings"]}
    return pairs


def spot_prices(ec2: Any, types: Iterable[str],
                zones: Iterable[str]) -> dict[tuple[str, str], float]:
    """The current Linux spot price (USD per hour) per (instance type, zone); pairs without a
    price (never sold as spot there, or an API that keeps no history) are simply absent."""
    types, zones = sorted(set(types)), sorted(set(zones))
    if not types or not zones:
        return {}
    latest: dict[tuple[str, str], tuple[Any, float]] = {}
    # A start time of now returns, per zone and type, the price in effect now: no history to page.
    now = datetime.datetime.now(datetime.timezone.utc)
    with aws_errors("describe spot price history"):
        for page in ec2.get_paginator("describe_spot_price_history").paginate(
                InstanceTypes=types, ProductDescriptions=LINUX, StartTime=now,
                Filters=[{"Name": "availability-zone", "Values": zones}]):
            for entry in page["SpotPriceHistory"]:
                key = (entry["InstanceType"], entry["AvailabilityZone"])
                if key[1] not in zones:
                    continue
                try:
                    price = float(entry["SpotPrice"])
                except (KeyError, ValueError):
                    continue
                stamp = entry.get("Timestamp")
                if key not in latest or (stamp and latest[key][0] and stamp > latest[key][0]):
                    latest[key] = (stamp, price)
    return {key: price for key, (_, price) in latest.items()}


def vpc_subnets(ec2: Any, vpc_id: str) -> dict[str, str]:
    """Subnet id -> availability zone for every subnet of the VPC; AwsError when it is unknown."""
    region = ec2.meta.region_name
    try:
        ec2.describe_vpcs(VpcIds=[vpc_id])
    except Exception as e:  # botocore's ClientError; error_code tells the expected one apart
        if error_code(e) in ("InvalidVpcID.NotFound", "InvalidVpcID.Malformed"):
            raise AwsError(f"VPC {vpc_id!r} not found in region {region} (check --region / "
                           "AWS_REGION; `aws ec2 describe-vpcs` lists them)") from None
        raise aws_error(f"describe VPC {vpc_id}", e) from None
    subnets: dict[str, str] = {}
    with aws_errors(f"describe the subnets of {vpc_id}"):
        for page in ec2.get_paginator("describe_subnets").paginate(
                Filters=[{"Name": "vpc-id", "Values": [vpc_id]}]):
            subnets.update({s["SubnetId"]: s["AvailabilityZone"] for s in page["Subnets"]})
    return subnets


def subnet_zones(ec2: Any, subnet_ids: Iterable[str]) -> tuple[dict[str, str], list[str]]:
    """(subnet id -> zone, ids that do not exist); a deleted subnet is a finding, not an error."""
    ids = sorted(set(subnet_ids))
    zones: dict[str, str] = {}
    missing: list[str] = []
    if not ids:
        return zones, missing
    try:
        with_all = ec2.describe_subnets(SubnetIds=ids)["Subnets"]
        return {s["SubnetId"]: s["AvailabilityZone"] for s in with_all}, missing
    except Exception as e:
        if error_code(e) != "InvalidSubnetID.NotFound":
            raise aws_error("describe subnets " + ", ".join(ids), e) from None
    # One unknown id fails the whole call; ask one by one to learn which.
    for subnet_id in ids:
        try:
            subnet = ec2.describe_subnets(SubnetIds=[subnet_id])["Subnets"][0]
            zones[subnet_id] = subnet["AvailabilityZone"]
        except Exception as e:
            if error_code(e) != "InvalidSubnetID.NotFound":
                raise aws_error(f"describe subnet {subnet_id}", e) from None
            missing.append(subnet_id)
    return zones, missing


def cheapest(prices: dict[tuple[str, str], float], types: Iterable[str], zone: str
             ) -> Optional[float]:
    """The lowest spot price among `types` in `zone`, or None when none has a price there."""
    found = [prices[(t, zone)] for t in types if (t, zone) in prices]
    return min(found) if found else None
