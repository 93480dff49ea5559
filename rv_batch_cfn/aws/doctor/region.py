"""One region for the stack, Raster Vision and the environment (rv_config/regions.py says who reads
what): the batch_retry runner submits in `[BATCH] region` (else botocore's default region, else
AWS_REGION); boto3, Raster Vision's own runner and the AWS CLI read the environment and the
profile."""

from __future__ import annotations

import os
from typing import Mapping, Optional

from ...template import outputs as out
from ..rv_config import profile as rv_profile
from ..rv_config.regions import (AWS_REGION, RegionSetting, botocore_default, differing,
                                 mismatch_message, no_default_message, region_settings)
from .findings import NOTE, OK, PROBLEM, REGION, WARNING, Finding

REGION_VARIABLE = f"{out.ENV_PREFIX}{out.REGION_KEY.upper()}"


def region_findings(stack_name: str, stack_region: str, profile: Optional[str],
                    environ: Mapping[str, str] = os.environ) -> list[Finding]:
    """Where batch_retry would submit, and each environment setting naming another region."""
    settings = region_settings(profile, environ)
    write = f"rv-batch-cfn rv-config --stack {stack_name} --write"
    found = _runner_findings(stack_region, settings, write, environ)
    for setting in differing(stack_region, settings):
        found.append(Finding(REGION, WARNING, mismatch_message(setting, stack_region),
                             f"{setting.fix(stack_region)} (or unset it)"))
    if botocore_default(settings) is None:
        found.append(Finding(REGION, NOTE, no_default_message(stack_region),
                             f"export AWS_DEFAULT_REGION={stack_region}"))
    if not found:
        found.append(Finding(REGION, OK, f"the stack, Raster Vision's config and the "
                                         f"environment use {stack_region}"))
    return found


def _runner_findings(stack_region: str, settings: list[RegionSetting], write: str,
                     environ: Mapping[str, str]) -> list[Finding]:
    """Where the batch_retry runner submits: [BATCH] region (BATCH_REGION first), else the
    environment. Nothing when there is no config or no [BATCH] section (the Raster Vision
    config check reports those)."""
    if environ.get(REGION_VARIABLE):
        given, where = environ[REGION_VARIABLE], f"environment variable {REGION_VARIABLE}"
    else:
        path = rv_profile.find_config(environ)
        try:
            section = rv_profile.read_batch_section(path) if path else None
        except ValueError:
            section = None
        if section is None:
            return []
        given, where = section.get(out.REGION_KEY), f"{path} [BATCH] {out.REGION_KEY}"
    if given:
        if given.strip() == stack_region:
            return []
        return [Finding(REGION, PROBLEM, f"{where} is {given}, not the stack's region "
                                         f"{stack_region}: the batch_retry runner submits there",
                        f"Run `{write}` (or set it to {stack_region})")]
    fallback = botocore_default(settings) or next(
        (s for s in settings if s.source == AWS_REGION), None)
    if fallback is None or fallback.region != stack_region:
        where_to = (f"{fallback.region} ({fallback.label})" if fallback
                    else "no region at all (it stops before submitting)")
        return [Finding(REGION, PROBLEM, f"the [BATCH] section has no {out.REGION_KEY}: the "
                                         f"batch_retry runner submits in {where_to}, not in the "
                                         f"stack's region {stack_region}",
                        f"Run `{write}`: it writes `{out.REGION_KEY} = {stack_region}`")]
    return [Finding(REGION, NOTE, f"the [BATCH] section has no {out.REGION_KEY}: the "
                                  f"batch_retry runner submits in {fallback.region} "
                                  f"({fallback.label}), the stack's region, while that is set",
                    f"Run `{write}`: it writes `{out.REGION_KEY} = {stack_region}`")]
