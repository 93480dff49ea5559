"""prepare-scratch.sh, the launch templates' boothook, run here with bash against a folder
standing for the instance's / (RV_SCRATCH_ROOT).

There are no NVMe devices on this machine, and formatting or mounting anything here would be
wrong, so the commands that touch disks (blkid, mdadm, mkfs.xfs, mount, mountpoint) are
stand-ins first on PATH: each logs its arguments and keeps the state a real disk would (a
filesystem's type and label, RAID membership, what is mounted where) in files, so a second boot
sees what the first one left. The instance's devices are files under the fake root, and sysfs is
a few `model` files, as the kernel shows them. What is checked is the script's own decisions.
Every scenario runs twice: the packaged file, and the boothook as the user data carries it.
"""

from __future__ import annotations

import re
import shutil
import stat
import subprocess
from pathlib import Path

import pytest

from rv_batch_cfn.template import userdata

SCRIPT = Path(userdata.__file__).parent / userdata.SCRIPT
INSTANCE_STORE = "Amazon EC2 NVMe Instance Storage        "  # padded, as sysfs shows it
EBS = "Amazon Elastic Block Store              "

# Stand-ins. $STATE holds one file per fact: <device>.TYPE, <device>.LABEL, mounts, fail-<cmd>.
PRELUDE = 'printf "%s\\n" "$(basename "$0") $*" >> "$CALLS"\n'
FAKES = {
    "blkid": r'''
# blkid -p -s KEY -o value DEVICE
key=$3 dev=$(basename "$(readlink -f "$6")")
[ -f "$STATE/$dev.$key" ] || exit 2
cat "$STATE/$dev.$key"
''',
    "mkfs.xfs": r'''
[ -e "$STATE/fail-mkfs" ] && { echo "mkfs.xfs: cannot open device" >&2; exit 1; }
label="" dev=""
while [ "$#" -gt 0 ]; do
  case $1 in -L) label=$2; shift ;; -*) ;; *) dev=$1 ;; esac
  shift
done
dev=$(basename "$(readlink -f "$dev")")
echo xfs > "$STATE/$dev.TYPE"
printf '%s\n' "$label" > "$STATE/$dev.LABEL"
''',
    # Creates or assembles md127 from the devices after the options; /dev/md/NAME links to it.
    "mdadm": r'''
mode=$1 md=$2
shift 2
[ -e "$STATE/fail-mdadm" ] && exit 1
mkdir -p "$(dirname "$md")"
touch "$RV_SCRATCH_ROOT/dev/md127"
ln -sf "$RV_SCRATCH_ROOT/dev/md127" "$md"
for arg in "$@"; do
  case $arg in -*) continue ;; esac
  name=$(basename "$arg")
  mkdir -p "$RV_SCRATCH_ROOT/sys/block/$name/holders"
  touch "$RV_SCRATCH_ROOT/sys/block/$name/holders/md127"
  [ "$mode" = --create ] && echo linux_raid_member > "$STATE/$name.TYPE"
done
exit 0
''',
    "mount": r'''
[ -e "$STATE/fail-mount" ] && exit 32
printf '%s %s\n' "$(basename "$(readlink -f "$3")")" "$4" >> "$STATE/mounts"
''',
    "mountpoint": r'''
grep -q " $2\$" "$STATE/mounts" 2>/dev/null
''',
}


