"""`find-base-ami`: the newest Deep Learning Base OSS Nvidia Driver GPU AMI to build the GPU AMI
on, and the current ECS-optimized CPU and GPU AMIs, replacing the console search of the old
instructions. `--write` puts the base AMI into settings.mk.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional, Sequence

from ...errors import AwsError, InputError
from ...inputs import read_text_file
from ...files import writable_target, write_atomic
from ..clients import session as aws
from .settings_mk import appending_line, set_variable

SETTINGS = Path("settings.mk")
SETTINGS_TEMPLATE = Path("settings.mk.template")
BASE_AMI_SETTING = "AWS_BATCH_BASE_AMI"


@dataclass(frozen=True)
class ImageFamily:
    """Where the newest image of one family is published: an SSM parameter and a name pattern."""

    label: str
    parameter: str
    name_pattern: str
    ecs_cpu_parameter: str
    ecs_gpu_parameter: str


BASE_IMAGES = {
    "al2023": ImageFamily(
        label="Deep Learning Base OSS Nvidia Driver GPU AMI (Amazon Linux 2023)",
        parameter="/aws/service/deeplearning/ami/x86_64/"
                  "base-oss-nvidia-driver-gpu-amazon-linux-2023/latest/ami-id",
        name_pattern="Deep Learning Base OSS Nvidia Driver GPU AMI (Amazon Linux 2023) *",
        ecs_cpu_parameter="/aws/service/ecs/optimized-ami/amazon-linux-2023/recommended/image_id",
        ecs_gpu_parameter="/aws/service/ecs/optimized-ami/amazon-linux-2023/gpu/recommended/"
                          "image_id"),
    "al2": ImageFamily(
        label="Deep Learning Base OSS Nvidia Driver GPU AMI (Amazon Linux 2)",
        parameter="/aws/service/deeplearning/ami/x86_64/"
                  "base-oss-nvidia-driver-gpu-amazon-linux-2/latest/ami-id",
        name_pattern="Deep Learning Base OSS Nvidia Driver GPU AMI (Amazon Linux 2) *",
        ecs_cpu_parameter="/aws/service/ecs/optimized-ami/amazon-linux-2/recommended/image_id",
        ecs_gpu_parameter="/aws/service/ecs/optimized-ami/amazon-linux-2/gpu/recommended/"
                          "image_id"),
}
DEFAULT_OWNERS = ("amazon",)

# Amazon Linux 2 images by name: the Deep Learning AMIs' "(Amazon Linux 2)", the ECS-optimized
# amzn2-ami-ecs-..., and the plain amzn2-ami-...; not "Amazon Linux 2023" (al2023-ami-...).
_AMAZON_LINUX_2 = re.compile(r"amazon linux 2(?!\d)|\bamzn2-", re.IGNORECASE)


def amazon_linux_2_warning(ami: str, name: str, description: str = "") -> Optional[str]:
    """A warning when the image is Amazon Linux 2, else None: Batch is retiring its Amazon
    Linux 2 AMIs for new compute environments, the stack's GPU environment declares the Amazon
    Linux 2023 image type, and the families it allows are those AL2023's NVIDIA driver serves."""
    if not _AMAZON_LINUX_2.search(f"{name} {description}"):
        return None
    return (f"{ami} ({name or 'no name'}) is Amazon Linux 2: AWS Batch is retiring its Amazon "
            "Linux 2 AMIs for new compute environments, and the stack's GPU compute "
            "environment declares the Amazon Linux 2023 image type (ECS_AL2023_NVIDIA); build "
            "on the Amazon Linux 2023 Deep Learning Base OSS AMI (`make find-base-ami`, "
            "--os al2023)")


@dataclass(frozen=True)
class FoundImage:
    """An AMI found for a purpose, and how it was found."""

    purpose: str
    image_id: str
    name: str = ""
    creation_date: str = ""
    source: str = ""
    # Doubts worth printing that do not stop anything (an Amazon Linux 2 image).
    warnings: tuple[str, ...] = ()


def _parameter(ssm: Any, name: str) -> tuple[Optional[str], str]:
    """(value, why not) of an SSM parameter; the value is None when it cannot be read (the
    search by name then answers)."""
    import botocore.exceptions

    try:
        return ssm.get_parameter(Name=name)["Parameter"]["Value"], ""
    except botocore.exceptions.ClientError as e:
        return None, f"{aws.error_code(e) or 'error'} reading SSM parameter {name}"
    except botocore.exceptions.NoCredentialsError:
        raise AwsError(aws.NO_CREDENTIALS) from None
    except botocore.exceptions.BotoCoreError as e:
        return None, f"{e} reading SSM parameter {name}"


