"""What an instance costs per hour: spot price history, the Pricing API, and a fallback table.

`PriceBook` keeps every price it learns for the life of one command, so a run of a hundred
jobs on one instance type asks EC2 once per type and zone, and the Pricing API once per type.

On-demand prices come from the Pricing API (GetProducts, whose endpoint is in us-east-1 whatever
the stack's region). When it cannot be reached (no permission, a network that blocks it, an
emulator), `ON_DEMAND_TABLE` answers for the types of `rv_batch_cfn.instance_types`: see its
comment for where its figures come from.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Iterable, Optional

from ..clients.ec2 import LINUX

# The Pricing API is served from us-east-1 (and eu-central-1, ap-south-1) only.
PRICING_REGION = "us-east-1"
SPOT_HISTORY = "spot price history"
PRICING_API = "Pricing API"
TABLE_SOURCE = ("the on-demand table of rv-batch-cfn (EC2 On-Demand pricing page, US East "
                "(N. Virginia), Linux, shared tenancy, as of 2025)")
TABLE_REGION = "us-east-1"

# On-demand USD per hour, Linux, shared tenancy, US East (N. Virginia), transcribed from the
# Amazon EC2 On-Demand pricing page in 2025. Only a fallback: the Pricing API is asked first.
# The CPU families price every size as its vCPUs times one rate (large = 2 vCPUs), which is how
# AWS prices them; GPU sizes are irregular and listed one by one. p4d and p5 are left out: their
# prices changed in 2025 and the Pricing API is the one source for them.
_CPU_RATE_PER_VCPU = {
    "m5": 0.048, "m5a": 0.043, "m6i": 0.048, "m6a": 0.0432, "m7i": 0.0504, "m7a": 0.05796,
    "c5": 0.0425, "c6i": 0.0425, "c6a": 0.03825, "c7i": 0.044625, "c7a": 0.05132,
    "r5": 0.063, "r6i": 0.063, "r6a": 0.0567, "r7i": 0.06615, "r7a": 0.076075,
    "m6id": 0.059325, "c6id": 0.0504, "r6id": 0.0756, "m5d": 0.0565, "r5d": 0.072,
}
_GPU_PRICES = {
    "g4dn.xlarge": 0.526, "g4dn.2xlarge": 0.752, "g4dn.4xlarge": 1.204, "g4dn.8xlarge": 2.176,
    "g4dn.12xlarge": 3.912, "g4dn.16xlarge": 4.352,
    "g5.xlarge": 1.006, "g5.2xlarge": 1.212, "g5.4xlarge": 1.624, "g5.8xlarge": 2.448,
    "g5.12xlarge": 5.672, "g5.16xlarge": 4.096, "g5.24xlarge": 8.144, "g5.48xlarge": 16.288,
    "g6.xlarge": 0.8048, "g6.2xlarge": 0.9776, "g6.4xlarge": 1.3232, "g6.8xlarge": 2.0144,
    "g6.12xlarge": 4.6016, "g6.16xlarge": 3.3968, "g6.24xlarge": 6.6752, "g6.48xlarge": 13.3504,
    "g6e.xlarge": 1.861, "g6e.2xlarge": 2.24208, "g6e.4xlarge": 3.00424,
    "g6e.8xlarge": 4.52856, "g6e.12xlarge": 10.49264, "g6e.16xlarge": 7.57719,
    "g6e.24xlarge": 15.06559, "g6e.48xlarge": 30.13118,
}


def _table() -> dict[str, float]:
    from ...instance_types import CATALOGUE

    prices = dict(_GPU_PRICES)
    for name, kind in CATALOGUE.items():
        rate = _CPU_RATE_PER_VCPU.get(name.split(".")[0])
        if rate is not None:
            prices[name] = round(rate * kind.vcpus, 6)
    return prices


ON_DEMAND_TABLE = _table()


@dataclass(frozen=True)
class Price:
    """A price in USD per hour, where it came from, and what to know about it."""

    usd_per_hour: float
    source: str
    note: str = ""


def time_weighted(history: list[tuple[datetime, float]], start: datetime,
                  end: datetime) -> Optional[float]:
    """The average of a price over [start, end], each price weighted by how long it was in
    effect; `history` is (time of the change, new price), any order. The price in effect at
    `start` is the last change at or before it (the earliest known when none is that old).
    None for an empty history."""
    changes = sorted(history)
    if not changes:
        return None
    before = [p for t, p in changes if t <= start]
    current = before[-1] if before else changes[0][1]
    if end <= start:
        return current
    total, moment = 0.0, start
    for when, price in changes:
        if start < when < end:
            total += current * (when - moment).total_seconds()
            moment, current = when, price
    total += current * (end - moment).total_seconds()
    return total / (end - start).total_seconds()


class PriceBook:
    """Prices for one command: spot history per (type, zone) over a window, on-demand per type.

    Spot: `want_spot` every window first, then `spot` reads from one DescribeSpotPriceHistory
    query per (type, zone) that covers them all. On-demand: the Pricing API, else the table.
    """

    def __init__(self, session: Any, region: str) -> None:
        self.session = session
        self.region = region
        self._windows: dict[tuple[str, str], tuple[datetime, datetime]] = {}
        self._history: dict[tuple[str, str], list[tuple[datetime, float]]] = {}
        self._fetched: dict[tuple[str, str], tuple[datetime, datetime]] = {}
        self._on_demand: dict[str, Optional[Price]] = {}
        self._pricing: Any = None
        self.pricing_problem: Optional[str] = None  # why the Pricing API was not used

    # -- spot ----------------------------------------------------------------------------------
    def want_spot(self, instance_type: str, zone: str, start: datetime, end: datetime) -> None:
        """Note a window whose spot price will be asked for."""
        key = (instance_type, zone)
        if key in self._windows:
            first, last = self._windows[key]
            start, end = min(first, start), max(last, end)
        self._windows[key] = (start, end)

    def spot(self, instance_type: str, zone: str, start: datetime,
             end: datetime) -> Optional[Price]:
        """The time-weighted spot price of the type in the zone over [start, end]; None when
        EC2 has no spot price for it there."""
        key = (instance_type, zone)
        fetched = self._fetched.get(key)
        if fetched is None or start < fetched[0] or end > fetched[1]:
            self.want_spot(instance_type, zone, start, end)
            self._fetch(key)
        average = time_weighted(self._history[key], start, end)
        if average is None:
            return None
        changes = {p for t, p in self._history[key] if start < t < end}
        note = (f"time-weighted over {len(changes) + 1} prices" if changes else "")
        return Price(average, SPOT_HISTORY, note)

    def _fetch(self, key: tuple[str, str]) -> None:
        from ..clients.session import aws_errors

        instance_type, zone = key
        start, end = self._windows[key]
        ec2 = self.session.client("ec2")
        history: list[tuple[datetime, float]] = []
        # AWS returns the changes inside the window and the one in effect at StartTime.
        with aws_errors(f"describe the spot price history of {instance_type} in {zone}"):
            for page in ec2.get_paginator("describe_spot_price_history").paginate(
                    InstanceTypes=[instance_type], ProductDescriptions=LINUX,
                    AvailabilityZone=zone, StartTime=start, EndTime=end):
                for entry in page["SpotPriceHistory"]:
                    if entry.get("AvailabilityZone") not in (None, zone):
                        continue
                    try:
                        history.append((entry["Timestamp"], float(entry["SpotPrice"])))
                    except (KeyError, ValueError):
                        continue
        self._history[key] = sorted(set(history))
        self._fetched[key] = (start, end)

    # -- on-demand -----------------------------------------------------------------------------
    def on_demand(self, instance_type: str) -> Optional[Price]:
        """The on-demand price of the type in the book's region: the Pricing API, else the
        table (us-east-1 prices); None when neither knows it."""
        if instance_type not in self._on_demand:
            price = None
            if self.pricing_problem is None:
                found = self._ask_pricing(instance_type)
                if found is not None:
                    price = Price(found, PRICING_API)
            if price is None and instance_type in ON_DEMAND_TABLE:
                note = ("" if self.region == TABLE_REGION else
                        f"a us-east-1 price; {self.region} differs")
                price = Price(ON_DEMAND_TABLE[instance_type], TABLE_SOURCE, note)
            self._on_demand[instance_type] = price
        return self._on_demand[instance_type]

    def _ask_pricing(self, instance_type: str) -> Optional[float]:
        """GetProducts for one type; on any failure, remember why and give up on the API for the
        rest of the command (one failure already cost a timeout)."""
        try:
            if self._pricing is None:
                self._pricing = self.session.client("pricing", region_name=PRICING_REGION)
            answer = self._pricing.get_products(
                ServiceCode="AmazonEC2", Filters=pricing_filters(instance_type, self.region),
                MaxResults=10)
        except Exception as e:  # noqa: BLE001 - any failure means: use the table
            self.pricing_problem = _problem(e)
            return None
        return price_from_products(answer.get("PriceList") or [])


def pricing_filters(instance_type: str, region: str) -> list[dict]:
    """GetProducts filters for the on-demand Linux price of one type in one region."""
    wanted = {"instanceType": instance_type, "regionCode": region, "operatingSystem": "Linux",
              "tenancy": "Shared", "preInstalledSw": "NA", "capacitystatus": "Used"}
    return [{"Type": "TERM_MATCH", "Field": k, "Value": v} for k, v in wanted.items()]


def price_from_products(price_list: Iterable[Any]) -> Optional[float]:
    """The lowest hourly USD on-demand price in GetProducts' PriceList (JSON strings)."""
    found = []
    for product in price_list:
        data = json.loads(product) if isinstance(product, str) else product
        for offer in (data.get("terms", {}).get("OnDemand") or {}).values():
            for dimension in (offer.get("priceDimensions") or {}).values():
                try:
                    usd = float(dimension["pricePerUnit"]["USD"])
                except (KeyError, TypeError, ValueError):
                    continue
                if usd > 0 and dimension.get("unit", "Hrs") == "Hrs":
                    found.append(usd)
    return min(found) if found else None


def _problem(error: BaseException) -> str:
    response = getattr(error, "response", None) or {}
    detail = response.get("Error") if isinstance(response.get("Error"), dict) else {}
    if detail.get("Code"):
        return f"{detail['Code']}: {detail.get('Message', '')}".rstrip(": ")
    return str(error) or type(error).__name__
