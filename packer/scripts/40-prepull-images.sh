#!/usr/bin/env bash
# Pulls the images listed in PREPULL_IMAGES (separated by spaces or commas) into the AMI, so GPU
# jobs start without downloading many gigabytes first, and keeps the ECS agent checking the
# registry for newer images (ECS_IMAGE_PULL_BEHAVIOR=default). Empty: nothing to pull.
# Runs as root, after the GPU check (30-gpu-check.sh). Images in a private ECR repository need
# the build instance to have an instance profile that may read it
# (create-ami --iam-instance-profile).
set -euo pipefail

# Overridable so the tests can run this script against a file of their own.
ECS_CONFIG=${ECS_CONFIG:-/etc/ecs/ecs.config}

log() { printf '==> %s\n' "$*"; }
fail() { printf 'error: %s\n' "$*" >&2; exit 1; }

images=${PREPULL_IMAGES:-}
# The list is split into words below: never expand a word as a file pattern.
set -f
# shellcheck disable=SC2086 # splitting on spaces (and commas, made spaces) is the point
set -- ${images//,/ }
if [ "$#" -eq 0 ]; then
  log "PREPULL_IMAGES is empty: no images to pre-pull"
  exit 0
fi

systemctl start docker.service

ecr_login() {
  local registry=$1 region=$2
  command -v aws >/dev/null 2>&1 || fail "the AWS CLI is needed to log in to $registry"
  log "logging in to $registry"
  aws ecr get-login-password --region "$region" |
    docker login --username AWS --password-stdin "$registry" >/dev/null
}

pull() {
  local image=$1 attempt
  for attempt in 1 2 3; do
    if docker pull --quiet "$image"; then
      return 0
    fi
    log "pull of $image failed (attempt $attempt of 3)"
    sleep $((attempt * 10))
  done
  fail "cannot pull $image: check the name, and that this instance may read its registry"
}

ecr_pattern='^[0-9]{12}\.dkr\.ecr\.([a-z0-9-]+)\.amazonaws\.com(\.cn)?$'
for image in "$@"; do
  registry=${image%%/*}
  if [[ $registry =~ $ecr_pattern ]]; then
    ecr_login "$registry" "${BASH_REMATCH[1]}"
  fi
  log "pulling $image"
  pull "$image"
done

# Set one KEY=VALUE line, keeping the others (as 10-ecs-agent.sh does; Packer uploads each
# script on its own, so they cannot share a file of functions).
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

# The agent's default pull behaviour, said explicitly (whatever the base AMI set): at every job
# start the agent asks the registry for the tag, downloads only the layers it lacks (none while
# the tag is unchanged: the pre-pulled layers are on disk), and falls back to the image on disk
# when the registry cannot be reached. Not prefer-cached: the ECR tag is mutable
# (publish-container pushes it again), and prefer-cached would keep every instance from this
# AMI on the image of the build day, whatever was pushed since.
set_config ECS_IMAGE_PULL_BEHAVIOR default
docker image ls
log "pre-pulled $# image(s); $ECS_CONFIG: ECS_IMAGE_PULL_BEHAVIOR=default"
