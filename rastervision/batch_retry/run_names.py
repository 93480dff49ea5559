"""A pipeline run's name: the one the user gives, or a unique one in place of Raster Vision's
default.

Raster Vision's `--pipeline-run-name` defaults to `raster-vision`, and its jobs are tagged and
named with it, so every run left unnamed would merge into one "run" in `rv-batch-cfn jobs` and
`costs`. A run with that name gets `raster-vision-<UTC time>-<hash of the root_uri>` instead
(`raster-vision-20261205-081500-3f2a9c`): runs of the same pipeline set apart by their time,
runs of different pipelines at the same second by their root_uri. A name the user gives is
kept; `--pipeline-run-name raster-vision`, given explicitly, cannot be told from the default.
"""

from __future__ import annotations

import hashlib
from datetime import datetime, timezone
from typing import Any, Optional

DEFAULT_RUN_NAME = "raster-vision"
DIGEST_LENGTH = 6


def unique_run_name(root_uri: str, now: Optional[datetime] = None) -> str:
    """`raster-vision-YYYYmmdd-HHMMSS-<first 6 hex digits of the root_uri's SHA-256>`, the time
    in UTC. Only letters, digits and hyphens: valid in a Batch job name and a tag."""
    now = (now or datetime.now(timezone.utc)).astimezone(timezone.utc)
    digest = hashlib.sha256(root_uri.encode()).hexdigest()[:DIGEST_LENGTH]
    return f"{DEFAULT_RUN_NAME}-{now:%Y%m%d-%H%M%S}-{digest}"


def root_uri(pipeline: Any, cfg_json_uri: str) -> str:
    """The pipeline's root_uri (its config's), else the URI of its saved config, inside it."""
    return str(getattr(getattr(pipeline, "config", None), "root_uri", None) or cfg_json_uri)
