"""The optional GPU AMI: `create-ami` and `validate-ami` (Packer through packer-py); the base AMI
they build on is found by `find-base-ami` (base_ami.py).

`create-ami` checks everything it can in seconds before starting a build that takes half an
hour: the settings, that packer is installed, the AWS profile and its credentials, and that the
base AMI exists in the region and suits the build. Then `packer validate`, then `packer build`
with Packer's output streamed live; the new AMI id is printed last and recorded in
packer/last-ami, which `template` and `deploy` then mention. A `--skip-provisioning` build is
never recorded: its image has no ECS agent or GPU setup and must not be used as GpuAMI.
"""

from __future__ import annotations

import argparse
import dataclasses
import fnmatch
import json
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass, field as dataclass_field
from pathlib import Path
from typing import Any, Mapping, Optional

from .. import instance_types
from ..config import AMI_PATTERN, ROOT_VOLUME_GIB
from ..errors import AwsError, ConfigError, OutputError, PackerError, Problem
from ..render import render_json, write_atomic
from ..template import packer as pt
from ..template.parameters import GPU
from . import build_access
from . import session as aws
from .base_ami import BASE_AMI_SETTING, BASE_IMAGES

TEMPLATE = Path("packer/template-gpu.json")
MANIFEST = Path(pt.DEFAULT_MANIFEST)
# The id of the last AMI create-ami built with provisioning: what to paste as GpuAMI (ignored by
# git). Builds made with --skip-provisioning are never recorded here.
LAST_AMI = Path("packer/last-ami")
PLACEHOLDER_AMI = "ami-XXXXXXXX"  # what settings.mk.template ships with

# From Packer 1.10 the amazon builder is a plugin that JSON templates cannot declare.
PLUGINS_REQUIRED_FROM = (1, 10, 0)
AMAZON_PLUGIN = "github.com/hashicorp/amazon"

BUILD_INSTANCE_TYPE_PATTERN = r"^[a-z][a-z0-9-]*\.[a-z0-9]+$"
# A registry/repository:tag@digest reference, nothing a shell would interpret.
IMAGE_REFERENCE_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._/:@-]*$"
SUBNET_PATTERN = r"^(subnet-[0-9a-f]{8}([0-9a-f]{9})?)?$"
INSTANCE_PROFILE_PATTERN = (r"^([\w+=,.@-]{1,128}"
                            r"|arn:aws[a-z-]*:iam::[0-9]{12}:instance-profile/[\w+=,.@/-]+)?$")


def is_ami_id(text: str) -> bool:
    """Whether `text` is an AMI id: config.AMI_PATTERN, whose empty match (no AMI) is refused."""
    return bool(text) and re.match(AMI_PATTERN, text) is not None


# ----------------------------------------------------------------------------------------------
# Settings and the checks made before anything slow


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


def find_packer(explicit: Optional[str] = None) -> str:
    """The packer executable: `explicit` (a path or a name on PATH), else `packer` on PATH."""
    name = explicit or "packer"
    path = shutil.which(name)
    if path:
        return path
    if explicit:
        raise PackerError(f"--packer {explicit}: no such executable; pass the path of HashiCorp "
                          "Packer (or leave --packer out to use `packer` on PATH)")
    raise PackerError("packer is not installed (not found on PATH): install HashiCorp Packer "
                      "(Debian/Ubuntu: sudo apt-get install packer; elsewhere HashiCorp's "
                      "release for your system), or pass --packer PATH")


