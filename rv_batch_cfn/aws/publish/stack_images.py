"""Where a deployed stack's jobs pull their images from: the ECR repository of each kind and the
tag, read from the stack's parameters, so `publish-container --stack NAME` pushes where the jobs
look without copying names into settings.mk.

A main stack (cloudformation/template.yml) names a repository per kind (GpuRepositoryName,
CpuRepositoryName; empty: that kind runs the hosted image) and ImageTag. A per-project
job-definitions stack (cloudformation/job-definitions.yml) names one RepositoryName for both
kinds, and its tag is ImageTag, or its Namespace when that is empty.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

from ...errors import AwsError
from ...template import job_definitions as jd
from ...template.parameters import IMAGE_TAG, KINDS
from ..clients.session import aws_errors
from ..clients.stack import complete_stack, stack_parameters

DEFAULT_TAG = "latest"


@dataclass(frozen=True)
class StackImages:
    """The repository of each kind ('' when that kind runs a hosted image) and the tag."""

    stack: str
    repositories: Mapping[str, str]
    tag: str
    # The stack parameters the values came from, for messages.
    sources: Mapping[str, str]

    def kinds_with_repository(self) -> tuple[str, ...]:
        return tuple(k for k in ("cpu", "gpu") if self.repositories.get(k))


def read_stack_images(session: Any, stack_name: str) -> StackImages:
    """The stack's repositories and tag; AwsError when the stack cannot be read or was made from
    another template."""
    cfn = session.client("cloudformation")
    with aws_errors(f"read stack {stack_name!r}"):
        values = stack_parameters(complete_stack(cfn, stack_name))
    if jd.MAIN_STACK_NAME in values:  # a per-project job-definitions stack
        repository = values.get(jd.REPOSITORY_NAME, "")
        tag = values.get(jd.IMAGE_TAG) or values.get(jd.NAMESPACE, "")
        tag_source = jd.IMAGE_TAG if values.get(jd.IMAGE_TAG) else jd.NAMESPACE
        return StackImages(stack_name, {"cpu": repository, "gpu": repository}, tag,
                           {"cpu": jd.REPOSITORY_NAME, "gpu": jd.REPOSITORY_NAME,
                            "tag": tag_source})
    names = {kind: KINDS[kind].repository_name for kind in ("cpu", "gpu")}
    if not any(name in values for name in names.values()):
        raise AwsError(f"stack {stack_name!r} has no parameter {names['gpu']} or "
                       f"{names['cpu']}: was it created from this project's templates?")
    return StackImages(stack_name, {kind: values.get(name, "") for kind, name in names.items()},
                       values.get(IMAGE_TAG) or DEFAULT_TAG, {**names, "tag": IMAGE_TAG})
