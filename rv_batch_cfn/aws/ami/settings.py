"""What `create-ami` builds from: the settings.mk values as one validated object.

Every check here runs without a network call, so a mistyped setting is reported at once with the
settings.mk name, the value and what is allowed.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping

from ... import instance_types
from ...config.limits import AMI_PATTERN, ROOT_VOLUME_GIB
from ...errors import Problem
from ...template import packer as pt
from . import build_access
from ..clients import session as aws
from .base import BASE_AMI_SETTING

PLACEHOLDER_AMI = "ami-XXXXXXXX"  # what settings.mk.template ships with
BUILD_INSTANCE_TYPE_PATTERN = r"^[a-z][a-z0-9-]*\.[a-z0-9]+$"
# A registry/repository:tag@digest reference, nothing a shell would interpret.
IMAGE_REFERENCE_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._/:@-]*$"
SUBNET_PATTERN = r"^(subnet-[0-9a-f]{8}([0-9a-f]{9})?)?$"
INSTANCE_PROFILE_PATTERN = (r"^([\w+=,.@-]{1,128}"
                            r"|arn:aws[a-z-]*:iam::[0-9]{12}:instance-profile/[\w+=,.@/-]+)?$")




def is_ami_id(text: str) -> bool:
    """Whether `text` is an AMI id: config.AMI_PATTERN, whose empty match (no AMI) is refused."""
    return bool(text) and re.match(AMI_PATTERN, text) is not None


@dataclass(frozen=True)
class AmiSettings:
    """What to build: the settings.mk values (named there AWS_BATCH_BASE_AMI, AWS_REGION, ...)."""

    base_ami: str = ""
    region: str = ""  # empty: the profile's or the environment's region
    profile: str = ""
    root_volume_gib: int = pt.DEFAULT_ROOT_VOLUME_GIB
    instance_type: str = pt.DEFAULT_INSTANCE_TYPE
    prepull_images: tuple[str, ...] = pt.DEFAULT_PREPULL_IMAGES
    ec2_endpoint: str = ""  # empty: EC2's public endpoint
    endpoint_url: str = ""  # every other request (--endpoint-url); empty: the environment's
    subnet_id: str = ""  # empty: the default VPC
    iam_instance_profile: str = ""
    associate_public_ip: str = ""  # "true", "false", or empty: the subnet's own setting
    skip_provisioning: bool = False
    # The one address range the build's temporary security group admits SSH from; empty: this
    # machine's public address, looked up before the build (build_access.ssh_source_cidr).
    ssh_source_cidr: str = ""

    def problems(self, environ: Mapping[str, str] = os.environ) -> list[Problem]:
        """Every problem with these settings, found without any network call."""
        p: list[Problem] = []
        field = f"{BASE_AMI_SETTING} (--base-ami)"
        find = ("`make find-base-ami` prints the newest Deep Learning Base OSS Nvidia Driver GPU "
                "AMI for AWS_REGION, and `make find-base-ami WRITE=1` puts it in settings.mk")
        if not self.base_ami:
            p.append(Problem(field, self.base_ami, f"required: the AMI to build on; {find}"))
        elif self.base_ami == PLACEHOLDER_AMI:
            p.append(Problem(field, self.base_ami, "allowed: a real AMI id; this is the "
                             f"placeholder from settings.mk.template: {find}"))
        elif not is_ami_id(self.base_ami):
            p.append(Problem(field, self.base_ami,
                             f"allowed: an AMI id such as ami-0123456789abcdef0; {find}"))
        if not self.profile and not _has_key_credentials(environ):
            known = ", ".join(aws.known_profiles()) or "none yet"
            p.append(Problem(
                "AWS_PROFILE (--profile)", self.profile,
                "required: the AWS CLI profile to build with (without one Packer waits for "
                "credentials that never come); set AWS_PROFILE in settings.mk; known profiles: "
                f"{known} (create one with: aws configure --profile raster-vision)"))
        low, high = ROOT_VOLUME_GIB
        if not low <= self.root_volume_gib <= high:
            p.append(Problem("AWS_ROOT_BLOCK_DEVICE_SIZE (--root-volume-size)",
                             self.root_volume_gib, f"allowed: {low} to {high} GiB, and at least "
                             "the base AMI's own root volume"))
        p.extend(self._instance_type_problems())
        for i, image in enumerate(self.prepull_images):
            if not re.match(IMAGE_REFERENCE_PATTERN, image):
                p.append(Problem(f"PREPULL_IMAGES[{i}] (--prepull-images)", image,
                                 "allowed: an image reference such as "
                                 f"{pt.DEFAULT_PREPULL_IMAGES[0]} (letters, digits and "
                                 ". _ / : @ -), separated by spaces"))
        if self.ec2_endpoint and not re.match(r"^https?://[^\s/]+", self.ec2_endpoint):
            p.append(Problem("--ec2-endpoint", self.ec2_endpoint,
                             "allowed: empty (EC2's public endpoint) or a URL such as "
                             "https://ec2.us-east-1.amazonaws.com"))
        if not re.match(SUBNET_PATTERN, self.subnet_id):
            p.append(Problem("AMI_BUILD_SUBNET_ID (--subnet-id)", self.subnet_id,
                             "allowed: empty (the default VPC) or a subnet id such as "
                             "subnet-0123456789abcdef0 with a route to the internet"))
        if not re.match(INSTANCE_PROFILE_PATTERN, self.iam_instance_profile):
            p.append(Problem("--iam-instance-profile", self.iam_instance_profile,
                             "allowed: empty or an instance profile name or ARN"))
        if self.associate_public_ip not in ("", "true", "false"):
            p.append(Problem("AMI_BUILD_PUBLIC_IP (--associate-public-ip-address)",
                             self.associate_public_ip,
                             "allowed: true, false, or empty (the subnet's own setting)"))
        if self.ssh_source_cidr:
            problem = build_access.cidr_problem(build_access.normalise(self.ssh_source_cidr))
            if problem:
                p.append(Problem(build_access.SETTING, self.ssh_source_cidr, problem))
        return p

    def _instance_type_problems(self) -> list[Problem]:
        field = "AMI_BUILD_INSTANCE_TYPE (--instance-type)"
        if not re.match(BUILD_INSTANCE_TYPE_PATTERN, self.instance_type):
            return [Problem(field, self.instance_type,
                            f"allowed: one EC2 instance type such as {pt.DEFAULT_INSTANCE_TYPE}")]
        known = instance_types.lookup(self.instance_type)
        if known is not None and known.gpus == 0 and not self.skip_provisioning:
            return [Problem(field, self.instance_type,
                            "allowed: a GPU instance type such as "
                            f"{pt.DEFAULT_INSTANCE_TYPE}: the build checks the GPU from a "
                            "container (or use --skip-provisioning for a quick check)")]
        return []

    @property
    def build_name(self) -> str:
        """The Packer build to run (-only)."""
        return pt.BUILD_WITHOUT_PROVISIONING if self.skip_provisioning else pt.BUILD

    def packer_variables(self, region: str, manifest: Path) -> dict[str, str]:
        """The -var values for packer validate and build."""
        return {
            pt.V_REGION: region,
            pt.V_PROFILE: self.profile,
            pt.V_SOURCE_AMI: self.base_ami,
            pt.V_INSTANCE_TYPE: self.instance_type,
            pt.V_ROOT_VOLUME_SIZE: str(self.root_volume_gib),
            pt.V_EC2_ENDPOINT: self.ec2_endpoint,
            pt.V_SUBNET_ID: self.subnet_id,
            pt.V_INSTANCE_PROFILE: self.iam_instance_profile,
            pt.V_PUBLIC_IP: self.associate_public_ip,
            pt.V_PREPULL_IMAGES: " ".join(self.prepull_images),
            pt.V_MANIFEST: str(manifest),
            # create_ami fills ssh_source_cidr in before it gets here; empty only for builds
            # without SSH.
            pt.V_SSH_SOURCE_CIDR: (build_access.normalise(self.ssh_source_cidr)
                                   if self.ssh_source_cidr else build_access.NO_CONNECTION_CIDR),
        }


def _has_key_credentials(environ: Mapping[str, str]) -> bool:
    # Keys in the environment (CI, a shell from `aws sso` exports) need no profile: Packer's SDK
    # reads them first, so it does not hang looking for credentials.
    return bool(environ.get("AWS_ACCESS_KEY_ID") and environ.get("AWS_SECRET_ACCESS_KEY"))


def parse_image_list(text: str) -> tuple[str, ...]:
    """PREPULL_IMAGES as a tuple: images separated by spaces and/or commas."""
    return tuple(part for part in re.split(r"[\s,]+", text.strip()) if part)


