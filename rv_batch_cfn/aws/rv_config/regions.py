"""The region each tool takes from the environment, against the stack's.

The console, the AWS CLI, rv-batch-cfn and Raster Vision must work in one region, and they read
it from different places: the AWS CLI v2 and rv-batch-cfn read AWS_REGION, then
AWS_DEFAULT_REGION, then the profile's `region`; botocore (boto3, Raster Vision's own `batch`
runner, which makes its Batch client with no region) reads AWS_DEFAULT_REGION, then the profile,
and never AWS_REGION. The `batch_retry` runner submits in `[BATCH] region`, which `rv-config`
writes from the stack. `rv-config` and `doctor` say which of these settings names another
region than the stack's.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Mapping, Optional

AWS_REGION = "AWS_REGION"
AWS_DEFAULT_REGION = "AWS_DEFAULT_REGION"
PROFILE = "profile"


@dataclass(frozen=True)
class RegionSetting:
    """One place a region is set: `source` is AWS_REGION, AWS_DEFAULT_REGION or `profile`
    (then `profile` names it)."""

    source: str
    region: str
    profile: Optional[str] = None

    @property
    def label(self) -> str:
        """How a message names it."""
        if self.source == PROFILE:
            return f"the region of AWS profile {self.profile!r}"
        return self.source

    @property
    def readers(self) -> str:
        """Who takes the region from it."""
        if self.source == AWS_REGION:
            return "the AWS CLI v2 and rv-batch-cfn (without --region)"
        if self.source == AWS_DEFAULT_REGION:
            return ("boto3 and Raster Vision's own `batch` runner (and the AWS CLI when "
                    "AWS_REGION is unset)")
        return "boto3, Raster Vision's own `batch` runner and the AWS CLI"

    def fix(self, region: str) -> str:
        """The command that makes it `region`."""
        if self.source == PROFILE:
            return f"aws configure set region {region} --profile {self.profile}"
        return f"export {self.source}={region}"

    def as_dict(self) -> dict:
        return {"source": self.source, "region": self.region, "profile": self.profile}


def profile_region(profile: Optional[str], environ: Mapping[str, str] = os.environ
                   ) -> Optional[str]:
    """The `region` of `profile` (else AWS_PROFILE's, else `default`) in the AWS config file;
    None when it has none or the profile does not exist."""
    import botocore.exceptions
    import botocore.session

    name = profile or environ.get("AWS_PROFILE") or "default"
    try:
        profiles = botocore.session.Session().full_config.get("profiles", {})
    except botocore.exceptions.BotoCoreError:  # a config file botocore cannot read
        return None
    return (profiles.get(name) or {}).get("region") or None


def region_settings(profile: Optional[str], environ: Mapping[str, str] = os.environ
                    ) -> list[RegionSetting]:
    """Every region setting a tool reads, in the AWS CLI's order: AWS_REGION,
    AWS_DEFAULT_REGION, the profile's (a profile's region only when AWS_DEFAULT_REGION is unset:
    every reader of it reads that variable first)."""
    found = [RegionSetting(name, environ[name]) for name in (AWS_REGION, AWS_DEFAULT_REGION)
             if environ.get(name)]
    if not environ.get(AWS_DEFAULT_REGION):
        region = profile_region(profile, environ)
        if region:
            found.append(RegionSetting(PROFILE, region,
                                       profile or environ.get("AWS_PROFILE") or "default"))
    return found


def botocore_default(settings: list[RegionSetting]) -> Optional[RegionSetting]:
    """What botocore takes when no region is passed (as Raster Vision's own runner does):
    AWS_DEFAULT_REGION, else the profile's; None when neither is set."""
    return next((s for s in settings if s.source != AWS_REGION), None)


def differing(stack_region: str, settings: list[RegionSetting]) -> list[RegionSetting]:
    """The settings that name another region than the stack's."""
    return [s for s in settings if s.region != stack_region]


def mismatch_message(setting: RegionSetting, stack_region: str) -> str:
    """One sentence: which setting names which region, and who would use it."""
    return (f"{setting.label} is {setting.region}, not the stack's region {stack_region}: "
            f"{setting.readers} would work in {setting.region}, where the stack's queues do "
            f"not exist (the batch_retry runner submits in [BATCH] region)")


def no_default_message(stack_region: str) -> str:
    """When botocore has no region at all (AWS_REGION alone, or nothing)."""
    return (f"neither AWS_DEFAULT_REGION nor the profile sets a region: boto3 and Raster "
            f"Vision's own `batch` runner stop with NoRegionError (the batch_retry runner "
            f"submits in [BATCH] region, {stack_region})")
