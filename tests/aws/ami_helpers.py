"""What the tests of create-ami, validate-ami and find-base-ami share (tests/aws/test_ami.py,
test_build_access.py): the Packer template, the profile the emulator is reached through, images
shaped like the Deep Learning AMIs. Their fixtures (`aws_home`, `account`) are in conftest.py."""

from __future__ import annotations

import datetime
from pathlib import Path

from rv_batch_cfn import cli

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = ROOT / "packer" / "template-gpu.json"


PROFILE = "rv-emu"


DLAMI = "Deep Learning Base OSS Nvidia Driver GPU AMI (Amazon Linux 2023)"


def run_cli(capsys, *argv: str) -> tuple[int, str, str]:
    code = cli.main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def image_record(emu, image_id: str):
    """moto's own record of an image (the emulator runs in this process)."""
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.ec2.models import ec2_backends

    return ec2_backends[DEFAULT_ACCOUNT_ID][emu.region].amis[image_id]


def make_images(emu, dated_names: list[tuple[str, datetime.datetime]]) -> list[str]:
    """Images with these names and creation dates, owned by the emulator's account, shaped like
    the Deep Learning AMIs: x86_64, EBS-backed, booting from /dev/xvda."""
    ec2 = emu.client("ec2")
    ids = []
    for name, created in dated_names:
        image_id = ec2.register_image(Name=name, Architecture="x86_64",
                                      RootDeviceName="/dev/xvda",
                                      VirtualizationType="hvm")["ImageId"]
        # EC2 has no call to back-date an image, and moto's RegisterImage keeps neither the
        # architecture nor an EBS root (Packer's amazon-ebs refuses an instance-store source).
        # The emulator runs in this process, so set them on moto's record.
        record = image_record(emu, image_id)
        record.creation_date = created
        record.architecture = "x86_64"
        record.root_device_type = "ebs"
        record.root_device_name = "/dev/xvda"
        ids.append(image_id)
    return ids


def day(n: int) -> datetime.datetime:
    return datetime.datetime(2025, 1, 1) + datetime.timedelta(days=n)
