"""The optional GPU AMI: `create-ami` and `validate-ami` (Packer through packer-py); the base AMI
they build on is found by `find-base-ami` (base.py).

`create-ami` checks everything it can in seconds before starting a build that takes half an
hour: the settings, that packer is installed, the AWS profile and its credentials, and that the
base AMI exists in the region and suits the build. Then `packer validate`, then `packer build`
with Packer's output streamed live; the new AMI id is printed last and recorded in
packer/last-ami, which `template` and `deploy` then mention. A `--skip-provisioning` build is
never recorded: its image has no ECS agent or GPU setup and must not be used as GpuAMI.
"""

from __future__ import annotations

import dataclasses
import fnmatch
import os
from dataclasses import dataclass, field as dataclass_field
from pathlib import Path
from typing import Any, Callable, Mapping, Optional

from ...errors import AwsError, ConfigError, PackerError, Problem
from ...template import packer as pt
from . import build_access
from ..clients import session as aws
from .settings import AmiSettings
from .base import BASE_AMI_SETTING, BASE_IMAGES, amazon_linux_2_warning
from .last import LAST_AMI, record_ami
from .packer import (ami_from_manifest, build, find_packer, install_plugin, packer_version,
                         validate)

TEMPLATE = pt.PACKER_TEMPLATE_PATH
MANIFEST = Path(pt.DEFAULT_MANIFEST)


@dataclass(frozen=True)
class Preflight:
    """What the checks found: the tools and the account the build will use."""

    packer: str
    packer_version: tuple[int, int, int]
    region: str
    account: str
    base_ami_name: str
    # Things worth a second look that do not stop the build (an unexpected base AMI name).
    warnings: tuple[str, ...] = ()
    # The EC2 client of the checks, for looking at the new image after the build.
    ec2: Any = dataclass_field(default=None, compare=False, repr=False)


def check_base_ami(ec2: Any, ami: str, region: str,
                   root_volume_gib: Optional[int] = None) -> dict:
    """The base AMI's description; AwsError when it is not visible in `region` or cannot be
    built on (another architecture, Windows), ConfigError when `root_volume_gib` is smaller
    than its own root volume."""
    import botocore.exceptions

    missing = (f"{BASE_AMI_SETTING} {ami} is not an AMI this account can use in {region}: AMI "
               "ids differ between regions (`make find-base-ami` prints the one for "
               "AWS_REGION)")
    try:
        images = ec2.describe_images(ImageIds=[ami])["Images"]
    except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as e:
        if aws.error_code(e).startswith("InvalidAMIID"):
            raise AwsError(missing) from None
        raise aws.aws_error(f"describe the base AMI {ami} in {region}", e) from None
    if not images:
        raise AwsError(missing)
    image = images[0]
    name = image.get("Name", "")
    if image.get("Architecture", "x86_64") != "x86_64":
        raise AwsError(f"{BASE_AMI_SETTING} {ami} is for {image['Architecture']}; the build "
                       "instance types are x86_64: use the x86_64 Deep Learning Base OSS AMI")
    platform = image.get("Platform") or image.get("PlatformDetails") or ""
    if platform.lower().startswith("windows"):
        raise AwsError(f"{BASE_AMI_SETTING} {ami} ({name or 'no name'}) is a Windows AMI; the "
                       "build needs a Deep Learning Base OSS Nvidia Driver GPU AMI for Amazon "
                       "Linux 2023 or Amazon Linux 2 (`make find-base-ami` prints the newest)")
    if root_volume_gib is not None:
        _check_root_volume(image, root_volume_gib)
    return image


def _check_root_volume(image: dict, root_volume_gib: int) -> None:
    """ConfigError when the build's root volume would not replace the image's own root volume
    or would be smaller than it (EC2 refuses to launch with a smaller one)."""
    root = image.get("RootDeviceName", "")
    mappings = {m.get("DeviceName"): m.get("Ebs") or {}
                for m in image.get("BlockDeviceMappings", [])}
    field_name = "AWS_ROOT_BLOCK_DEVICE_SIZE (--root-volume-size)"
    if root and root != pt.ROOT_DEVICE:
        raise ConfigError([Problem(
            f"{BASE_AMI_SETTING} (--base-ami)", image.get("ImageId", ""),
            f"allowed: an AMI whose root device is {pt.ROOT_DEVICE}, as on the Deep Learning Base "
            f"OSS AMIs for Amazon Linux; this one boots from {root}, so the build's "
            f"{field_name} volume would not be its root volume")])
    own = mappings.get(root or pt.ROOT_DEVICE, {}).get("VolumeSize")
    if own is not None and root_volume_gib < int(own):
        raise ConfigError([Problem(
            field_name, root_volume_gib,
            f"allowed: at least {own} GiB, the size of the base AMI {image.get('ImageId', '')}'s "
            f"own root volume ({root or pt.ROOT_DEVICE}); set AWS_ROOT_BLOCK_DEVICE_SIZE to "
            f"{own} or more (room for the pre-pulled images too)")])


def base_ami_warnings(image: dict) -> list[str]:
    """Doubts about the base AMI that do not stop the build: Amazon Linux 2, and a name unlike
    the families the scripts are written for (they expect its NVIDIA driver, Docker and
    container toolkit)."""
    name = image.get("Name", "")
    al2 = amazon_linux_2_warning(image.get("ImageId", ""), name, image.get("Description", ""))
    warnings = [f"{BASE_AMI_SETTING} {al2}"] if al2 else []
    if any(fnmatch.fnmatchcase(name, family.name_pattern) for family in BASE_IMAGES.values()):
        return warnings
    return warnings + [f"{BASE_AMI_SETTING} {image.get('ImageId', '')} is named {name or 'nothing'!r}, not "
            "like a Deep Learning Base OSS Nvidia Driver GPU AMI (Amazon Linux 2023 or 2): the "
            "scripts expect its NVIDIA driver, Docker and NVIDIA container toolkit, and the "
            "build fails at the GPU check without them (`make find-base-ami` prints the newest "
            "one)"]


