#!/usr/bin/env bash
# Makes the NVIDIA container runtime Docker's default runtime, so every container (the ECS agent
# passes NVIDIA_VISIBLE_DEVICES to GPU jobs) can reach the GPUs. Runs as root.
set -euo pipefail

log() { printf '==> %s\n' "$*"; }
fail() { printf 'error: %s\n' "$*" >&2; exit 1; }

command -v docker >/dev/null 2>&1 ||
  fail "docker is not installed: the base AMI must be a Deep Learning Base OSS Nvidia Driver" \
       "GPU AMI"

if ! command -v nvidia-ctk >/dev/null 2>&1; then
  # The Deep Learning Base OSS AMIs ship the NVIDIA Container Toolkit and its repository;
  # install it should a future one leave it out.
  log "nvidia-ctk not found: installing nvidia-container-toolkit"
  if command -v dnf >/dev/null 2>&1; then
    dnf install -y nvidia-container-toolkit
  else
    yum install -y nvidia-container-toolkit
  fi
fi

log "setting the NVIDIA runtime as Docker's default"
nvidia-ctk runtime configure --runtime=docker --set-as-default
systemctl enable docker.service
systemctl restart docker.service

runtime=$(docker info --format '{{.DefaultRuntime}}')
[ "$runtime" = nvidia ] ||
  fail "Docker's default runtime is '$runtime' after configuring, not 'nvidia'"
log "Docker's default runtime: $runtime"
