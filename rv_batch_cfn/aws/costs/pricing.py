"""What an instance costs per hour: spot price history and the Pricing API.

`PriceBook` keeps every price it learns for the life of one command, so a run of a hundred
jobs on one instance type asks EC2 once per type and zone, and the Pricing API once per type.

On-demand prices come from the Pricing API (GetProducts, whose endpoint is in us-east-1 whatever
the stack's region), for the stack's own region. When it cannot be used (no permission, a
network that blocks it), an on-demand price is unknown, and `pricing_problem` says why: no
table of prices is kept here, as one typed in by hand ages unseen and holds one region only.
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
    query per (type, zone) that covers them all. On-demand: the Pricing API, else unknown.
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
        """The on-demand price of the type in the book's region from the Pricing API; None
        when it does not know the type or cannot be used (then `pricing_problem` says why)."""
        if instance_type not in self._on_demand:
            found = self._ask_pricing(instance_type) if self.pricing_problem is None else None
            self._on_demand[instance_type] = (Price(found, PRICING_API) if found is not None
                                              else None)
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
        except Exception as e:  # noqa: BLE001 - any failure means: the price is unknown
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
