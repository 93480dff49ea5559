"""The provisioning scripts: shellcheck-clean (the real shellcheck), and their logic run here
with bash. The commands they drive (dnf, systemctl, docker, nvidia-ctk, the AWS CLI) cannot run
on this machine as on a GPU instance, so each test puts small stand-ins first on PATH that log
their arguments and answer as the real ones would; what is checked is the scripts' own
decisions. 90-cleanup.sh runs against a folder standing in for the instance's / (CLEANUP_ROOT),
after a check that it names no file outside that folder."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from rv_batch_cfn.template import packer as pt
from tests.conftest import require_tool

SCRIPTS = Path(__file__).resolve().parents[2] / "packer" / "scripts"


def test_shellcheck_is_clean():
    shellcheck = require_tool("shellcheck")
    scripts = sorted(str(p) for p in SCRIPTS.glob("*.sh"))
    assert len(scripts) == len(pt.SCRIPTS)
    done = subprocess.run([shellcheck, "--severity=style", *scripts], capture_output=True,
                          text=True)
    assert done.returncode == 0, done.stdout + done.stderr


class Host:
    """A folder of stand-in commands that log each call to calls.log."""

    def __init__(self, root: Path):
        self.root = root
        self.bin = root / "bin"
        self.bin.mkdir()
        self.log = root / "calls.log"
        self.log.touch()
        for name in ("systemctl", "dnf", "yum", "amazon-linux-extras", "sleep", "aws"):
            self.command(name)

    def command(self, name: str, body: str = "exit 0") -> None:
        script = self.bin / name
        script.write_text(f'#!/usr/bin/env bash\nprintf "%s\\n" "{name} $*" >> "{self.log}"\n'
                          f"{body}\n")
        script.chmod(0o755)

    def run(self, script: str, **env: str) -> subprocess.CompletedProcess:
        bash = shutil.which("bash")
        environment = {"PATH": f"{self.bin}:/usr/bin:/bin", "HOME": str(self.root), **env}
        return subprocess.run([bash, str(SCRIPTS / script)], capture_output=True, text=True,
                              env=environment, cwd=self.root, timeout=30)

    def calls(self, name: str) -> list[str]:
        return [line.split(" ", 1)[1] if " " in line else ""
                for line in self.log.read_text().splitlines() if line.split(" ", 1)[0] == name]


@pytest.fixture
def host(tmp_path) -> Host:
    return Host(tmp_path)


def os_release(host: Host, version: str) -> str:
    path = host.root / "os-release"
    path.write_text(f'ID="amzn"\nVERSION_ID="{version}"\nPRETTY_NAME="Amazon Linux {version}"\n')
    return str(path)


def test_ecs_agent_setup_on_al2023_keeps_existing_config_lines(host):
    host.command("id", 'echo 0')
    config = host.root / "ecs.config"
    config.write_text("ECS_CLUSTER=from-batch\nECS_ENABLE_GPU_SUPPORT=false\n")
    done = host.run("10-ecs-agent.sh", ECS_CONFIG=str(config),
                    OS_RELEASE=os_release(host, "2023"))
    assert done.returncode == 0, done.stderr
    assert host.calls("dnf") == ["install -y ecs-init mdadm"]  # mdadm: RAID 0 scratch space
    assert host.calls("systemctl") == ["enable ecs.service"]  # enabled, never started
    assert config.read_text().splitlines() == [
        "ECS_CLUSTER=from-batch", "ECS_ENABLE_GPU_SUPPORT=true",
        'ECS_AVAILABLE_LOGGING_DRIVERS=["json-file","awslogs"]']


def test_ecs_agent_setup_on_al2_uses_amazon_linux_extras(host):
    host.command("id", 'echo 0')
    config = host.root / "ecs" / "ecs.config"
    done = host.run("10-ecs-agent.sh", ECS_CONFIG=str(config), OS_RELEASE=os_release(host, "2"))
    assert done.returncode == 0, done.stderr
    assert host.calls("amazon-linux-extras") == ["install -y ecs"]
    assert host.calls("yum") == ["install -y mdadm"]
    assert host.calls("dnf") == []
    assert config.read_text() == ('ECS_ENABLE_GPU_SUPPORT=true\n'
                                  'ECS_AVAILABLE_LOGGING_DRIVERS=["json-file","awslogs"]\n')


def test_ecs_agent_setup_refuses_another_os(host):
    host.command("id", 'echo 0')
    release = host.root / "os-release"
    release.write_text('ID="ubuntu"\nVERSION_ID="22.04"\nPRETTY_NAME="Ubuntu 22.04"\n')
    done = host.run("10-ecs-agent.sh", ECS_CONFIG=str(host.root / "ecs.config"),
                    OS_RELEASE=str(release))
    assert done.returncode != 0
    assert "unsupported OS Ubuntu 22.04" in done.stderr
    assert host.calls("dnf") == [] and host.calls("systemctl") == []


def test_nvidia_runtime_becomes_dockers_default(host):
    host.command("nvidia-ctk")
    host.command("docker", 'echo nvidia')
    done = host.run("20-nvidia-docker.sh")
    assert done.returncode == 0, done.stderr
    assert host.calls("nvidia-ctk") == ["runtime configure --runtime=docker --set-as-default"]
    assert host.calls("systemctl") == ["enable docker.service", "restart docker.service"]


def test_nvidia_runtime_setup_fails_when_docker_keeps_another_default(host):
    host.command("nvidia-ctk")
    host.command("docker", 'echo runc')
    done = host.run("20-nvidia-docker.sh")
    assert done.returncode != 0
    assert "'runc'" in done.stderr


def test_prepull_splits_on_spaces_and_commas_without_expanding_patterns(host):
    host.command("docker")
    (host.root / "some-file").touch()  # a `*` expanded by the shell would become this name
    done = host.run("40-prepull-images.sh", PREPULL_IMAGES=" a/b:1, c  d,* ",
                    ECS_CONFIG=str(host.root / "ecs.config"))
    assert done.returncode == 0, done.stderr
    pulls = [c for c in host.calls("docker") if c.startswith("pull")]
    assert pulls == ["pull --quiet a/b:1", "pull --quiet c", "pull --quiet d", "pull --quiet *"]
    assert host.calls("aws") == []  # no ECR image, no login


def test_prepull_logs_in_to_private_ecr_in_the_images_region(host):
    # Like the real one, `docker login --password-stdin` reads the password it is piped.
    host.command("docker", 'if [ "$1" = login ]; then cat >/dev/null; fi')
    host.command("aws", "echo secret")
    image = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/raster-vision-gpu:latest"
    done = host.run("40-prepull-images.sh", PREPULL_IMAGES=image,
                    ECS_CONFIG=str(host.root / "ecs.config"))
    assert done.returncode == 0, done.stderr
    assert host.calls("aws") == ["ecr get-login-password --region eu-west-1"]
    assert host.calls("docker") == [
        "login --username AWS --password-stdin 123456789012.dkr.ecr.eu-west-1.amazonaws.com",
        f"pull --quiet {image}", "image ls"]


@pytest.mark.parametrize("before", ["", "ECS_IMAGE_PULL_BEHAVIOR=prefer-cached\n",
                                    "ECS_IMAGE_PULL_BEHAVIOR=once\n"])
def test_prepull_keeps_the_agent_checking_the_registry(host, before):
    # The ECR tag is mutable: an instance must run what publish-container pushed last, using the
    # pre-pulled layers it already has, and the cache only when the registry is unreachable.
    host.command("docker")
    config = host.root / "ecs.config"
    config.write_text("ECS_ENABLE_GPU_SUPPORT=true\n" + before)
    done = host.run("40-prepull-images.sh", PREPULL_IMAGES="a/b:1", ECS_CONFIG=str(config))
    assert done.returncode == 0, done.stderr
    assert config.read_text().splitlines() == ["ECS_ENABLE_GPU_SUPPORT=true",
                                               "ECS_IMAGE_PULL_BEHAVIOR=default"]
    assert "prefer-cached" not in done.stdout


@pytest.mark.parametrize("images", ["", " , "])
def test_prepull_of_nothing_touches_nothing(host, images):
    host.command("docker")
    config = host.root / "ecs.config"
    config.write_text("ECS_ENABLE_GPU_SUPPORT=true\n")
    done = host.run("40-prepull-images.sh", PREPULL_IMAGES=images, ECS_CONFIG=str(config))
    assert done.returncode == 0, done.stderr
    assert host.calls("docker") == [] and host.calls("systemctl") == []
    assert "no images to pre-pull" in done.stdout
    assert config.read_text() == "ECS_ENABLE_GPU_SUPPORT=true\n"  # the agent's defaults


def test_prepull_gives_up_after_three_attempts(host):
    host.command("docker", 'exit 1')
    config = host.root / "ecs.config"
    done = host.run("40-prepull-images.sh", PREPULL_IMAGES="missing/image:1",
                    ECS_CONFIG=str(config))
    assert done.returncode != 0
    assert len(host.calls("docker")) == 3
    assert "cannot pull missing/image:1" in done.stderr
    assert not config.exists()  # the build failed: nothing written


CHECK_IMAGE = "public.ecr.aws/amazonlinux/amazonlinux:2023"


def test_gpu_check_runs_a_container_the_way_ecs_does_and_removes_its_image(host):
    host.command("nvidia-smi", 'echo "NVIDIA L4, 570.00, 23034 MiB"')
    host.command("docker", 'echo "GPU 0: NVIDIA L4"')
    done = host.run("30-gpu-check.sh", GPU_CHECK_IMAGE=CHECK_IMAGE, PREPULL_IMAGES="x/y:1")
    assert done.returncode == 0, done.stderr
    assert host.calls("docker") == [
        "run --rm -e NVIDIA_VISIBLE_DEVICES=all -e NVIDIA_DRIVER_CAPABILITIES=utility "
        f"{CHECK_IMAGE} nvidia-smi -L", f"rmi {CHECK_IMAGE}"]


def test_gpu_check_keeps_its_image_when_it_is_pre_pulled(host):
    host.command("nvidia-smi")
    host.command("docker")
    done = host.run("30-gpu-check.sh", GPU_CHECK_IMAGE=CHECK_IMAGE,
                    PREPULL_IMAGES=f"x/y:1,{CHECK_IMAGE}")
    assert done.returncode == 0, done.stderr
    assert not [c for c in host.calls("docker") if c.startswith("rmi")]


def test_gpu_check_fails_the_build_when_the_container_sees_no_gpu(host):
    host.command("nvidia-smi")
    host.command("docker", 'exit 1')
    done = host.run("30-gpu-check.sh", GPU_CHECK_IMAGE=CHECK_IMAGE)
    assert done.returncode != 0
    assert "a container cannot see the GPU" in done.stderr


def test_gpu_check_runs_before_the_pre_pull_and_cleanup_last():
    # A broken GPU setup fails the build before it spends time pulling gigabytes.
    names = [script.rsplit("/", 1)[-1] for script in pt.SCRIPTS]
    assert names.index("30-gpu-check.sh") < names.index("40-prepull-images.sh")
    assert names == sorted(names) and names[-1] == "90-cleanup.sh"


# Absolute paths of the instance that 90-cleanup.sh touches; each must be under CLEANUP_ROOT.
INSTANCE_PATH = re.compile(r"(?<![\w.])/(etc|var|root|home)\b")


def test_cleanup_names_no_file_outside_its_root():
    # What makes the next test safe to run on this machine (as root, it could delete this
    # machine's host keys and machine-id): every such path starts with "$CLEANUP_ROOT".
    code = [line.split("#", 1)[0] for line in (SCRIPTS / "90-cleanup.sh").read_text().splitlines()]
    outside = [line for line in code
               if INSTANCE_PATH.search(line.replace('"$CLEANUP_ROOT/', '"').replace(
                   '"$CLEANUP_ROOT"/', '"'))]
    assert outside == []
    # The check sees bare paths, quoted or not.
    assert INSTANCE_PATH.search('rm -f /etc/machine-id')
    assert INSTANCE_PATH.search('truncate -s 0 "/etc/machine-id"')


def write(path: Path, text: str = "x\n") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def test_cleanup_clears_agent_state_and_instance_identity(host):
    test_cleanup_names_no_file_outside_its_root()
    for name in ("cloud-init", "journalctl", "docker", "sync"):
        host.command(name, "exit 1" if name == "docker" else "exit 0")
    root = host.root / "instance"
    agent_files = [write(root / "var/lib/ecs/data/agent.db"),
                   write(root / "var/lib/ecs/data/sub/state.json"),
                   write(root / "var/lib/ecs/gpu/nvidia-gpu-info.json"),
                   write(root / "var/log/ecs/ecs-agent.log")]
    config = write(root / "etc/ecs/ecs.config",
                   "ECS_CLUSTER=default\nECS_ENABLE_GPU_SUPPORT=true\n"
                   'ECS_AVAILABLE_LOGGING_DRIVERS=["json-file","awslogs"]\n'
                   "ECS_IMAGE_PULL_BEHAVIOR=default\n")
    machine_id = write(root / "etc/machine-id", "0123456789abcdef0123456789abcdef\n")
    dbus_id = write(root / "var/lib/dbus/machine-id", "0123456789abcdef0123456789abcdef\n")
    host_keys = [write(root / f"etc/ssh/ssh_host_{kind}") for kind in
                 ("rsa_key", "rsa_key.pub", "ed25519_key", "ed25519_key.pub")]
    sshd_config = write(root / "etc/ssh/sshd_config", "PasswordAuthentication no\n")
    keys = [write(root / "home/ec2-user/.ssh/authorized_keys", "ssh-ed25519 AAAA packer\n"),
            write(root / "root/.ssh/authorized_keys", "ssh-ed25519 AAAA packer\n")]
    known_hosts = write(root / "home/ec2-user/.ssh/known_hosts")

    done = host.run("90-cleanup.sh", CLEANUP_ROOT=str(root))
    assert done.returncode == 0, done.stderr

    assert not any(f.exists() for f in agent_files)
    for folder in ("var/lib/ecs/data", "var/lib/ecs/gpu", "var/log/ecs"):
        assert (root / folder).is_dir() and not any((root / folder).iterdir())
    assert config.read_text().splitlines() == [
        "ECS_ENABLE_GPU_SUPPORT=true", 'ECS_AVAILABLE_LOGGING_DRIVERS=["json-file","awslogs"]',
        "ECS_IMAGE_PULL_BEHAVIOR=default"]
    assert machine_id.exists() and machine_id.read_text() == ""  # emptied, not deleted
    assert not dbus_id.exists()
    assert not any(k.exists() for k in host_keys) and sshd_config.exists()
    assert not any(k.exists() for k in keys) and known_hosts.exists()
    assert host.calls("systemctl") == ["stop ecs.service"]
    assert host.calls("cloud-init") == ["clean --logs"]
    assert host.calls("dnf") == ["clean all"]


def test_cleanup_refuses_a_root_that_is_not_a_folder(host):
    done = host.run("90-cleanup.sh", CLEANUP_ROOT=str(host.root / "missing"))
    assert done.returncode != 0
    assert "is not a directory" in done.stderr
    assert host.calls("systemctl") == []
