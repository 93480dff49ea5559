"""`publish-container`: push local Raster Vision images to the stack's ECR repositories.

Everything that can be checked is checked before anything is pushed: the settings, docker and its
daemon, the local images, the AWS credentials and the repositories. Then docker logs in with a
token from ecr:GetAuthorizationToken, passed on standard input (never on a command line, where
`ps` would show it), tags and pushes with its own progress output, and the pushed image's digest
is read back from ECR.

The settings, the plan and the pushes are one sequence, and the messages that name the stack
parameter to change are beside the checks that raise them (docker itself is in docker.py,
reading the stack in stack_images.py).

    from rv_batch_cfn.aws.publish.container import PublishSettings, KindImages, publish_container
    settings = PublishSettings(cpu=KindImages("raster-vision-pytorch", "raster-vision"),
                               gpu=KindImages("raster-vision-pytorch", "raster-vision"))
    publish_container(settings, kinds=("cpu", "gpu"), profile="raster-vision")
"""

from __future__ import annotations

import base64
import re
from dataclasses import dataclass, field
from typing import Any, Callable, Optional, Sequence

from ...config import limits
from ...errors import AwsError, ConfigError, DockerError, Problem
from .docker import Docker, command_line, login_args
from ..clients.session import aws_error, check_credentials, client, make_session

KINDS = ("cpu", "gpu")
DEFAULT_TAG = "latest"
DOCKER_BUILD_HINT = "build it with ./docker/build in your Raster Vision checkout"
# The settings.mk variable and the CLI flag behind each setting, so messages name what to change.
SETTING_NAMES = {
    ("cpu", "local_image"): ("RASTER_VISION_CPU_IMAGE", "--cpu-image"),
    ("gpu", "local_image"): ("RASTER_VISION_GPU_IMAGE", "--gpu-image"),
    ("cpu", "repository"): ("ECR_CPU_IMAGE", "--cpu-repository"),
    ("gpu", "repository"): ("ECR_GPU_IMAGE", "--gpu-repository"),
    ("", "tag"): ("ECR_IMAGE_TAG", "--tag"),
}


def setting_name(kind: str, attribute: str) -> str:
    """How a user names a setting: its settings.mk variable and its flag."""
    variable, flag = SETTING_NAMES[(kind, attribute)]
    return f"{variable} ({flag})"


@dataclass(frozen=True)
class KindImages:
    """One kind's images: the local image ./docker/build made, and the ECR repository to push to."""

    local_image: str = ""
    repository: str = ""

    @property
    def configured(self) -> bool:
        return bool(self.local_image and self.repository)


@dataclass(frozen=True)
class PublishSettings:
    """What `make publish-container` reads from settings.mk: local images, repositories, tag."""

    cpu: KindImages = field(default_factory=KindImages)
    gpu: KindImages = field(default_factory=KindImages)
    tag: str = DEFAULT_TAG

    def kind(self, kind: str) -> KindImages:
        return self.cpu if kind == "cpu" else self.gpu

    def shares_repository(self) -> bool:
        """True when both kinds are configured with one repository (the template then creates
        a single repository, from GpuRepositoryName)."""
        return (self.cpu.configured and self.gpu.configured
                and self.cpu.repository == self.gpu.repository)


@dataclass(frozen=True)
class Push:
    """One image to push: a local image, the repository it goes to, and the kinds of job that
    run it (both when the repository is shared)."""

    local_image: str
    repository: str
    serves: tuple[str, ...]


@dataclass(frozen=True)
class Published:
    """An image in ECR after a push: where it is and the digest ECR recorded."""

    uri: str
    digest: str
    serves: tuple[str, ...]

    @property
    def pinned_uri(self) -> str:
        """The URI naming this exact image, whatever the tag points at later."""
        return f"{self.uri.rsplit(':', 1)[0]}@{self.digest}"


