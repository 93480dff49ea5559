"""The region jobs are submitted in: the stack's, whatever the environment says.

Raster Vision's stock runner calls `boto3.client('batch')` with no region, so botocore takes
AWS_DEFAULT_REGION or the profile's region, and ignores AWS_REGION (which the AWS CLI v2 and
rv-batch-cfn read first). A user who set AWS_REGION alone then gets NoRegionError, and one whose
profile names another region submits where the stack's queues do not exist. So `batch_retry`
submits in the region of the stack, taken from, in order:

1. the job queue, when it is given as an ARN (`arn:aws:batch:REGION:ACCOUNT:job-queue/NAME`),
   then the job definition's ARN: an ARN names its region, and no other region can take it;
2. `[BATCH] region` (or BATCH_REGION), which `rv-batch-cfn rv-config --write` writes from the
   stack;
3. else, for a configuration written before that key existed: botocore's own default
   (AWS_DEFAULT_REGION, the profile's region), then AWS_REGION.

The region is set on boto3's default session (where the stock code makes its client) only for
the duration of one submission, so other clients of the process are left as they were.
"""

from __future__ import annotations

import contextlib
import os
import re
from typing import Any, Callable, Iterator, Optional

REGION_KEY = "region"
# botocore's own check of a region name (it refuses others when making a client).
_REGION = re.compile(r"[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?")
NO_REGION = ("no region to submit AWS Batch jobs in: set [BATCH] region (`rv-batch-cfn "
             "rv-config --stack NAME --write` writes the stack's), or BATCH_REGION, or "
             "AWS_DEFAULT_REGION")


def arn_region(value: Any) -> Optional[str]:
    """The region an ARN names (`arn:PARTITION:SERVICE:REGION:...`); None for a plain name."""
    parts = str(value or "").split(":")
    if len(parts) >= 6 and parts[0] == "arn" and parts[3]:
        return parts[3]
    return None


def parse_region(value: Any) -> Optional[str]:
    """`value` as a region name, None when empty; ValueError naming the key and what is
    allowed."""
    text = str(value or "").strip()
    if not text:
        return None
    if not _REGION.fullmatch(text):
        raise ValueError(f"[BATCH] {REGION_KEY} (or BATCH_REGION): got {text!r}; allowed: a "
                         "region name such as us-east-1 (the stack's region)")
    return text


def stack_region(queue: Any, definition: Any,
                 option: Callable[[str], Any]) -> tuple[Optional[str], str]:
    """The region of the stack a job goes to, and where it was read: the queue's or the job
    definition's ARN, else `[BATCH] region` (`option` reads a [BATCH] key); (None, '') when
    neither says."""
    for what, value in (("the job queue's ARN", queue), ("the job definition's ARN", definition)):
        region = arn_region(value)
        if region:
            return region, what
    region = parse_region(option(REGION_KEY))
    return (region, "[BATCH] region") if region else (None, "")


def environment_region(default_region: Optional[str],
                       environ: Optional[dict] = None) -> tuple[Optional[str], str]:
    """Where a configuration without a region submits: botocore's default region
    (`default_region`: AWS_DEFAULT_REGION or the profile's), else AWS_REGION; and its source."""
    environ = os.environ if environ is None else environ
    if default_region:
        return default_region, "AWS_DEFAULT_REGION or the profile's region"
    if environ.get("AWS_REGION"):
        return environ["AWS_REGION"], "AWS_REGION"
    return None, ""


def default_session() -> Any:
    """boto3's default session, made as `boto3.client` makes it when there is none yet."""
    import boto3

    if boto3.DEFAULT_SESSION is None:
        boto3.setup_default_session()
    return boto3.DEFAULT_SESSION


@contextlib.contextmanager
def submitted_in(region: str) -> Iterator[None]:
    """While inside, clients made from boto3's default session (`boto3.client('batch')`, as the
    stock runner makes its client) are made in `region`; afterwards the session is as before."""
    # The region is a session-instance setting of the botocore session inside boto3's (its
    # `_session`, as boto3.Session(region_name=...) sets it): it comes before the environment
    # and the profile, and every other setting of the session (profile, credentials, event
    # handlers) stays.
    core = default_session()._session
    before = core.instance_variables().get(REGION_KEY)
    core.set_config_variable(REGION_KEY, region)
    try:
        yield
    finally:
        core.set_config_variable(REGION_KEY, before)
