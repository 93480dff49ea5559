#!/bin/bash
# Prepares /var/lib/rv-scratch, the host folder that rv-batch-cfn's job definitions mount at
# /opt/data. The launch templates run it as a cloud-init boothook: at every boot, before
# Docker and the ECS agent start.
#
# NVMe instance store (g4dn, g5, g6, g6e, p4d, p5, m6id, ...): the one volume, or a RAID 0
# array of all of them, formatted XFS and mounted there (nosuid, nodev). No instance store, or
# anything going wrong: a folder on the root volume. Every decision is logged, with its
# reason, to /var/log/rv-scratch.log and cloud-init's output; the script always exits 0, so a
# failure here never keeps the ECS agent from starting.
#
# Idempotent: a volume that holds the scratch filesystem already (a reboot: instance store
# keeps its data across reboots, not across stops) is mounted again, never formatted again;
# a volume holding anything else is left alone.
#
# RV_SCRATCH_ROOT, for tests only: a folder standing for / under which the script looks for
# sys/block, dev, the scratch folder and the log. Empty (the real /) on instances.

ROOT=${RV_SCRATCH_ROOT:-}
SCRATCH_DIR=/var/lib/rv-scratch
SCRATCH=$ROOT$SCRATCH_DIR
LABEL=rv-scratch
MD_DEVICE=$ROOT/dev/md/$LABEL
LOG=$ROOT/var/log/rv-scratch.log
MODEL="Amazon EC2 NVMe Instance Storage"

# Whatever happens below, the boot goes on.
trap 'exit 0' EXIT

log() {
  printf 'rv-scratch: %s\n' "$*" >&2
  printf '%s %s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$*" >>"$LOG" 2>/dev/null
}

have() { command -v "$1" >/dev/null 2>&1; }

# Make the folder usable by any user a job's image runs as; the sticky bit, as on /tmp, keeps
# jobs from removing each other's files.
open_up() { mkdir -p "$SCRATCH" && chmod 1777 "$SCRATCH"; }

fallback() {
  log "using a folder on the root volume: $*"
  open_up || log "cannot create $SCRATCH"
}

# The kernel names each NVMe controller's model in sysfs: no udev rules, no nvme-cli needed,
# so this works as early as a boothook runs, on any Amazon Linux 2023 AMI.
instance_store_devices() {
  local model dev
  for model in "$ROOT"/sys/block/nvme*n1/device/model; do
    [ -r "$model" ] || continue
    case "$(cat "$model")" in
      "$MODEL"*)
        dev=${model#"$ROOT"/sys/block/}
        printf '%s\n' "$ROOT/dev/${dev%%/*}"
        ;;
    esac
  done
}

# A low-level probe (-p) reads the device itself, not blkid's cache or udev's links.
probe() { blkid -p -s "$1" -o value "$2" 2>/dev/null; }

# Sets TARGET, the block device for the scratch filesystem; or WHY, and fails.
choose_target() {
  local holder dev data
  TARGET=""
  if [ "$#" -eq 1 ]; then
    TARGET=$1
    return 0
  fi
  if ! have mdadm; then
    log "mdadm is not installed: using $1 alone, not all $# volumes"
    TARGET=$1
    return 0
  fi
  # An array of an earlier boot, assembled already by the kernel or udev, or still to assemble.
  for holder in "$ROOT/sys/block/${1##*/}/holders/"md*; do
    if [ -e "$holder" ]; then
      TARGET=$ROOT/dev/${holder##*/}
      log "the volumes form $TARGET already"
      return 0
    fi
  done
  if [ "$(probe TYPE "$1")" = linux_raid_member ]; then
    log "assembling the RAID 0 array of an earlier boot from $*"
    if timeout 60 mdadm --assemble "$MD_DEVICE" "$@"; then
      TARGET=$MD_DEVICE
      return 0
    fi
    WHY="mdadm cannot assemble $*"
    return 1
  fi
  for dev in "$@"; do
    data=$(probe TYPE "$dev")
    if [ -n "$data" ]; then
      WHY="$dev holds $data data already, left untouched"
      return 1
    fi
  done
  log "creating a RAID 0 array of $# volumes: $*"
  if timeout 60 mdadm --create "$MD_DEVICE" --run --level=0 --raid-devices="$#" \
    --name="$LABEL" "$@"; then
    TARGET=$MD_DEVICE
    return 0
  fi
  WHY="mdadm cannot create a RAID 0 array of $*"
  return 1
}

main() {
  local devices type label
  mkdir -p "${LOG%/*}" 2>/dev/null
  if mountpoint -q "$SCRATCH"; then
    log "$SCRATCH is mounted already"
    open_up
    return
  fi
  mapfile -t devices < <(instance_store_devices)
  if [ "${#devices[@]}" -eq 0 ]; then
    fallback "this instance type has no NVMe instance store"
    return
  fi
  log "NVMe instance store: ${devices[*]}"
  if ! choose_target "${devices[@]}"; then
    fallback "$WHY"
    return
  fi
  type=$(probe TYPE "$TARGET")
  label=$(probe LABEL "$TARGET")
  if [ "$type" = xfs ] && [ "$label" = "$LABEL" ]; then
    log "$TARGET holds the scratch filesystem of an earlier boot: mounting it again"
  elif [ -n "$type" ]; then
    fallback "$TARGET holds $type data (label '$label') already, left untouched"
    return
  elif ! have mkfs.xfs; then
    fallback "mkfs.xfs is not installed"
    return
  else
    log "formatting $TARGET (XFS, label $LABEL)"
    # -K: no discard pass; a new instance's instance store is blank already, and discarding
    # terabytes would hold the boot up.
    if ! timeout 300 mkfs.xfs -q -K -L "$LABEL" "$TARGET"; then
      fallback "mkfs.xfs failed on $TARGET"
      return
    fi
  fi
  mkdir -p "$SCRATCH"
  if ! timeout 60 mount -o nosuid,nodev,noatime "$TARGET" "$SCRATCH"; then
    fallback "cannot mount $TARGET on $SCRATCH"
    return
  fi
  open_up
  log "mounted $TARGET on $SCRATCH"
}

main
