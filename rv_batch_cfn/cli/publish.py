"""`publish-container`: push the local Raster Vision images to the stack's ECR repositories.

Each setting comes from, first found: its flag, the environment variable of its settings.mk
name (make passes settings.mk's values as flags), the stack given with --stack (its repository
names and image tag), then the default.
"""

from __future__ import annotations

import argparse
import os
from typing import Optional

from ..errors import EXIT_OK, RvBatchError
from .common import add_stack_argument, print_json, progress
from .global_options import wants_json

# What ./docker/build in a Raster Vision checkout makes: one image for CPU and GPU.
DEFAULT_LOCAL_IMAGE = "raster-vision-pytorch"


def _setting(value: Optional[str], variable: str, default: str = "") -> str:
    # A flag given as '' (an unset make variable) falls back to the environment, then the default.
    return value or os.environ.get(variable, "") or default


def cmd_publish_container(args: argparse.Namespace) -> int:
    """`rv-batch-cfn publish-container`."""
    from ..aws.publish.container import (DEFAULT_TAG, KINDS, KindImages, PublishSettings,
                                   publish_container)

    say = progress(args)
    stack = _read_stack(args) if args.stack else None
    repositories = {kind: _setting(getattr(args, f"{kind}_repository"),
                                   f"ECR_{kind.upper()}_IMAGE",
                                   stack.repositories[kind] if stack else "")
                    for kind in KINDS}
    settings = PublishSettings(
        cpu=KindImages(_setting(args.cpu_image, "RASTER_VISION_CPU_IMAGE", DEFAULT_LOCAL_IMAGE),
                       repositories["cpu"]),
        gpu=KindImages(_setting(args.gpu_image, "RASTER_VISION_GPU_IMAGE", DEFAULT_LOCAL_IMAGE),
                       repositories["gpu"]),
        tag=_setting(args.tag, "ECR_IMAGE_TAG", stack.tag if stack else DEFAULT_TAG))
    kinds = KINDS if args.kind == "all" else (args.kind,)
    if stack is not None:
        kinds = _kinds_with_repository(stack, kinds, repositories, args.kind == "all", say)
        say(f"From stack {stack.stack}: "
            + ", ".join(f"{kind.upper()} repository {repositories[kind]}" for kind in kinds)
            + f", tag {settings.tag}")
    published = publish_container(settings, kinds, profile=args.profile or None,
                                  region=args.region or None,
                                  endpoint_url=args.endpoint_url, dry_run=args.dry_run,
                                  report=say, docker_output=2 if wants_json(args) else None)
    if wants_json(args):
        print_json({"dry_run": args.dry_run, "published": [
            {"uri": p.uri, "digest": p.digest, "pinned_uri": p.pinned_uri,
             "serves": list(p.serves)} for p in published]})
    return EXIT_OK


def _read_stack(args: argparse.Namespace):
    from ..aws.publish.stack_images import read_stack_images
    from ..aws.clients.session import connect
    from ..errors import AwsError

    session = connect(args.profile or None, args.region or None, args.endpoint_url)
    try:
        return read_stack_images(session, args.stack)
    except AwsError as e:
        raise AwsError(f"{str(e).rstrip('.')}. Nothing was pushed") from None


def _kinds_with_repository(stack, kinds, repositories, every_kind: bool, say) -> tuple:
    """With --kind all, the kinds the stack runs from ECR; a kind it runs from a hosted image
    has nothing to push (said so), and a stack with no repository at all is an error."""
    without = [k for k in kinds if not repositories[k]]
    if not every_kind or not without:
        return tuple(kinds)
    left = tuple(k for k in kinds if repositories[k])
    if not left:
        raise RvBatchError(f"stack {stack.stack!r} creates no ECR repository (its "
                           f"{' and '.join(stack.sources[k] for k in without)} are empty): its "
                           "jobs run hosted images. Update the stack with a repository name to "
                           "run your own image, then publish to it")
    for kind in without:
        say(f"{kind.upper()} jobs of stack {stack.stack} run a hosted image "
            f"({stack.sources[kind]} is empty): nothing to push for them")
    return left


def register(sub: argparse._SubParsersAction) -> None:
    """Add `publish-container`."""
    from ..aws.publish.container import DEFAULT_TAG

    p = sub.add_parser(
        "publish-container", help="push the local Raster Vision images to the stack's ECR "
                                  "repositories",
        description="Tag the local Raster Vision images (made by ./docker/build) and push them "
                    "to the ECR repositories the stack created, after checking docker, the "
                    "images, the AWS credentials and the repositories. With --stack, the "
                    "repositories and the tag are the stack's own. Each setting comes from its "
                    "flag, else the environment variable of its settings.mk name, else the "
                    "stack, else the default.")
    add_stack_argument(p, required=False,
                       help="read the repository names and the image tag from this stack (a main "
                            "stack, or a per-project job-definitions stack)")
    p.add_argument("--kind", choices=("cpu", "gpu", "all"), default="all",
                   help="which image to push (default: all, or with --stack every kind the "
                        "stack runs from ECR; a repository shared by both kinds is pushed once)")
    p.add_argument("--cpu-image", metavar="IMAGE",
                   help=f"local CPU image (RASTER_VISION_CPU_IMAGE; default {DEFAULT_LOCAL_IMAGE})")
    p.add_argument("--gpu-image", metavar="IMAGE",
                   help=f"local GPU image (RASTER_VISION_GPU_IMAGE; default {DEFAULT_LOCAL_IMAGE})")
    p.add_argument("--cpu-repository", metavar="NAME",
                   help="ECR repository for the CPU image: the stack's CpuRepositoryName "
                        "(ECR_CPU_IMAGE; default: read from --stack)")
    p.add_argument("--gpu-repository", metavar="NAME",
                   help="ECR repository for the GPU image: the stack's GpuRepositoryName "
                        "(ECR_GPU_IMAGE; default: read from --stack)")
    p.add_argument("--tag", help=f"tag to push: the stack's ImageTag (ECR_IMAGE_TAG; default: "
                                 f"read from --stack, else {DEFAULT_TAG})")
    p.add_argument("--dry-run", action="store_true",
                   help="run every check, then print the docker commands (password elided) "
                        "instead of running them")
    p.set_defaults(func=cmd_publish_container)