class Instance:
    """A fake instance: its root folder, its NVMe devices and the stand-in commands."""

    def __init__(self, tmp: Path, script: Path, instance_store: int):
        self.script = script
        self.root = tmp / "root"
        self.state = tmp / "state"
        self.bin = tmp / "bin"
        self.calls_log = tmp / "calls.log"
        for folder in (self.root / "dev", self.state, self.bin):
            folder.mkdir(parents=True)
        self.calls_log.touch()
        # nvme0n1 is the EBS root volume; the instance store follows.
        for i, model in enumerate([EBS] + [INSTANCE_STORE] * instance_store):
            device = self.root / "sys/block" / f"nvme{i}n1" / "device"
            device.mkdir(parents=True)
            (device / "model").write_text(model + "\n")
            (self.root / "dev" / f"nvme{i}n1").touch()
        for name, body in FAKES.items():
            self.fake(name, body)

    def fake(self, name: str, body: str) -> None:
        path = self.bin / name
        path.write_text("#!/bin/bash\n" + PRELUDE + body)
        path.chmod(0o755)

    def dev(self, name: str) -> str:
        return str(self.root / "dev" / name)

    @property
    def scratch(self) -> Path:
        return self.root / userdata.SCRATCH_DIR.lstrip("/")

    def boot(self) -> subprocess.CompletedProcess:
        env = {"PATH": f"{self.bin}:/usr/bin:/bin", "RV_SCRATCH_ROOT": str(self.root),
               "STATE": str(self.state), "CALLS": str(self.calls_log)}
        return subprocess.run([shutil.which("bash"), str(self.script)], capture_output=True,
                              text=True, env=env, timeout=60)

    def reboot(self, array_assembled: bool = True) -> subprocess.CompletedProcess:
        """Mounts are gone; the disks keep their data. Without `array_assembled`, udev has not
        assembled the RAID array (yet) when the boothook runs."""
        (self.state / "mounts").unlink(missing_ok=True)
        if not array_assembled:
            for holder in self.root.glob("sys/block/*/holders/md*"):
                holder.unlink()
        return self.boot()

    def fail(self, command: str) -> None:
        (self.state / f"fail-{command}").touch()

    def calls(self, name: str | None = None) -> list[str]:
        lines = self.calls_log.read_text().splitlines()
        return [line for line in lines if name is None or line.split(" ", 1)[0] == name]

    def log(self) -> str:
        return (self.root / "var/log/rv-scratch.log").read_text()


@pytest.fixture(params=["packaged file", "user data"])
def script(request, tmp_path) -> Path:
    if request.param == "packaged file":
        return SCRIPT
    path = tmp_path / "boothook.sh"
    path.write_text(userdata.boothook())
    return path


@pytest.fixture
def make_instance(tmp_path, script):
    def make(instance_store: int) -> Instance:
        return Instance(tmp_path, script, instance_store)
    return make


def assert_open_folder(path: Path) -> None:
    mode = path.stat().st_mode
    assert stat.S_ISDIR(mode) and stat.S_IMODE(mode) == 0o1777


def test_no_instance_store_makes_a_folder_on_the_root_volume(make_instance):
    instance = make_instance(instance_store=0)
    done = instance.boot()
    assert done.returncode == 0, done.stderr
    assert_open_folder(instance.scratch)
    assert instance.calls() == [f"mountpoint -q {instance.scratch}"]
    assert "using a folder on the root volume: this instance type has no NVMe instance " \
           "store" in instance.log()
    assert "no NVMe instance store" in done.stderr  # cloud-init's output too


def test_one_device_is_formatted_and_mounted(make_instance):
    instance = make_instance(instance_store=1)
    done = instance.boot()
    assert done.returncode == 0, done.stderr
    device = instance.dev("nvme1n1")
    assert instance.calls("mkfs.xfs") == [f"mkfs.xfs -q -K -L rv-scratch {device}"]
    assert instance.calls("mount") == [
        f"mount -o nosuid,nodev,noatime {device} {instance.scratch}"]
    assert instance.calls("mdadm") == []
    assert_open_folder(instance.scratch)
    assert f"mounted {device} on {instance.scratch}" in instance.log()


def test_two_devices_become_one_raid_0_array(make_instance):
    instance = make_instance(instance_store=2)
    done = instance.boot()
    assert done.returncode == 0, done.stderr
    array = str(instance.root / "dev/md/rv-scratch")
    assert instance.calls("mdadm") == [
        f"mdadm --create {array} --run --level=0 --raid-devices=2 --name=rv-scratch "
        f"{instance.dev('nvme1n1')} {instance.dev('nvme2n1')}"]
    assert instance.calls("mkfs.xfs") == [f"mkfs.xfs -q -K -L rv-scratch {array}"]
    assert instance.calls("mount") == [
        f"mount -o nosuid,nodev,noatime {array} {instance.scratch}"]
    assert "creating a RAID 0 array of 2 volumes" in instance.log()


@pytest.mark.parametrize("devices", [1, 2])
def test_second_boot_mounts_again_and_formats_nothing(make_instance, devices):
    instance = make_instance(instance_store=devices)
    assert instance.boot().returncode == 0
    done = instance.reboot()
    assert done.returncode == 0, done.stderr
    assert len(instance.calls("mkfs.xfs")) == 1  # the first boot's
    first, second = instance.calls("mount")
    if devices == 1:
        assert second == first
    else:  # the array udev assembled at boot, under its kernel name
        assert second == f"mount -o nosuid,nodev,noatime {instance.dev('md127')} {instance.scratch}"
        assert len(instance.calls("mdadm")) == 1  # the first boot's --create
    assert "holds the scratch filesystem of an earlier boot: mounting it again" in instance.log()
    assert_open_folder(instance.scratch)


