"""The AMI override (it must exist, and the GPU one must not serve CPU jobs) and the container
images (an ECR image that was never pushed fails every job at start)."""

from __future__ import annotations

import re
from typing import Any, Optional, Sequence

from ...template import parameters as params
from ..ami.checks import describe_image, root_snapshot_gib, too_small
from ..clients.session import aws_error, error_code
from .findings import AMI, IMAGES, NOTE, OK, PROBLEM, Finding, Kind

ECR_IMAGE = re.compile(r"^(?P<registry>\d{12})\.dkr\.ecr\.(?P<region>[a-z0-9-]+)\.amazonaws\.com"
                       r"(?:\.cn)?/(?P<repository>[^:@]+)(?::(?P<tag>[^@]+))?(?:@(?P<digest>.+))?$")

def _amis(k: Kind) -> list[str]:
    found = []
    for env in k.environments:
        resources = env.get("computeResources", {})
        found += [c["imageIdOverride"] for c in resources.get("ec2Configuration", [])
                  if c.get("imageIdOverride")]
        if resources.get("imageId"):
            found.append(resources["imageId"])
    return list(dict.fromkeys(found))


def ami_findings(ec2: Any, kinds: Sequence[Kind]) -> list[Finding]:
    found = []
    by_kind = {k.kind: _amis(k) for k in kinds}
    if not any(by_kind.values()):
        return [Finding(AMI, OK, "no AMI override: Batch uses its current ECS-optimized AMIs")]
    shared = sorted(set(by_kind.get("gpu", [])) & set(by_kind.get("cpu", [])))
    for ami in shared:
        found.append(Finding(AMI, PROBLEM,
                             f"GPU and CPU compute environments both use {ami}: CPU jobs on a "
                             "GPU AMI fail with CannotStartContainerError",
                             f"Update the stack with {params.CPU.ami} empty (Batch's "
                             "ECS-optimized AMI) or an AMI of its own."))
    region = ec2.meta.region_name
    for k in kinds:
        for ami in by_kind[k.kind]:
            image = describe_image(ec2, ami)
            state = image.get("State", "available") if image is not None else None
            if state == "available":
                small = _root_volume_finding(ec2, k, image)
                found.append(small or Finding(AMI, OK, f"{k.label} AMI {ami} exists and is "
                                                       "available"))
                continue
            problem = (f"does not exist in {region} (deregistered, or made in another region)"
                       if state is None else f"is {state}, not available")
            found.append(Finding(AMI, PROBLEM, f"{k.label} AMI {ami} {problem}",
                                 f"Update the stack with {k.parameters.ami} set to an available "
                                 "AMI (make create-ami builds one) or empty for Batch's "
                                 "ECS-optimized AMI."))
    return found


def _root_volume_finding(ec2: Any, k: Kind, image: dict) -> Optional[Finding]:
    """A problem when a launch template of the kind gives the AMI a root volume smaller than
    its root snapshot (EC2 then refuses every launch); None otherwise."""
    root = image.get("RootDeviceName") or "/dev/xvda"
    for env in k.environments:
        launch = env.get("computeResources", {}).get("launchTemplate") or {}
        if not launch.get("launchTemplateId"):
            continue
        try:
            versions = ec2.describe_launch_template_versions(
                LaunchTemplateId=launch["launchTemplateId"],
                Versions=[str(launch.get("version", "$Default"))])["LaunchTemplateVersions"]
        except Exception as e:
            raise aws_error(f"describe launch template {launch['launchTemplateId']}", e) from None
        for version in versions:
            for mapping in version.get("LaunchTemplateData", {}).get("BlockDeviceMappings", []):
                size = (mapping.get("Ebs") or {}).get("VolumeSize")
                reason = too_small(image, int(size)) if (
                    mapping.get("DeviceName") == root and size is not None) else None
                if reason:
                    return Finding(AMI, PROBLEM, f"{k.label} {reason}",
                                   f"Update the stack with {k.parameters.storage} of at least "
                                   f"{root_snapshot_gib(image)} (GiB), or use an AMI built with "
                                   "a smaller root volume (create-ami --root-volume-size).")
    return None


def image_findings(session: Any, kinds: Sequence[Kind]) -> list[Finding]:
    found = []
    users: dict[str, list[str]] = {}
    for k in kinds:
        if k.definition is not None:
            image = k.definition.get("containerProperties", {}).get("image", "")
            users.setdefault(image, []).append(k.label)
    for image, labels in users.items():
        who = " and ".join(labels) + " jobs"
        match = ECR_IMAGE.match(image)
        if not match:
            found.append(Finding(IMAGES, NOTE, f"{who} run {image}, which is not in ECR: not "
                                               "checked"))
            continue
        found.append(_ecr_finding(session, who, image, match))
    return found


def _ecr_finding(session: Any, who: str, image: str, match: re.Match) -> Finding:
    repository, tag, digest = match["repository"], match["tag"], match["digest"]
    image_id = {"imageDigest": digest} if digest else {"imageTag": tag or "latest"}
    fix = (f"Push it: make publish-container (it tags and pushes {repository}:"
           f"{tag or 'latest'}), or update the stack with {params.IMAGE_TAG} naming a tag that "
           "exists.")
    ecr = session.client("ecr", region_name=match["region"])
    try:
        ecr.describe_images(registryId=match["registry"], repositoryName=repository,
                            imageIds=[image_id])
    except Exception as e:
        code = error_code(e)
        if code == "RepositoryNotFoundException":
            return Finding(IMAGES, PROBLEM, f"{who} run {image}, but ECR repository {repository} "
                                            "does not exist",
                           f"Update the stack with {params.GPU.repository_name} / "
                           f"{params.CPU.repository_name} naming it (the stack creates it), "
                           "then push the image: make publish-container.")
        if code == "ImageNotFoundException":
            return Finding(IMAGES, PROBLEM,
                           f"{who} run {image}, which is not in ECR repository {repository}: "
                           "every job fails with CannotPullContainerError", fix)
        raise aws_error(f"describe image {image}", e) from None
    return Finding(IMAGES, OK, f"{who} run {image}, which exists in ECR")
