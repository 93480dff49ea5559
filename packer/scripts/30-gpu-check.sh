#!/usr/bin/env bash
# Checks that a container sees the GPU the way a Batch job will: through Docker's default (NVIDIA)
# runtime and NVIDIA_VISIBLE_DEVICES, which is what the ECS agent sets. Runs as root on a GPU
# build instance; the build stops here rather than produce an AMI whose GPU jobs would fail.
set -euo pipefail

GPU_CHECK_IMAGE=${GPU_CHECK_IMAGE:-public.ecr.aws/amazonlinux/amazonlinux:2023}
PREPULL_IMAGES=${PREPULL_IMAGES:-}

log() { printf '==> %s\n' "$*"; }
fail() { printf 'error: %s\n' "$*" >&2; exit 1; }

command -v nvidia-smi >/dev/null 2>&1 ||
  fail "nvidia-smi not found: the base AMI must have the NVIDIA driver (Deep Learning Base OSS AMI)"
log "GPUs seen by the host:"
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader ||
  fail "the host sees no GPU: build on a GPU instance type (g6.xlarge, g5.xlarge, ...)"

log "GPUs seen from a container ($GPU_CHECK_IMAGE):"
if ! docker run --rm -e NVIDIA_VISIBLE_DEVICES=all -e NVIDIA_DRIVER_CAPABILITIES=utility \
    "$GPU_CHECK_IMAGE" nvidia-smi -L; then
  fail "a container cannot see the GPU: check the NVIDIA runtime (20-nvidia-docker.sh)"
fi

# Keep the check image only when it is one of the images to pre-pull.
case " ${PREPULL_IMAGES//,/ } " in
  *" $GPU_CHECK_IMAGE "*) ;;
  *) docker rmi "$GPU_CHECK_IMAGE" >/dev/null ;;
esac
log "GPU check passed"
