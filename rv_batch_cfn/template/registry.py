"""ECR repositories, created only when a repository name is given and its mode is `create`.

With mode `existing` the stack creates nothing and its jobs pull from the repository of that
name (one retained when an earlier stack was deleted): the image and the outputs are built from
the name, never from the resource, so they are the same either way.
"""

from __future__ import annotations

import json

from troposphere import Ref, Template, ecr

from .parameters import KindParameters, checkov_skip, guard_suppress

# Untagged images are left behind by every re-push of a tag; keep them two weeks for rollbacks.
UNTAGGED_DAYS = 14
LIFECYCLE_POLICY = json.dumps({"rules": [{
    "rulePriority": 1,
    "description": f"Expire untagged images after {UNTAGGED_DAYS} days",
    "selection": {"tagStatus": "untagged", "countType": "sinceImagePushed",
                  "countUnit": "days", "countNumber": UNTAGGED_DAYS},
    "action": {"type": "expire"},
}]}, sort_keys=True)


def repository_id(kind: str) -> str:
    """The logical ID of the kind's repository: Gpu/CpuRepository."""
    return f"{kind.capitalize()}Repository"


def add_repository(t: Template, k: KindParameters) -> ecr.Repository:
    """A scanned, KMS-encrypted repository that outlives the stack (images are never deleted)."""
    return t.add_resource(ecr.Repository(
        repository_id(k.kind),
        Condition=k.creates_repository,
        DeletionPolicy="Retain",
        UpdateReplacePolicy="Retain",
        RepositoryName=Ref(k.repository_name),
        ImageScanningConfiguration=ecr.ImageScanningConfiguration(ScanOnPush=True),
        EncryptionConfiguration=ecr.EncryptionConfiguration(EncryptionType="KMS"),
        ImageTagMutability="MUTABLE",
        LifecyclePolicy=ecr.LifecyclePolicy(LifecyclePolicyText=LIFECYCLE_POLICY),
        Metadata={**checkov_skip("CKV_AWS_51", "Tags stay mutable: make publish-container "
                                 "re-pushes the tag the job definitions name (ImageTag, latest "
                                 "by default)."),
                  **guard_suppress("CFN_NO_EXPLICIT_RESOURCE_NAMES",
                                   "User-named; outlives the stack")},
    ))
