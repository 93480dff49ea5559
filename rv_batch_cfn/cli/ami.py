"""The GPU AMI commands: `create-ami`, `validate-ami` and `find-base-ami`."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from ..errors import EXIT_OK
from ..template import packer as pt
from .common import print_json, stderr
from .global_options import wants_json


def _settings_from_args(args: argparse.Namespace):
    from ..aws.clients import session as aws
    from ..aws.ami.settings import AmiSettings, parse_image_list

    endpoint = (args.ec2_endpoint if args.ec2_endpoint is not None
                else args.endpoint_url or aws.endpoint_from_env("ec2") or "")
    return AmiSettings(
        base_ami=args.base_ami or "",
        region=args.region or "",
        # Packer reads no AWS_PROFILE of ours: the profile is passed on by name.
        profile=args.profile or os.environ.get("AWS_PROFILE", ""),
        root_volume_gib=args.root_volume_size,
        instance_type=args.instance_type,
        prepull_images=parse_image_list(args.prepull_images),
        ec2_endpoint=endpoint,
        endpoint_url=args.endpoint_url or "",
        subnet_id=args.subnet_id or "",
        iam_instance_profile=args.iam_instance_profile or "",
        associate_public_ip=args.associate_public_ip_address or "",
        skip_provisioning=args.skip_provisioning,
        ssh_source_cidr=args.ssh_source_cidr or "",
    )


def cmd_create_ami(args: argparse.Namespace) -> int:
    """`create-ami` and `validate-ami`."""
    from ..aws.ami.create import create_ami, removal_commands

    settings = _settings_from_args(args)
    built = create_ami(settings, template=Path(args.template), manifest=Path(args.manifest),
                       record=Path(args.record), packer=args.packer,
                       validate_only=args.validate_only, report=stderr,
                       tool_output=2 if wants_json(args) else None)
    if built is None:
        if wants_json(args):
            print_json({"validated": True, "image_id": None})
        stderr("the checks and packer validate passed; `make create-ami` builds the AMI")
        return EXIT_OK
    commands = removal_commands(built, settings)
    if wants_json(args):
        print_json({"image_id": built.image_id, "region": built.region,
                    "provisioned": built.provisioned, "usable_as_gpu_ami": built.provisioned,
                    "recorded_in": args.record if built.provisioned else None,
                    "snapshot_ids": list(built.snapshot_ids),
                    "removal_commands": commands})
    if not built.provisioned:
        # Nothing on standard output: `make create-ami | tail -1` must not find an image id
        # that is unusable as GpuAMI.
        stderr(f"\nbuilt {built.image_id} in {built.region} WITHOUT provisioning "
               "(--skip-provisioning): a check of permissions and networking only. It is NOT "
               "usable as GpuAMI: it has no ECS agent and no GPU setup, so Batch jobs on it would "
               f"stay RUNNABLE forever. {args.record} was not changed. Remove the image and its "
               "snapshot (they cost storage):\n" + "\n".join("  " + c for c in commands))
        return EXIT_OK
    from ..template.parameters import GPU

    stderr(f"\nbuilt {built.image_id} in {built.region}, recorded in {args.record}. To use it, "
           "paste it as GpuAMI when you create or update the stack in the CloudFormation console "
           f"(same region), pass --param {GPU.ami}={built.image_id} to `rv-batch-cfn deploy` "
           "(make deploy GPU_AMI=...), or set gpu.ami in the --config file of "
           "`rv-batch-cfn template`.")
    if not wants_json(args):
        print(built.image_id, flush=True)
    return EXIT_OK


def cmd_find_base_ami(args: argparse.Namespace) -> int:
    """`find-base-ami`."""
    from ..aws.clients import session as aws
    from ..aws.ami.base import (BASE_AMI_SETTING, BASE_IMAGES, DEFAULT_OWNERS,
                                    check_settings_file, find_base_ami, find_ecs_amis,
                                    write_setting)

    family = BASE_IMAGES[args.os]
    if args.write:
        check_settings_file(Path(args.settings))  # before AWS is called
    session = aws.connect(args.profile or None, args.region or None, args.endpoint_url)
    endpoint = (args.ec2_endpoint if args.ec2_endpoint is not None
                else args.endpoint_url or aws.endpoint_from_env("ec2"))
    base = find_base_ami(session, family, parameter=args.parameter,
                         owners=args.owner or DEFAULT_OWNERS, ec2_endpoint=endpoint or None)
    found = [base, *find_ecs_amis(session, family, endpoint or None)]
    written = (write_setting(Path(args.settings), BASE_AMI_SETTING, base.image_id)
               if args.write else None)
    if wants_json(args):
        print_json({"region": session.region_name, "images": [
            {"purpose": f.purpose, "image_id": f.image_id or None, "name": f.name,
             "creation_date": f.creation_date, "source": f.source} for f in found],
            "setting": {BASE_AMI_SETTING: base.image_id}, "warnings": list(base.warnings),
            "written": str(written.path) if written else None})
    else:
        print(f"In {session.region_name}:")
        for f in found:
            detail = ", ".join(x for x in (f.name, f.creation_date) if x)
            print(f"  {f.purpose}: {f.image_id or 'not found'}"
                  + (f"\n      {detail}" if detail else "") + f"\n      ({f.source})")
    for warning in base.warnings:
        stderr(f"warning: {warning}")
    if written:
        _report_setting(written, BASE_AMI_SETTING, base.image_id)
    if not wants_json(args):
        print(f"{BASE_AMI_SETTING} ?= {base.image_id}")
    return EXIT_OK


def _report_setting(written, name: str, value: str) -> None:
    """Say which file was created or changed, and when the environment hides the new value."""
    if written.created:
        source = f" from {written.created_from}" if written.created_from else ""
        stderr(f"created {written.path}{source}, with {name} ?= {value}")
    elif written.previous == value:
        stderr(f"{written.path}: {name} is already {value}")
    else:
        was = written.previous if written.previous is not None else "(no line)"
        stderr(f"changed {written.path}: {name} {was} -> {value}")
    current = os.environ.get(name)
    if current is not None and current != value:
        stderr(f"note: {name}={current} in the environment wins over {written.path} (make "
               f"reads the command line, then the environment, then the file): unset it to use "
               f"{value}")


def _add_build_arguments(p: argparse.ArgumentParser, building: bool = True) -> None:
    """The options of create-ami; `building` False (validate-ami) leaves out those that only
    matter to a build (--skip-provisioning, --manifest, --record), keeping their defaults."""
    from ..aws.ami.create import MANIFEST, TEMPLATE
    from ..aws.ami.base import BASE_AMI_SETTING
    from ..aws.ami.last import LAST_AMI

    env = os.environ.get
    p.add_argument("--base-ami", default=env(BASE_AMI_SETTING),
                   help=f"AMI to build on (settings.mk {BASE_AMI_SETTING}; default: that "
                        "environment variable)")
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
                        "--endpoint-url, else AWS_ENDPOINT_URL_EC2, else AWS_ENDPOINT_URL, else "
                        "EC2's own)")
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
                   help="the only address range the build's temporary security group admits "
                        "SSH from (settings.mk AMI_BUILD_SSH_CIDR; default: this machine's "
                        "public address, from checkip.amazonaws.com); the VPC's range when "
                        "Packer runs inside it or reaches the instance over a VPN")
    if not building:
        p.set_defaults(skip_provisioning=False, manifest=str(MANIFEST), record=str(LAST_AMI))
    p.add_argument("--template", default=str(TEMPLATE),
                   help=f"Packer template (default {TEMPLATE})")
    p.add_argument("--packer", default=env("PACKER"),
                   help="packer executable (default: PACKER, else `packer` on PATH)")
    if not building:
        return
    p.add_argument("--skip-provisioning", action="store_true",
                   help="make an image without connecting to it or running the scripts: a quick "
                        "check of permissions, base AMI, instance type and networking. That "
                        f"image is NOT usable as GpuAMI (named {pt.DEFAULT_CHECK_AMI_NAME_PREFIX}-"
                        f"..., tagged {pt.TAG_PROVISIONED}=false, not recorded); remove it "
                        "afterwards")
    p.add_argument("--manifest", default=str(MANIFEST),
                   help=f"where Packer's manifest post-processor writes (default {MANIFEST})")
    p.add_argument("--record", default=str(LAST_AMI),
                   help=f"file to record the new AMI id in (default {LAST_AMI}; never written "
                        "by --skip-provisioning)")


def register(sub: argparse._SubParsersAction) -> None:
    """Add create-ami, validate-ami and find-base-ami."""
    from ..aws.ami.base import BASE_AMI_SETTING, BASE_IMAGES, SETTINGS, SETTINGS_TEMPLATE
    from ..aws.ami.last import LAST_AMI

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
    _add_build_arguments(p, building=False)
    p.set_defaults(func=cmd_create_ami, validate_only=True)

    p = sub.add_parser(
        "find-base-ami", help="print the newest Deep Learning Base OSS GPU AMI to build on",
        description="Print the newest Deep Learning Base OSS Nvidia Driver GPU AMI (from its SSM "
                    "public parameter, else the newest image by name), and the current "
                    "ECS-optimized CPU and GPU AMIs. --write puts the base AMI in settings.mk.")
    p.add_argument("--os", choices=sorted(BASE_IMAGES), default="al2023",
                   help="Amazon Linux version of the base AMI (default al2023)")
    p.add_argument("--parameter", default=None, metavar="NAME",
                   help="SSM parameter to read first (default: the public one of --os; '' "
                        "searches by name only)")
    p.add_argument("--owner", action="append", metavar="OWNER",
                   help="owner of the images searched by name (repeatable; default amazon; "
                        "'self' or an account id for copies in your account)")
    p.add_argument("--ec2-endpoint", default=None, metavar="URL",
                   help="EC2 endpoint (default: --endpoint-url, AWS_ENDPOINT_URL_EC2 or "
                        "AWS_ENDPOINT_URL)")
    p.add_argument("--write", action="store_true",
                   help=f"set {BASE_AMI_SETTING} in the settings file (other lines are kept)")
    p.add_argument("--settings", default=str(SETTINGS),
                   help=f"settings file for --write (default {SETTINGS}; created from "
                        f"{SETTINGS_TEMPLATE} when missing)")
    p.set_defaults(func=cmd_find_base_ami)