def packer_version(packer: str) -> tuple[int, int, int]:
    """Packer's version from `packer version`; PackerError when it is not HashiCorp Packer."""
    # Plain subprocess rather than packer-py: this must not wait on standard input, which
    # Fedora's cracklib `packer` (a different program of the same name) would read.
    try:
        done = subprocess.run([packer, "version"], stdin=subprocess.DEVNULL, capture_output=True,
                              text=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired) as e:
        raise PackerError(f"cannot run `{packer} version`: {e}") from None
    match = re.search(r"Packer v(\d+)\.(\d+)\.(\d+)", done.stdout)
    if done.returncode != 0 or not match:
        said = (done.stdout + done.stderr).strip().splitlines()[:1]
        raise PackerError(f"{packer} is not HashiCorp Packer (`packer version` said "
                          f"{said[0] if said else 'nothing'!r}; Fedora's cracklib installs a "
                          "`packer` too): put HashiCorp Packer first on PATH or pass --packer")
    return (int(match[1]), int(match[2]), int(match[3]))


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
    """Doubts about the base AMI that do not stop the build: a name unlike the families the
    scripts are written for (they expect its NVIDIA driver, Docker and container toolkit)."""
    name = image.get("Name", "")
    if any(fnmatch.fnmatchcase(name, family.name_pattern) for family in BASE_IMAGES.values()):
        return []
    return [f"{BASE_AMI_SETTING} {image.get('ImageId', '')} is named {name or 'nothing'!r}, not "
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
    session = aws.make_session(settings.profile or None, settings.region or None)
    identity = aws.check_credentials(session)
    ec2 = aws.client(session, "ec2", settings.ec2_endpoint or None)
    image = check_base_ami(ec2, settings.base_ami, session.region_name, settings.root_volume_gib)
    warnings = base_ami_warnings(image) + build_access.ssh_warnings(
        version, image.get("Name", ""), connects=not settings.skip_provisioning)
    return Preflight(packer=path, packer_version=version, region=session.region_name,
                     account=identity.get("Account", ""), base_ami_name=image.get("Name", ""),
                     warnings=tuple(warnings), ec2=ec2)


# ----------------------------------------------------------------------------------------------
# Packer, through packer-py


def _executable(packer: str, stream: bool) -> Any:
    import packerpy

    # packer-py pipes (and holds back) the output by default; None lets it through as it comes.
    config = {"stdout": None, "stderr": None} if stream else None
    return packerpy.PackerExecutable(executable_path=packer, machine_readable=False,
                                     config=config)


def _ui_options() -> dict[str, str]:
    # Colour codes only make sense on a terminal; in a log file they are noise.
    return {} if sys.stdout.isatty() else {"color": "false"}


def install_plugin(packer: str, version: tuple[int, int, int]) -> None:
    """On Packer >= 1.10, install the amazon plugin (JSON templates cannot require it)."""
    if version < PLUGINS_REQUIRED_FROM:
        return
    # packer-py has no verb for `packer plugins install ADDRESS` (it passes options, not words).
    print(f"installing the Packer amazon plugin ({AMAZON_PLUGIN})", file=sys.stderr, flush=True)
    done = subprocess.run([packer, "plugins", "install", AMAZON_PLUGIN], stdin=subprocess.DEVNULL)
    if done.returncode != 0:
        raise PackerError(f"`packer plugins install {AMAZON_PLUGIN}` failed (exit "
                          f"{done.returncode}; its messages are above)")


def validate(packer: str, template: Path, variables: Mapping[str, str]) -> str:
    """`packer validate` of the whole template; its output, or PackerError quoting it."""
    code, out, err = _executable(packer, stream=False).validate(str(template), var=dict(variables))
    text = "\n".join(part.decode("utf-8", "replace").strip() for part in (out, err) if part)
    if code != 0:
        raise PackerError(f"packer validate refused {template}:\n{text}")
    return text


def build(packer: str, template: Path, variables: Mapping[str, str], only: str) -> None:
    """`packer build -only=ONLY`, its output streamed live."""
    sys.stdout.flush()
    sys.stderr.flush()
    code, _, _ = _executable(packer, stream=True).build(
        str(template), only=only, var=dict(variables), **_ui_options())
    if code != 0:
        raise PackerError(f"packer build failed (exit {code}; its messages are above). Packer "
                          "removes the build instance and temporary key pair and security "
                          "group itself")


def ami_from_manifest(manifest: Path, build_name: str, region: str) -> str:
    """The AMI id of the last run of `build_name` recorded in the manifest post-processor's file."""
    try:
        data = json.loads(manifest.read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        raise PackerError(f"cannot read Packer's manifest {manifest}: {e}") from None
    last = data.get("last_run_uuid")
    runs = [b for b in data.get("builds", [])
            if b.get("packer_run_uuid") == last and b.get("name") == build_name]
    if not runs:
        raise PackerError(f"Packer's manifest {manifest} has no {build_name} build in its last "
                          "run")
    # artifact_id is "region:ami-...", comma-separated when the AMI is copied to other regions.
    for artifact in runs[-1].get("artifact_id", "").split(","):
        where, _, ami = artifact.partition(":")
        if where == region and is_ami_id(ami):
            return ami
    raise PackerError(f"Packer's manifest {manifest} names no AMI in {region}: "
                      f"{runs[-1].get('artifact_id')!r}")


def record_ami(ami: str, path: Path = LAST_AMI) -> Path:
    """Write the AMI id to `path` (atomically), for README, template and deploy steps to read."""
    return write_atomic(path, ami + "\n")


def read_last_ami(path: Path = LAST_AMI) -> Optional[str]:
    """The AMI id the last `create-ami` recorded, or None when there is none."""
    try:
        ami = path.read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        return None
    except OSError as e:
        raise OutputError(f"cannot read {path}: {e.strerror or e}") from None
    return ami if is_ami_id(ami) else None


def last_ami_hint(using: Optional[str], how: str, path: Path = LAST_AMI) -> Optional[str]:
    """A hint naming the AMI the last `create-ami` recorded in `path`, when GpuAMI is not being
    set to it (`using`: the value it gets; None or "" for none); None otherwise. `how` says how
    to use it, with {ami} for the id. Only a hint: nothing ever sets GpuAMI from the record."""
    try:
        recorded = read_last_ami(path)
    except OutputError:
        return None
    if recorded is None or recorded == using:
        return None
    return f"{path} records {recorded} (built by create-ami); " + how.format(ami=recorded)


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
               validate_only: bool = False) -> Optional[BuiltAmi]:
    """Check, validate and (unless `validate_only`) build the AMI; None when only validating.

    The new AMI id is also written to `record` (None: not written), unless the build skipped
    provisioning: that image must not be used as GpuAMI, so the last usable one stays recorded."""
    if not template.is_file():
        raise PackerError(f"no Packer template at {template}: run `make template` (or pass "
                          "--template)")
    checked = preflight(settings, packer)
    print(f"checks passed: packer {'.'.join(map(str, checked.packer_version))}, account "
          f"{checked.account}, {checked.region}, base AMI {settings.base_ami} "
          f"({checked.base_ami_name or 'no name'})", file=sys.stderr, flush=True)
    for warning in checked.warnings:
        print(f"warning: {warning}", file=sys.stderr, flush=True)
    cidr, why = build_access.ssh_source_cidr(settings.ssh_source_cidr,
                                             connects=not settings.skip_provisioning)
    settings = dataclasses.replace(settings, ssh_source_cidr=cidr)
    print(f"build security group: SSH from {cidr} only ({why})", file=sys.stderr, flush=True)
    install_plugin(checked.packer, checked.packer_version)
    variables = settings.packer_variables(checked.region, manifest.resolve())
    said = validate(checked.packer, template, variables)
    # Packer 1.6.6 says nothing when the template is valid; newer versions say so.
    print("packer validate: passed" + (f" ({said})" if said else ""), file=sys.stderr, flush=True)
    if validate_only:
        return None
    build(checked.packer, template, variables, settings.build_name)
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


# ----------------------------------------------------------------------------------------------
# The subcommands


def _settings_from_args(args: argparse.Namespace) -> AmiSettings:
    endpoint = (args.ec2_endpoint if args.ec2_endpoint is not None
                else aws.endpoint_from_env("ec2") or "")
    return AmiSettings(
        base_ami=args.base_ami or "",
        region=args.region or "",
        # Packer reads no AWS_PROFILE of ours: the profile is passed on by name.
        profile=args.profile or os.environ.get("AWS_PROFILE", ""),
        root_volume_gib=args.root_volume_size,
        instance_type=args.instance_type,
        prepull_images=parse_image_list(args.prepull_images),
        ec2_endpoint=endpoint,
        subnet_id=args.subnet_id or "",
        iam_instance_profile=args.iam_instance_profile or "",
        associate_public_ip=args.associate_public_ip_address or "",
        skip_provisioning=args.skip_provisioning,
        ssh_source_cidr=args.ssh_source_cidr or "",
    )


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


def cmd_create_ami(args: argparse.Namespace) -> int:
    """`create-ami` and `validate-ami`."""
    settings = _settings_from_args(args)
    built = create_ami(settings, template=Path(args.template), manifest=Path(args.manifest),
                       record=Path(args.record), packer=args.packer,
                       validate_only=args.validate_only)
    if built is None:
        print("the checks and packer validate passed; `make create-ami` builds the AMI",
              file=sys.stderr)
        return 0
    if not built.provisioned:
        commands = "\n".join("  " + c for c in removal_commands(built, settings))
        print(f"\nbuilt {built.image_id} in {built.region} WITHOUT provisioning "
              "(--skip-provisioning): a check of permissions and networking only. It is NOT "
              "usable as GpuAMI: it has no ECS agent and no GPU setup, so Batch jobs on it would "
              f"stay RUNNABLE forever. {args.record} was not changed. Remove the image and its "
              f"snapshot (they cost storage):\n{commands}", file=sys.stderr, flush=True)
        print(built.image_id, flush=True)
        return 0
    print(f"\nbuilt {built.image_id} in {built.region}, recorded in {args.record}. To use it, "
          "paste it as GpuAMI when you create or update the stack in the CloudFormation console "
          f"(same region), pass --param {GPU.ami}={built.image_id} to `rv-batch-cfn deploy` "
          "(make deploy GPU_AMI=...), or set gpu.ami in the --config file of "
          "`rv-batch-cfn template`.", file=sys.stderr, flush=True)
    print(built.image_id, flush=True)
    return 0


def cmd_packer_template(args: argparse.Namespace) -> int:
    """`packer-template`: write the Packer template (make template runs it); '-' prints it."""
    text = render_json(pt.packer_template())
    if args.output == "-":
        sys.stdout.write(text)
        return 0
    write_atomic(args.output, text)
    print(f"wrote {args.output}", file=sys.stderr)
    return 0


def _add_build_arguments(p: argparse.ArgumentParser) -> None:
    env = os.environ.get
    p.add_argument("--base-ami", default=env(BASE_AMI_SETTING),
                   help=f"AMI to build on (settings.mk {BASE_AMI_SETTING}; default: that "
                        "environment variable)")
    aws.add_aws_arguments(p)  # settings.mk AWS_PROFILE and AWS_REGION
    p.add_argument("--root-volume-size", type=int, default=pt.DEFAULT_ROOT_VOLUME_GIB,
                   metavar="GIB", help="root volume size of the AMI in GiB (settings.mk "
                   f"AWS_ROOT_BLOCK_DEVICE_SIZE; default {pt.DEFAULT_ROOT_VOLUME_GIB})")
    p.add_argument("--instance-type", default=pt.DEFAULT_INSTANCE_TYPE,
                   help="GPU instance type to build on (settings.mk AMI_BUILD_INSTANCE_TYPE; "
                        f"default {pt.DEFAULT_INSTANCE_TYPE})")
    p.add_argument("--prepull-images", default=" ".join(pt.DEFAULT_PREPULL_IMAGES),
                   metavar="IMAGES", help="images to pull into the AMI, separated by spaces or "
                   "commas; '' for none (settings.mk PREPULL_IMAGES; default "
                   f"{' '.join(pt.DEFAULT_PREPULL_IMAGES)})")
    p.add_argument("--ec2-endpoint", default=None, metavar="URL",
                   help="EC2 endpoint for Packer (VPC endpoints, emulators; default: "
                        "AWS_ENDPOINT_URL_EC2, else AWS_ENDPOINT_URL, else EC2's own)")
    p.add_argument("--subnet-id", default="",
                   help="subnet for the build instance (default: the default VPC)")
    p.add_argument("--iam-instance-profile", default="",
                   help="instance profile for the build instance (needed to pre-pull from a "
                        "private ECR repository)")
    p.add_argument("--associate-public-ip-address", default="", metavar="true|false",
                   help="give the build instance a public IP address (settings.mk "
                        "AMI_BUILD_PUBLIC_IP; default: the subnet's own setting); true for a "
                        "--subnet-id that does not give one, so Packer can reach it over SSH")
    p.add_argument("--ssh-source-cidr", default=env("AMI_BUILD_SSH_CIDR"), metavar="CIDR",
                   help="the address range the build's temporary security group admits SSH "
                        "from (settings.mk AMI_BUILD_SSH_CIDR; default: this machine's public "
                        f"address, from {build_access.CHECKIP_URL}); the VPC's range when Packer "
                        "runs inside it")
    p.add_argument("--skip-provisioning", action="store_true",
                   help="make an image without connecting to it or running the scripts: a quick "
                        "check of permissions, base AMI, instance type and networking. That "
                        f"image is NOT usable as GpuAMI (named {pt.DEFAULT_CHECK_AMI_NAME_PREFIX}-"
                        f"..., tagged {pt.TAG_PROVISIONED}=false, not recorded); remove it "
                        "afterwards")
    p.add_argument("--template", default=str(TEMPLATE),
                   help=f"Packer template (default {TEMPLATE})")
    p.add_argument("--manifest", default=str(MANIFEST),
                   help=f"where Packer's manifest post-processor writes (default {MANIFEST})")
    p.add_argument("--record", default=str(LAST_AMI),
                   help=f"file to record the new AMI id in (default {LAST_AMI}; never written "
                        "by --skip-provisioning)")
    p.add_argument("--packer", default=env("PACKER"),
                   help="packer executable (default: PACKER, else `packer` on PATH)")


def register(sub: argparse._SubParsersAction) -> None:
    """Add packer-template, create-ami, validate-ami and find-base-ami to the CLI."""
    p = sub.add_parser(
        "packer-template", help="write the Packer template of the GPU AMI",
        description="Write the Packer template create-ami builds (legacy JSON, checked by "
                    "packer validate), atomically.")
    p.add_argument("-o", "--output", default=str(TEMPLATE),
                   help=f"where to write it ('-' for standard output; default {TEMPLATE})")
    p.set_defaults(func=cmd_packer_template)

    p = sub.add_parser(
        "create-ami", help="build the optional GPU AMI with Packer",
        description="Check the settings, packer, the AWS profile and credentials and the base "
                    "AMI; run packer validate, then packer build with its output as it comes. "
                    f"The new AMI id is printed last and written to {LAST_AMI}; paste it as "
                    "GpuAMI. A --skip-provisioning image is only a check: never recorded, not "
                    "usable as GpuAMI.")
    _add_build_arguments(p)
    p.set_defaults(func=cmd_create_ami, validate_only=False)

    p = sub.add_parser(
        "validate-ami", help="run create-ami's checks and packer validate, without building",
        description="The checks create-ami makes before building, and packer validate.")
    _add_build_arguments(p)
    p.set_defaults(func=cmd_create_ami, validate_only=True)