def plan(settings: PublishSettings, kinds: Sequence[str]) -> list[Push]:
    """The pushes for `kinds`, one per repository; ConfigError listing every problem."""
    problems: list[Problem] = [Problem("--kind", kind, f"allowed: {', '.join(KINDS)}")
                               for kind in kinds if kind not in KINDS]
    kinds = [kind for kind in kinds if kind in KINDS]
    for kind in kinds:
        images = settings.kind(kind)
        if not images.local_image:
            problems.append(Problem(setting_name(kind, "local_image"), "",
                                    f"required: the local {kind.upper()} image, as `docker "
                                    f"images` lists it ({DOCKER_BUILD_HINT})"))
        elif not re.match(limits.IMAGE_PATTERN, images.local_image):
            problems.append(Problem(setting_name(kind, "local_image"), images.local_image,
                                    "allowed: a docker image name without spaces"))
        if not images.repository:
            problems.append(Problem(setting_name(kind, "repository"), "",
                                    f"required: the name of the ECR repository the stack "
                                    f"created (its {_stack_parameter(kind)} parameter; "
                                    "--stack NAME reads it from the stack)"))
        elif not re.match(limits.REPOSITORY_PATTERN, images.repository):
            problems.append(Problem(setting_name(kind, "repository"), images.repository,
                                    "allowed: an ECR repository name (lower-case letters, digits, "
                                    "and . _ - / between them), without registry or tag"))
    if not re.match(limits.IMAGE_TAG_PATTERN, settings.tag):
        problems.append(Problem(setting_name("", "tag"), settings.tag,
                                "allowed: a docker tag (letters, digits, _ . -; at most 128), "
                                "the same as the stack's ImageTag"))
    if settings.shares_repository() and settings.cpu.local_image != settings.gpu.local_image:
        # One repository:tag holds one image, and both kinds' job definitions run it.
        problems.append(Problem(
            "ECR_CPU_IMAGE and ECR_GPU_IMAGE", settings.cpu.repository,
            f"allowed: one repository for both kinds only with one local image, but "
            f"RASTER_VISION_CPU_IMAGE is {settings.cpu.local_image!r} and RASTER_VISION_GPU_IMAGE "
            f"is {settings.gpu.local_image!r}; the second push would replace the first. Use "
            "two repositories (CpuRepositoryName and GpuRepositoryName) or one image"))
    if problems:
        raise ConfigError(problems)

    pushes: list[Push] = []
    for kind in kinds:
        images = settings.kind(kind)
        if any(p.repository == images.repository for p in pushes):
            continue  # a shared repository: the same image is already planned
        serves = tuple(k for k in KINDS if settings.kind(k).configured
                       and settings.kind(k).repository == images.repository)
        pushes.append(Push(images.local_image, images.repository, serves or (kind,)))
    return pushes


def registry_host(account: str, region: str) -> str:
    """The ECR registry of `account` in `region`: <account>.dkr.ecr.<region>.<dns suffix>, the DNS
    suffix of the region's partition as botocore knows it (amazonaws.com.cn in China)."""
    import botocore.exceptions
    from botocore.loaders import create_loader
    from botocore.regions import EndpointResolver

    resolver = EndpointResolver(create_loader().load_data("endpoints"))
    try:
        partition = resolver.get_partition_for_region(region)
    except botocore.exceptions.UnknownRegionError:
        raise AwsError(f"unknown AWS region {region!r}: check AWS_REGION (--region), for "
                       "example us-east-1") from None
    return f"{account}.dkr.ecr.{region}.{resolver.get_partition_dns_suffix(partition)}"


def require_repositories(ecr: Any, pushes: Sequence[Push], account: str, region: str) -> None:
    """AwsError naming every missing repository and the stack parameter that creates it."""
    import botocore.exceptions

    missing = []
    for push in pushes:
        try:
            ecr.describe_repositories(registryId=account, repositoryNames=[push.repository])
        except ecr.exceptions.RepositoryNotFoundException:
            missing.append(push)
        except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as e:
            raise _unpushed(aws_error(f"look up ECR repository {push.repository!r}", e)
                            ) from None
    if not missing:
        return
    lines = [f"ECR repository not found in account {account}, region {region}:"]
    for push in missing:
        lines.append(f"  - {push.repository!r} ({_setting_for(push)}): "
                     f"{_creating_parameter_advice(push)}")
    lines.append("Create or update the stack with cloudformation/template.yml and those "
                 "parameters (in this region), or point the setting at a repository it created.")
    raise AwsError("\n".join(lines))


def login_password(ecr: Any) -> str:
    """The registry password from ecr:GetAuthorizationToken (its token is base64 of
    'AWS:<password>')."""
    import botocore.exceptions

    try:
        data = ecr.get_authorization_token()["authorizationData"][0]
    except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as e:
        raise _unpushed(aws_error("get an ECR login token (the credentials need "
                                  "ecr:GetAuthorizationToken)", e)) from None
    user, _, password = base64.b64decode(data["authorizationToken"]).decode().partition(":")
    if user != "AWS" or not password:
        raise AwsError("ecr:GetAuthorizationToken returned a token of an unexpected form")
    return password


def image_digest(ecr: Any, repository: str, tag: str) -> str:
    """The digest ECR records for repository:tag."""
    import botocore.exceptions

    try:
        details = ecr.describe_images(repositoryName=repository,
                                      imageIds=[{"imageTag": tag}])["imageDetails"]
    except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as e:
        error = aws_error(f"describe {repository}:{tag}, which docker pushed", e)
        raise AwsError(f"{str(error).rstrip('.')}. The push went through; run the command "
                       "again to push the rest and print the digests (pushing the same image "
                       "again changes nothing)") from None
    return details[0]["imageDigest"]


