#!/usr/bin/env bash
# Installs the Amazon ECS container agent (ecs-init), turns on its GPU support and enables it at
# boot, so AWS Batch can place GPU jobs on instances made from this AMI; and mdadm, with which
# the launch templates' boothook joins several NVMe instance-store volumes into one RAID 0
# scratch space (without it, it uses the first volume alone). Runs as root on the Deep Learning
# Base OSS Nvidia Driver GPU AMI, Amazon Linux 2023 or Amazon Linux 2.
set -euo pipefail

# Overridable so the tests can run this script against files of their own.
ECS_CONFIG=${ECS_CONFIG:-/etc/ecs/ecs.config}
OS_RELEASE=${OS_RELEASE:-/etc/os-release}

log() { printf '==> %s\n' "$*"; }
fail() { printf 'error: %s\n' "$*" >&2; exit 1; }

[ "$(id -u)" -eq 0 ] || fail "run as root (Packer's execute_command uses sudo)"
[ -r "$OS_RELEASE" ] || fail "$OS_RELEASE is missing: not an Amazon Linux image"
# shellcheck source=/dev/null
. "$OS_RELEASE"

case "${ID:-}:${VERSION_ID:-}" in
  amzn:2023*)
    log "installing ecs-init and mdadm with dnf (Amazon Linux $VERSION_ID)"
    dnf install -y ecs-init mdadm
    ;;
  amzn:2)
    log "installing ecs-init from the amazon-linux-extras ecs topic (Amazon Linux 2)"
    amazon-linux-extras install -y ecs
    yum install -y mdadm
    ;;
  *)
    fail "unsupported OS ${PRETTY_NAME:-unknown}: the base AMI must be a Deep Learning Base OSS" \
         "Nvidia Driver GPU AMI for Amazon Linux 2023 or Amazon Linux 2 (make find-base-ami)"
    ;;
esac

# Set one KEY=VALUE line, keeping the others: AWS Batch appends ECS_CLUSTER at each boot.
set_config() {
  local key=$1 value=$2
  mkdir -p "$(dirname "$ECS_CONFIG")"
  touch "$ECS_CONFIG"
  if grep -q "^${key}=" "$ECS_CONFIG"; then
    sed -i "s|^${key}=.*|${key}=${value}|" "$ECS_CONFIG"
  else
    printf '%s=%s\n' "$key" "$value" >>"$ECS_CONFIG"
  fi
}

# The agent reports the instance's GPUs to ECS and gives each job the ones it asked for.
set_config ECS_ENABLE_GPU_SUPPORT true
# The job definitions log with awslogs; an agent that does not advertise it gets no jobs placed
# (they wait in RUNNABLE). The ECS-optimized AMIs set this; a plain ecs-init install does not.
set_config ECS_AVAILABLE_LOGGING_DRIVERS '["json-file","awslogs"]'
log "$ECS_CONFIG:"
cat "$ECS_CONFIG"

# Enabled, not started: started here, the agent would register this build instance in the
# account's "default" cluster. 90-cleanup.sh makes sure it leaves no state behind.
systemctl enable ecs.service
log "ECS agent installed and enabled at boot"