def test_second_boot_assembles_an_array_udev_has_not(make_instance):
    instance = make_instance(instance_store=2)
    assert instance.boot().returncode == 0
    done = instance.reboot(array_assembled=False)
    assert done.returncode == 0, done.stderr
    array = str(instance.root / "dev/md/rv-scratch")
    assert instance.calls("mdadm")[1] == (
        f"mdadm --assemble {array} {instance.dev('nvme1n1')} {instance.dev('nvme2n1')}")
    assert len(instance.calls("mkfs.xfs")) == 1
    assert instance.calls("mount")[1] == (
        f"mount -o nosuid,nodev,noatime {array} {instance.scratch}")


def test_a_mounted_folder_is_left_as_it_is(make_instance):
    instance = make_instance(instance_store=1)
    assert instance.boot().returncode == 0
    done = instance.boot()  # run again without a reboot: cloud-init re-run by hand
    assert done.returncode == 0, done.stderr
    assert len(instance.calls("mount")) == 1 and len(instance.calls("mkfs.xfs")) == 1
    assert "is mounted already" in instance.log()


def test_failing_mkfs_falls_back_logs_why_and_exits_0(make_instance):
    instance = make_instance(instance_store=1)
    instance.fail("mkfs")
    done = instance.boot()
    assert done.returncode == 0, done.stderr
    assert instance.calls("mount") == []
    assert_open_folder(instance.scratch)
    assert (f"using a folder on the root volume: mkfs.xfs failed on {instance.dev('nvme1n1')}"
            in instance.log())


@pytest.mark.parametrize("command, reason", [
    ("mount", "cannot mount"),
    ("mdadm", "mdadm cannot create a RAID 0 array"),
])
def test_other_failures_fall_back_too(make_instance, command, reason):
    instance = make_instance(instance_store=2)
    instance.fail(command)
    done = instance.boot()
    assert done.returncode == 0, done.stderr
    assert_open_folder(instance.scratch)
    assert f"using a folder on the root volume: {reason}" in instance.log()


def test_a_device_holding_other_data_is_left_alone(make_instance):
    instance = make_instance(instance_store=1)
    (instance.state / "nvme1n1.TYPE").write_text("ext4\n")
    (instance.state / "nvme1n1.LABEL").write_text("data\n")
    done = instance.boot()
    assert done.returncode == 0, done.stderr
    assert instance.calls("mkfs.xfs") == [] and instance.calls("mount") == []
    assert "holds ext4 data (label 'data') already, left untouched" in instance.log()


def test_without_mdadm_the_first_device_is_used_alone(make_instance):
    instance = make_instance(instance_store=2)
    (instance.bin / "mdadm").unlink()
    if shutil.which("mdadm", path="/usr/bin:/bin"):
        pytest.skip("this machine has mdadm on the test's PATH")
    done = instance.boot()
    assert done.returncode == 0, done.stderr
    assert instance.calls("mkfs.xfs") == [
        f"mkfs.xfs -q -K -L rv-scratch {instance.dev('nvme1n1')}"]
    assert "mdadm is not installed: using" in instance.log()


def test_the_script_names_no_path_outside_its_root():
    # What makes running it here safe (the tests may run as root): every absolute path is
    # under $ROOT, except SCRATCH_DIR, which is used as $ROOT$SCRATCH_DIR, and /dev/null.
    code = [line.split(" #", 1)[0].replace("/dev/null", "")
            for line in SCRIPT.read_text().splitlines() if not line.lstrip().startswith("#")]
    outside = [line for line in code
               if re.search(r'(?<![\w.$}])/(sys|dev|var|etc|proc|home)\b', line)
               and "$ROOT" not in line and not line.startswith("SCRATCH_DIR=")]
    assert outside == []
    assert 'SCRATCH=$ROOT$SCRATCH_DIR' in SCRIPT.read_text()


def test_the_script_and_the_job_definitions_name_the_same_folder():
    assert f"SCRATCH_DIR={userdata.SCRATCH_DIR}\n" in SCRIPT.read_text()
