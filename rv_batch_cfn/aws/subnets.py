"""`choose-subnets`: which subnets of a VPC to give the stack's SubnetIds, and why.

Batch launches instances only in the zones of the compute environment's subnets, and only of the
types offered there; a subnet whose zone offers none of the types adds nothing, and one whose
zone lacks some types narrows the spot pools. This replaces the hunt through the console's Spot
Pricing History: a table per subnet, and the subnets of the zones that offer every type,
cheapest zone first.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Optional, Sequence

from ..errors import AwsError
from .clients import ec2 as ec2_reads
from .clients.session import check_credentials


@dataclass(frozen=True)
class SubnetRow:
    """One subnet: its zone, which types its zone offers, and their spot prices there."""

    subnet_id: str
    zone: str
    offered: dict[str, bool]
    prices: dict[str, Optional[float]]
    zone_price: Optional[float]

    @property
    def eligible(self) -> bool:
        """Whether the zone offers every instance type asked about."""
        return all(self.offered.values())


@dataclass(frozen=True)
class SubnetChoice:
    """The table and the recommendation for one VPC and a set of instance types."""

    vpc_id: str
    region: str
    gpu_types: tuple[str, ...]
    cpu_types: tuple[str, ...]
    rows: tuple[SubnetRow, ...]
    recommended: tuple[str, ...]
    notes: tuple[str, ...] = ()  # what could not be read (an optional extra: the prices)

    @property
    def subnet_ids(self) -> str:
        """The recommended SubnetIds value, comma-separated as the console takes it."""
        return ",".join(self.recommended)

    def as_dict(self) -> dict:
        """Plain data for --json."""
        return {
            "vpc": self.vpc_id, "region": self.region,
            "gpu_instance_types": list(self.gpu_types), "cpu_instance_types": list(self.cpu_types),
            "subnets": [{"subnet": r.subnet_id, "zone": r.zone, "offered": r.offered,
                         "spot_prices": r.prices, "zone_price": r.zone_price,
                         "eligible": r.eligible} for r in self.rows],
            "recommended": list(self.recommended),
            "SubnetIds": self.subnet_ids,
            "notes": list(self.notes),
        }


def zone_price(prices: dict[tuple[str, str], float], zone: str, gpu_types: Sequence[str],
               cpu_types: Sequence[str]) -> Optional[float]:
    """What an hour of one GPU and one CPU instance costs in `zone` at current spot prices.

    Batch picks among the listed types of a kind, so each kind counts at its cheapest type;
    None when a kind that was asked about has no price in the zone.
    """
    total = 0.0
    for types in (gpu_types, cpu_types):
        if not types:
            continue
        price = ec2_reads.cheapest(prices, types, zone)
        if price is None:
            return None
        total += price
    return total


def rank(rows: Sequence[SubnetRow]) -> tuple[SubnetRow, ...]:
    """Eligible subnets first, cheapest zone first (zones without a price after those with one),
    then the rest; zone and subnet id break ties so the order is stable."""
    def key(row: SubnetRow):
        return (not row.eligible, row.zone_price is None, row.zone_price or 0.0, row.zone,
                row.subnet_id)
    return tuple(sorted(rows, key=key))


def choose_subnets(session: Any, vpc_id: str, instance_types: Sequence[str]) -> SubnetChoice:
    """Describe every subnet of `vpc_id` for `instance_types`, and recommend SubnetIds.

    Raises AwsError for an unknown VPC, a VPC without subnets, or unknown instance types.
    """
    names = list(dict.fromkeys(t.strip() for t in instance_types if t.strip()))
    if not names:
        raise AwsError("--instance-types: got nothing; allowed: comma-separated instance types "
                       "such as g5.2xlarge,m6i.xlarge")
    not_types = [n for n in names if ec2_reads.is_family(n) or n == ec2_reads.OPTIMAL]
    if not_types:
        raise AwsError(f"--instance-types: got {', '.join(not_types)}; allowed: instance types "
                       "such as g5.2xlarge (a family or 'optimal' has no single offering or "
                       "price to compare)")
    check_credentials(session)
    ec2 = session.client("ec2")
    region = ec2.meta.region_name
    lookup = ec2_reads.describe_types(ec2, names)
    if lookup.unknown:
        raise AwsError(f"--instance-types: EC2 in {region} knows no instance type "
                       f"{', '.join(lookup.unknown)}; allowed: types listed by `aws ec2 "
                       "describe-instance-types`, such as g5.2xlarge")
    specs = {n: lookup.types[n][0] for n in names}
    gpu_types = tuple(n for n in names if specs[n].gpus)
    cpu_types = tuple(n for n in names if not specs[n].gpus)

    subnets = ec2_reads.vpc_subnets(ec2, vpc_id)
    if not subnets:
        raise AwsError(f"VPC {vpc_id} has no subnets; create one per availability zone first "
                       "(a route to the internet or VPC endpoints is needed for Batch instances)")
    zones = set(subnets.values())
    offered = ec2_reads.offerings(ec2, names, zones)
    notes = []
    try:
        prices = ec2_reads.spot_prices(ec2, names, zones)
    except AwsError as e:  # the prices order the subnets; the offerings alone choose them
        prices = {}
        notes.append(f"spot prices not read ({e}); the subnets are in zone order, not "
                     "cheapest first")
    rows = [SubnetRow(subnet_id=sid, zone=zone,
                      offered={n: (n, zone) in offered for n in names},
                      prices={n: prices.get((n, zone)) for n in names},
                      zone_price=zone_price(prices, zone, gpu_types, cpu_types))
            for sid, zone in subnets.items()]
    ranked = rank(rows)
    return SubnetChoice(vpc_id, region, gpu_types, cpu_types, ranked,
                        tuple(r.subnet_id for r in ranked if r.eligible), tuple(notes))


def no_zone_message(choice: SubnetChoice) -> str:
    """Why nothing is recommended, and which type to drop: the one offered in fewest zones."""
    zones = sorted({r.zone for r in choice.rows})
    names = list(choice.gpu_types + choice.cpu_types)
    count = {n: len({r.zone for r in choice.rows if r.offered[n]}) for n in names}
    rarest = min(names, key=lambda n: (count[n], n))
    return (f"No zone of {choice.vpc_id} ({', '.join(zones)}) offers every type. Drop the type "
            f"offered in fewest of them, {rarest} ({count[rarest]} of {len(zones)}), or add a "
            "subnet in a zone that offers all of them.")
