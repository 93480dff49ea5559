"""A custom AMI against the root volume the launch template gives it.

EC2 refuses to launch an instance whose root volume is smaller than the AMI's root snapshot
(`create-ami` makes 100 GiB AMIs; the template allows volumes from 30 GiB), and Batch then leaves
every job RUNNABLE without saying why. `deploy` refuses such values, `doctor` reports them.
Library code: returns data, raises the project's errors, prints nothing.
"""

from __future__ import annotations

from typing import Any, Mapping, Optional

from ...errors import Problem
from ...template import parameters as params
from ..clients.session import aws_error, error_code

# Where the ECS-optimized and Deep Learning AMIs boot from, when an image does not say.
DEFAULT_ROOT_DEVICE = "/dev/xvda"


def root_snapshot_gib(image: Mapping[str, Any]) -> Optional[int]:
    """The size (GiB) of an image's root volume (describe_images' BlockDeviceMappings entry of
    its RootDeviceName), None when the image does not say."""
    root = image.get("RootDeviceName") or DEFAULT_ROOT_DEVICE
    for mapping in image.get("BlockDeviceMappings", []):
        if mapping.get("DeviceName") == root:
            size = (mapping.get("Ebs") or {}).get("VolumeSize")
            return int(size) if size is not None else None
    return None


def too_small(image: Mapping[str, Any], volume_gib: int) -> Optional[str]:
    """Why a root volume of `volume_gib` cannot boot `image`; None when it can (or the image
    does not give its size)."""
    own = root_snapshot_gib(image)
    if own is None or volume_gib >= own:
        return None
    return (f"AMI {image.get('ImageId', '')}'s root snapshot is {own} GiB and a {volume_gib} GiB "
            "root volume cannot hold it: EC2 refuses every instance launch, and jobs stay "
            "RUNNABLE")


def describe_image(ec2: Any, ami: str) -> Optional[dict]:
    """The image's description, None when the account cannot see it in the client's region."""
    try:
        images = ec2.describe_images(ImageIds=[ami])["Images"]
    except Exception as e:  # noqa: BLE001 - botocore's ClientError; others are re-raised
        if error_code(e) in ("InvalidAMIID.NotFound", "InvalidAMIID.Unavailable",
                             "InvalidAMIID.Malformed"):
            return None
        raise aws_error(f"describe AMI {ami}", e) from None
    return images[0] if images else None


def custom_ami_problems(ec2: Any, values: Mapping[str, str]) -> list[Problem]:
    """For each kind whose AMI parameter is set in `values` (every parameter's value after the
    deployment), a Problem when the AMI is not there or is larger than the kind's root volume."""
    problems = []
    for k in params.KINDS.values():
        ami, volume = values.get(k.ami, ""), values.get(k.storage, "")
        if not ami or not volume.isdigit():
            continue
        image = describe_image(ec2, ami)
        if image is None:
            problems.append(Problem(
                f"--param {k.ami}", ami,
                f"allowed: an AMI this account can use in {ec2.meta.region_name} (AMI ids differ "
                "between regions), or empty for Batch's ECS-optimized AMI"))
            continue
        reason = too_small(image, int(volume))
        if reason:
            problems.append(Problem(
                f"--param {k.storage}", volume,
                f"allowed: at least {root_snapshot_gib(image)} GiB with {k.ami} {ami}; {reason}"))
    return problems
