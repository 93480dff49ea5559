"""Spot placement scores (EC2 GetSpotPlacementScores): how likely a spot request of some
instance types and a target capacity is to succeed now, 1 to 10, per zone or per region.

A zone without spot capacity for the GPU types leaves jobs RUNNABLE whatever the quota. AWS
limits how many distinct requests an account makes in 24 hours, and the call needs
ec2:GetSpotPlacementScores. The scores are an optional extra: a refusal, an endpoint that does
not answer like AWS (an emulator or proxy without the action) or a lost connection is reported
(`Scores.refused`), never raised, so the command's main answer stands.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Optional, Sequence

from ...errors import RvBatchError
from ..clients.session import DENIED_CODES, aws_error, aws_errors, error_code

PERMISSION = "ec2:GetSpotPlacementScores"
NOT_LIKE_AWS = ("the endpoint's answer to GetSpotPlacementScores is not shaped like AWS's "
                "(no score per zone or region)")
# Scores of this or less are low: AWS suggests the request is not likely to succeed.
LOW_SCORE = 3


@dataclass(frozen=True)
class Scores:
    """The scores of one request: per zone name (SingleAvailabilityZone) or per region."""

    instance_types: tuple[str, ...]
    target_vcpus: int
    zones: dict[str, int] = field(default_factory=dict)
    regions: dict[str, int] = field(default_factory=dict)
    refused: str = ""  # why AWS gave no scores (a permission, the daily limit)

    def all_low(self, zones: Sequence[str]) -> bool:
        """Whether every one of `zones` has a low score (a zone AWS did not score counts as
        low: AWS leaves out the zones where the request cannot be placed)."""
        return bool(zones) and not self.refused and all(
            self.zones.get(z, 0) <= LOW_SCORE for z in zones)

    def as_dict(self) -> dict:
        """Plain data for --output json."""
        return {"instance_types": list(self.instance_types), "target_vcpus": self.target_vcpus,
                "zones": self.zones, "regions": self.regions, "refused": self.refused or None}


def zone_scores(ec2: Any, instance_types: Sequence[str], target_vcpus: int) -> Scores:
    """Scores per zone of the client's region for `target_vcpus` vCPUs of the types."""
    region = ec2.meta.region_name
    raw, refused = _ask(ec2, instance_types, target_vcpus, single_zone=True, regions=[region])
    if not refused:
        try:
            names = _zone_names(ec2)
            zones = {names.get(s.get("AvailabilityZoneId", ""), s.get("AvailabilityZoneId", "")):
                     int(s["Score"]) for s in raw if s.get("Region", region) == region}
        except RvBatchError as e:
            refused = str(e)
        except (KeyError, TypeError, ValueError, AttributeError):
            refused = NOT_LIKE_AWS
    if refused:
        return Scores(tuple(instance_types), target_vcpus, refused=refused)
    return Scores(tuple(instance_types), target_vcpus, zones=dict(sorted(zones.items())))


def region_scores(ec2: Any, instance_types: Sequence[str], target_vcpus: int) -> Scores:
    """Scores of every region AWS scores for `target_vcpus` vCPUs of the types."""
    raw, refused = _ask(ec2, instance_types, target_vcpus, single_zone=False, regions=None)
    if not refused:
        try:
            regions = {s["Region"]: int(s["Score"]) for s in raw if "Region" in s}
        except (KeyError, TypeError, ValueError, AttributeError):
            refused = NOT_LIKE_AWS
    if refused:
        return Scores(tuple(instance_types), target_vcpus, refused=refused)
    return Scores(tuple(instance_types), target_vcpus,
                  regions=dict(sorted(regions.items(), key=lambda r: (-r[1], r[0]))))


def _ask(ec2: Any, instance_types: Sequence[str], target_vcpus: int, single_zone: bool,
         regions: Optional[list[str]]) -> tuple[list[dict], str]:
    request: dict[str, Any] = {"InstanceTypes": sorted(set(instance_types)),
                               "TargetCapacity": max(1, int(target_vcpus)),
                               "TargetCapacityUnitType": "vcpu",
                               "SingleAvailabilityZone": single_zone}
    if regions:
        request["RegionNames"] = regions
    found: list[dict] = []
    try:
        while True:
            page = ec2.get_spot_placement_scores(**request)
            found += page.get("SpotPlacementScores", [])
            if not page.get("NextToken"):
                break
            request["NextToken"] = page["NextToken"]
    except Exception as e:  # noqa: BLE001 - an optional extra: any AWS failure is a note
        code = error_code(e)
        if code in DENIED_CODES:
            return [], f"the credentials lack {PERMISSION}"
        if code:
            detail = e.response.get("Error", {}).get("Message", "")  # type: ignore[attr-defined]
            return [], f"AWS gave no spot placement scores ({code}: {detail})".rstrip()
        error = aws_error("get spot placement scores", e)
        if error is e:  # not botocore's: a programming error keeps its traceback
            raise
        # No answer like AWS's (an emulator or proxy without the action, a connection lost).
        return [], str(error)
    if any(not isinstance(s, dict) for s in found):
        return [], NOT_LIKE_AWS
    return found, ""


def _zone_names(ec2: Any) -> dict[str, str]:
    """Zone id (use1-az1) -> zone name (us-east-1a): the scores name zones by id."""
    with aws_errors("describe the availability zones"):
        zones = ec2.describe_availability_zones()["AvailabilityZones"]
    return {z["ZoneId"]: z["ZoneName"] for z in zones if "ZoneId" in z}
