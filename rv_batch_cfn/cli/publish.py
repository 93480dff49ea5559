"""`publish-container`: push the local Raster Vision images to the stack's ECR repositories."""

from __future__ import annotations

import argparse
import os
from typing import Optional

from ..errors import EXIT_OK
from .common import print_json, progress
from .global_options import wants_json


def _setting(value: Optional[str], variable: str, default: str = "") -> str:
    # A flag given as '' (an unset make variable) falls back to the environment, then the default.
    return value or os.environ.get(variable, "") or default


def cmd_publish_container(args: argparse.Namespace) -> int:
    """`rv-batch-cfn publish-container`."""
    from ..account.publish import (DEFAULT_TAG, KINDS, KindImages, PublishSettings,
                                   publish_container)

    settings = PublishSettings(
        cpu=KindImages(_setting(args.cpu_image, "RASTER_VISION_CPU_IMAGE"),
                       _setting(args.cpu_repository, "ECR_CPU_IMAGE")),
        gpu=KindImages(_setting(args.gpu_image, "RASTER_VISION_GPU_IMAGE"),
                       _setting(args.gpu_repository, "ECR_GPU_IMAGE")),
        tag=_setting(args.tag, "ECR_IMAGE_TAG", DEFAULT_TAG))
    kinds = KINDS if args.kind == "all" else (args.kind,)
    published = publish_container(settings, kinds, profile=args.profile or None,
                                  region=args.region or None, dry_run=args.dry_run,
                                  report=progress(args),
                                  docker_output=2 if wants_json(args) else None)
    if wants_json(args):
        print_json({"dry_run": args.dry_run, "published": [
            {"uri": p.uri, "digest": p.digest, "pinned_uri": p.pinned_uri,
             "serves": list(p.serves)} for p in published]})
    return EXIT_OK


def register(sub: argparse._SubParsersAction) -> None:
    """Add `publish-container`."""
    from ..account.publish import DEFAULT_TAG

    p = sub.add_parser(
        "publish-container", help="push the local Raster Vision images to the stack's ECR "
                                  "repositories",
        description="Tag the local Raster Vision images (made by ./docker/build) and push them "
                    "to the ECR repositories the stack created, after checking docker, the "
                    "images, the AWS credentials and the repositories. Each setting defaults to "
                    "the environment variable of its settings.mk name.")
    p.add_argument("--kind", choices=("cpu", "gpu", "all"), default="all",
                   help="which image to push (default: all; a repository shared by both kinds "
                        "is pushed once)")
    p.add_argument("--cpu-image", metavar="IMAGE",
                   help="local CPU image (RASTER_VISION_CPU_IMAGE)")
    p.add_argument("--gpu-image", metavar="IMAGE",
                   help="local GPU image (RASTER_VISION_GPU_IMAGE)")
    p.add_argument("--cpu-repository", metavar="NAME",
                   help="ECR repository for the CPU image: the stack's CpuRepositoryName "
                        "(ECR_CPU_IMAGE)")
    p.add_argument("--gpu-repository", metavar="NAME",
                   help="ECR repository for the GPU image: the stack's GpuRepositoryName "
                        "(ECR_GPU_IMAGE)")
    p.add_argument("--tag", help=f"tag to push: the stack's ImageTag (ECR_IMAGE_TAG; default "
                                 f"{DEFAULT_TAG})")
    p.add_argument("--dry-run", action="store_true",
                   help="run every check, then print the docker commands (password elided) "
                        "instead of running them")
    p.set_defaults(func=cmd_publish_container)
