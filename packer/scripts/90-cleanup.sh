#!/usr/bin/env bash
# Last step of the build: stops the ECS agent and clears its state, and removes this build
# instance's identity (machine-id, SSH host keys, cloud-init's record of having run, the build's
# SSH key), so each instance started from the AMI generates its own and registers with ECS as a
# new container instance. Runs as root.
set -euo pipefail

# Every file below is under CLEANUP_ROOT: empty (the default) for the build instance's own /;
# the tests point it at a folder of their own.
CLEANUP_ROOT=${CLEANUP_ROOT:-}
BUILD_USER=ec2-user

log() { printf '==> %s\n' "$*"; }
fail() { printf 'error: %s\n' "$*" >&2; exit 1; }

[ -z "$CLEANUP_ROOT" ] || [ -d "$CLEANUP_ROOT" ] ||
  fail "CLEANUP_ROOT=$CLEANUP_ROOT is not a directory"

# Remove the contents of a directory, keeping the directory (its owner and mode stay right).
empty_dir() {
  if [ -d "$1" ]; then
    find "$1" -mindepth 1 -delete
  fi
}

log "stopping the ECS agent and clearing its state"
systemctl stop ecs.service 2>/dev/null || true
if command -v docker >/dev/null 2>&1 && docker container inspect ecs-agent >/dev/null 2>&1; then
  docker rm -f ecs-agent >/dev/null
fi
# Registration (cluster, container instance ARN), task state, and the GPU IDs of this instance.
empty_dir "$CLEANUP_ROOT/var/lib/ecs/data"
empty_dir "$CLEANUP_ROOT/var/lib/ecs/gpu"
empty_dir "$CLEANUP_ROOT/var/log/ecs"
# Batch writes its own ECS_CLUSTER line at boot.
if [ -f "$CLEANUP_ROOT/etc/ecs/ecs.config" ]; then
  sed -i '/^ECS_CLUSTER=/d' "$CLEANUP_ROOT/etc/ecs/ecs.config"
fi

log "removing per-instance identity"
if command -v cloud-init >/dev/null 2>&1; then
  cloud-init clean --logs
fi
# sshd-keygen (and cloud-init) generate new host keys at the next boot.
rm -f "$CLEANUP_ROOT"/etc/ssh/ssh_host_*
# An empty machine-id makes systemd generate a new one at the next boot.
truncate -s 0 "$CLEANUP_ROOT/etc/machine-id"
if [ -f "$CLEANUP_ROOT/var/lib/dbus/machine-id" ] &&
   [ ! -L "$CLEANUP_ROOT/var/lib/dbus/machine-id" ]; then
  rm -f "$CLEANUP_ROOT/var/lib/dbus/machine-id"
fi
# The build's temporary key; instances get the launch key pair from cloud-init.
rm -f "$CLEANUP_ROOT/root/.ssh/authorized_keys" \
  "$CLEANUP_ROOT/home/$BUILD_USER/.ssh/authorized_keys"
rm -f "$CLEANUP_ROOT/root/.bash_history" "$CLEANUP_ROOT/home/$BUILD_USER/.bash_history"

log "removing package caches and logs of the build"
if command -v dnf >/dev/null 2>&1; then
  dnf clean all
else
  yum clean all
fi
if command -v journalctl >/dev/null 2>&1; then
  journalctl --rotate
  journalctl --vacuum-time=1s
fi
sync
log "clean: instances from this AMI will register fresh"