def _describe(ec2: Any, ami: str) -> dict:
    """The image's description, {} when EC2 does not show it (its name and date are extras);
    AwsError when EC2 cannot be reached at all."""
    import botocore.exceptions

    with aws.aws_errors(f"describe image {ami}"):
        try:
            images = ec2.describe_images(ImageIds=[ami])["Images"]
        except botocore.exceptions.ClientError:
            return {}
    return images[0] if images else {}


def find_base_ami(session: Any, family: ImageFamily = BASE_IMAGES["al2023"],
                  parameter: Optional[str] = None, owners: Sequence[str] = DEFAULT_OWNERS,
                  ec2_endpoint: Optional[str] = None) -> FoundImage:
    """The newest image of `family`: its SSM public parameter first (`parameter` overrides its
    name; "" skips it), then the newest available x86_64 image named like the family."""
    ec2 = aws.client(session, "ec2", ec2_endpoint)
    name = family.parameter if parameter is None else parameter
    why = "no SSM parameter given"
    if name:
        ami, why = _parameter(aws.client(session, "ssm"), name)
        if ami:
            image = _describe(ec2, ami)
            return FoundImage(family.label, ami, image.get("Name", ""),
                              image.get("CreationDate", ""), f"SSM parameter {name}",
                              _warnings(ami, image.get("Name", "") or family.label,
                                        image.get("Description", "")))
    with aws.aws_errors(f"search the images named {family.name_pattern!r} in "
                        f"{session.region_name}"):
        images = ec2.describe_images(Owners=list(owners), Filters=[
            {"Name": "name", "Values": [family.name_pattern]},
            {"Name": "state", "Values": ["available"]},
            {"Name": "architecture", "Values": ["x86_64"]},
        ])["Images"]
    if not images:
        raise AwsError(f"no {family.label} in {session.region_name} ({why}; no image owned by "
                       f"{', '.join(owners)} named {family.name_pattern!r}): pick a region where "
                       "the Deep Learning AMIs are published, or set AWS_BATCH_BASE_AMI by hand")
    newest = max(images, key=lambda i: (i.get("CreationDate", ""), i["ImageId"]))
    return FoundImage(family.label, newest["ImageId"], newest.get("Name", ""),
                      newest.get("CreationDate", ""),
                      f"newest of {len(images)} image(s) named {family.name_pattern!r} ({why})",
                      _warnings(newest["ImageId"], newest.get("Name", ""),
                                newest.get("Description", "")))


def _warnings(ami: str, name: str, description: str) -> tuple[str, ...]:
    warning = amazon_linux_2_warning(ami, name, description)
    return (warning,) if warning else ()


def find_ecs_amis(session: Any, family: ImageFamily = BASE_IMAGES["al2023"],
                  ec2_endpoint: Optional[str] = None) -> list[FoundImage]:
    """The current ECS-optimized CPU and GPU AMIs (what Batch uses when no AMI is given)."""
    ssm = aws.client(session, "ssm")
    ec2 = aws.client(session, "ec2", ec2_endpoint)
    found = []
    for purpose, name in (("ECS-optimized AMI (CPU)", family.ecs_cpu_parameter),
                          ("ECS-optimized GPU AMI", family.ecs_gpu_parameter)):
        ami, why = _parameter(ssm, name)
        image = _describe(ec2, ami) if ami else {}
        found.append(FoundImage(purpose, ami or "", image.get("Name", ""),
                                image.get("CreationDate", ""),
                                f"SSM parameter {name}" if ami else why))
    return found


@dataclass(frozen=True)
class SettingWritten:
    """What write_setting did: the file, whether it was created (from which template), and the
    value the setting had before (None: it had no line)."""

    path: Path
    created_from: Optional[Path]
    previous: Optional[str]
    created: bool = False


def check_settings_file(path: Path, name: str = "AWS_BATCH_BASE_AMI") -> None:
    """What write_setting would refuse about `path` (not a regular file, read-only, too large,
    not UTF-8, a line that appends to `name`), raised before anything else is done."""
    text = read_text_file(path, "the settings file", missing_ok=True)
    writable_target(path)
    problem = appending_line(text or "", name)
    if problem:
        raise InputError(f"cannot set {name} in the settings file {path}: {problem}. The file "
                         "was left unchanged")


def write_setting(path: Path, name: str, value: str,
                  template: Optional[Path] = SETTINGS_TEMPLATE) -> SettingWritten:
    """Set `NAME ?= value` in a Makefile settings file, atomically, keeping every other line
    (and the line's own operator and comment), as make reads it (settings_mk.py). A missing
    file starts from `template`."""
    text = read_text_file(path, "the settings file", missing_ok=True)
    created, created_from = text is None, None
    if text is None:
        text = (read_text_file(template, "the settings template", missing_ok=True)
                if template else None)
        created_from = template if text is not None else None
        text = text or ""
    text, previous, _ = set_variable(text, name, value)
    previous = None if created else previous
    write_atomic(path, text)
    return SettingWritten(path, created_from, previous, created)
