"""The template a deployment sends: read once (rv_batch_cfn.inputs), checked to be a
CloudFormation template, and made compact when its text is over the limit on a body sent
inline."""

from __future__ import annotations

from pathlib import Path
from typing import Mapping

from ...errors import RvBatchError
from .options import TEMPLATE_BODY_LIMIT


def load_template(path: Path) -> tuple[str, dict]:
    """The body to send (the file's text, or compact JSON of the same template when the text is
    over CloudFormation's limit on a body sent inline) and the template's data (intrinsic
    functions in their long form).

    InputError when the file cannot be read or is not a well-formed document (see
    rv_batch_cfn.inputs), RvBatchError when it is no CloudFormation template. (Its size, at
    most TEMPLATE_BODY_LIMIT without an S3 bucket, is DeployOptions.check's.)"""
    from ...inputs import read_template, shown

    text, data = read_template(path)
    if not isinstance(data, Mapping) or "Resources" not in data:
        raise RvBatchError(f"{shown(path)} is not a CloudFormation template (no Resources "
                           "section)")
    if len(text.encode("utf-8")) > TEMPLATE_BODY_LIMIT:
        text = compact_body(data)  # the same template without its layout
    return text, dict(data)


def compact_body(data: Mapping) -> str:
    """The template as JSON without indentation or spaces: what deploy sends when the YAML is
    over TEMPLATE_BODY_LIMIT (CloudFormation reads either)."""
    import json

    return json.dumps(data, separators=(",", ":"), ensure_ascii=False)