def preflight(settings: AmiSettings, packer: Optional[str] = None,
              environ: Mapping[str, str] = os.environ) -> Preflight:
    """Every check that takes seconds, cheapest first; raises the error of the first that fails."""
    problems = settings.problems(environ)
    if problems:
        raise ConfigError(problems)
    path = find_packer(packer)
    version = packer_version(path)
    session = aws.make_session(settings.profile or None, settings.region or None,
                           settings.endpoint_url or None)
    identity = aws.check_credentials(session)
    ec2 = aws.client(session, "ec2", settings.ec2_endpoint or None)
    image = check_base_ami(ec2, settings.base_ami, session.region_name, settings.root_volume_gib)
    warnings = base_ami_warnings(image) + build_access.ssh_warnings(
        version, image.get("Name", ""), connects=not settings.skip_provisioning)
    return Preflight(packer=path, packer_version=version, region=session.region_name,
                     account=identity.get("Account", ""), base_ami_name=image.get("Name", ""),
                     warnings=tuple(warnings), ec2=ec2)


@dataclass(frozen=True)
class BuiltAmi:
    """The AMI a build made, and where; `provisioned` False for a --skip-provisioning check,
    whose image is not usable as GpuAMI (its snapshots are listed so it can be removed)."""

    image_id: str
    region: str
    provisioned: bool = True
    snapshot_ids: tuple[str, ...] = ()


def image_snapshots(ec2: Any, ami: str) -> tuple[str, ...]:
    """The EBS snapshots behind `ami`, for the commands that remove it."""
    with aws.aws_errors(f"describe the new image {ami}"):
        images = ec2.describe_images(ImageIds=[ami])["Images"]
    return tuple(m["Ebs"]["SnapshotId"] for image in images
                 for m in image.get("BlockDeviceMappings", [])
                 if (m.get("Ebs") or {}).get("SnapshotId"))


def create_ami(settings: AmiSettings, template: Path = TEMPLATE, manifest: Path = MANIFEST,
               record: Optional[Path] = LAST_AMI, packer: Optional[str] = None,
               validate_only: bool = False,
               report: Callable[[str], None] = lambda line: None,
               tool_output: Optional[int] = None) -> Optional[BuiltAmi]:
    """Check, validate and (unless `validate_only`) build the AMI; None when only validating.

    The new AMI id is also written to `record` (None: not written), unless the build skipped
    provisioning: that image must not be used as GpuAMI, so the last usable one stays recorded.
    Packer's own output goes to this process's standard output, or to file descriptor
    `tool_output` (2: standard error).
    """
    if not template.is_file():
        raise PackerError(f"no Packer template at {template}: run `make template` (or pass "
                          "--template)")
    checked = preflight(settings, packer)
    report(f"checks passed: packer {'.'.join(map(str, checked.packer_version))}, account "
           f"{checked.account}, {checked.region}, base AMI {settings.base_ami} "
           f"({checked.base_ami_name or 'no name'})")
    for warning in checked.warnings:
        report(f"warning: {warning}")
    cidr, why = build_access.ssh_source_cidr(settings.ssh_source_cidr,
                                             connects=not settings.skip_provisioning)
    settings = dataclasses.replace(settings, ssh_source_cidr=cidr)
    report(f"build security group: SSH from {cidr} only ({why})")
    install_plugin(checked.packer, checked.packer_version, report, tool_output)
    variables = settings.packer_variables(checked.region, manifest.resolve())
    said = validate(checked.packer, template, variables)
    # Packer 1.6.6 says nothing when the template is valid; newer versions say so.
    report("packer validate: passed" + (f" ({said})" if said else ""))
    if validate_only:
        return None
    build(checked.packer, template, variables, settings.build_name, tool_output)
    ami = ami_from_manifest(manifest, settings.build_name, checked.region)
    if settings.skip_provisioning:
        try:
            snapshots = image_snapshots(checked.ec2, ami) if checked.ec2 is not None else ()
        except AwsError:
            snapshots = ()  # the removal hint then says how to find them
        return BuiltAmi(ami, checked.region, provisioned=False, snapshot_ids=snapshots)
    if record is not None:
        record_ami(ami, record)
    return BuiltAmi(ami, checked.region)


def removal_commands(built: BuiltAmi, settings: AmiSettings) -> list[str]:
    """AWS CLI commands that deregister `built` and delete its snapshots."""
    options = f"--region {built.region}"
    if settings.profile:
        options += f" --profile {settings.profile}"
    if settings.ec2_endpoint:
        options += f" --endpoint-url {settings.ec2_endpoint}"
    commands = []
    if not built.snapshot_ids:  # could not be read after the build: look them up first
        commands.append(f"aws ec2 describe-images {options} --image-ids {built.image_id} "
                        "--query 'Images[].BlockDeviceMappings[].Ebs.SnapshotId' --output text")
    commands.append(f"aws ec2 deregister-image {options} --image-id {built.image_id}")
    commands += [f"aws ec2 delete-snapshot {options} --snapshot-id {snapshot}"
                 for snapshot in built.snapshot_ids or ("SNAPSHOT_ID",)]
    return commands