def _unpushed(error: Exception) -> Exception:
    """`error` (an AwsError) saying that nothing was pushed yet."""
    if not isinstance(error, AwsError):
        return error
    return AwsError(f"{str(error).rstrip('.')}. Nothing was pushed: run the command again")


def publish_container(settings: PublishSettings, kinds: Sequence[str] = KINDS, *,
                      profile: Optional[str] = None, region: Optional[str] = None,
                      endpoint_url: Optional[str] = None, dry_run: bool = False,
                      report: Callable[[str], None] = lambda line: None,
                      docker_output: Optional[int] = None) -> list[Published]:
    """Check everything, then log in, tag and push the images of `kinds`; return what was pushed
    (nothing for a dry run, which prints the docker commands instead of running them).

    Raises ConfigError, DockerError or AwsError with what to fix. Every check runs before the
    first push, so a failed check leaves ECR untouched; a failing docker push stops the run.
    Progress goes to `report`, a line (or a block of lines) at a time; docker's own output goes
    to the process's standard output, or to file descriptor `docker_output` (2: standard error,
    when standard output holds a JSON result).
    """
    pushes = plan(settings, kinds)

    docker = Docker.find()
    docker.output = docker_output
    docker.check_daemon()
    missing = docker.missing_images([p.local_image for p in pushes])
    if missing:
        raise DockerError(_missing_images_message(missing, settings, kinds))

    session = make_session(profile, region, endpoint_url)
    account = check_credentials(session)["Account"]
    region = session.region_name
    host = registry_host(account, region)
    ecr = client(session, "ecr")
    require_repositories(ecr, pushes, account, region)

    steps = [(push, f"{host}/{push.repository}:{settings.tag}") for push in pushes]
    if dry_run:
        report(f"Dry run: every check passed; would run (account {account}, region {region}):")
        report(f"  {command_line(login_args(host))}  "
               "<<< (password from ecr:GetAuthorizationToken, elided)")
        for push, uri in steps:
            report(f"  {command_line(['tag', push.local_image, uri])}")
            report(f"  {command_line(['push', uri])}")
        report(_reminder(pushes, settings))
        return []

    report(f"Logging in to {host}")
    docker.run(login_args(host), password=login_password(ecr))
    published = []
    for push, uri in steps:
        report(f"Pushing {push.local_image} to {uri}")
        docker.run(["tag", push.local_image, uri])
        docker.run(["push", uri])
        published.append(Published(uri, image_digest(ecr, push.repository, settings.tag),
                                   push.serves))
    for image in published:
        report(f"\nPushed {image.uri}\n  digest: {image.digest}\n  pinned: {image.pinned_uri}\n"
               f"  run by: {' and '.join(k.upper() for k in image.serves)} jobs")
    report(_reminder(pushes, settings))
    return published


def _stack_parameter(kind: str) -> str:
    from ...template.parameters import KINDS as PARAMETER_KINDS

    return PARAMETER_KINDS[kind].repository_name


def _setting_for(push: Push) -> str:
    return " and ".join(SETTING_NAMES[(k, "repository")][0] for k in push.serves)


def _creating_parameter_advice(push: Push) -> str:
    if len(push.serves) > 1:
        # The template's CreateCpuRepository condition is false when both names are equal.
        return (f"the stack creates one repository for both kinds from {_stack_parameter('gpu')}"
                f" when {_stack_parameter('cpu')} is the same name; set both to "
                f"{push.repository}")
    kind = push.serves[0]
    return (f"the stack creates it from its parameter {_stack_parameter(kind)}; set "
            f"{_stack_parameter(kind)} to {push.repository}")


def _reminder(pushes: Sequence[Push], settings: PublishSettings) -> str:
    from ...template.parameters import IMAGE_TAG

    lines = ["\nJobs run these images only when the stack's parameters match:"]
    for push in pushes:
        for kind in push.serves:
            lines.append(f"  {_stack_parameter(kind):<18} = {push.repository}")
    lines.append(f"  {IMAGE_TAG:<18} = {settings.tag}")
    if any(len(p.serves) > 1 for p in pushes):
        lines.append("  (equal repository names: the stack creates one repository for both)")
    lines.append("Change them with an update of the stack if they differ.")
    return "\n".join(lines)


def _missing_images_message(missing: Sequence[str], settings: PublishSettings,
                            kinds: Sequence[str]) -> str:
    lines = ["local image not found:"]
    for name in missing:
        settings_using = [setting_name(k, "local_image") for k in kinds
                          if settings.kind(k).local_image == name]
        lines.append(f"  - {name} ({' and '.join(settings_using)})")
    lines.append(f"First {DOCKER_BUILD_HINT}, or set the setting to an image `docker images` "
                 "lists.")
    return "\n".join(lines)
