"""The provisioning scripts: shellcheck-clean (the real shellcheck), and their logic run here
with bash. The commands they drive (dnf, systemctl, docker, nvidia-ctk, the AWS CLI) cannot run
on this machine as on a GPU instance, so each test puts small stand-ins first on PATH that log
their arguments and answer as the real ones would; what is checked is the scripts' own
decisions. 90-cleanup.sh is only shellchecked: it deletes this machine's identity files."""

from __future__ import annotations

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
    assert host.calls("dnf") == ["install -y ecs-init"]
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
    done = host.run("30-prepull-images.sh", PREPULL_IMAGES=" a/b:1, c  d,* ")
    assert done.returncode == 0, done.stderr
    pulls = [c for c in host.calls("docker") if c.startswith("pull")]
    assert pulls == ["pull --quiet a/b:1", "pull --quiet c", "pull --quiet d", "pull --quiet *"]
    assert host.calls("aws") == []  # no ECR image, no login


def test_prepull_logs_in_to_private_ecr_in_the_images_region(host):
    # Like the real one, `docker login --password-stdin` reads the password it is piped.
    host.command("docker", 'if [ "$1" = login ]; then cat >/dev/null; fi')
    host.command("aws", "echo secret")
    image = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/raster-vision-gpu:latest"
    done = host.run("30-prepull-images.sh", PREPULL_IMAGES=image)
    assert done.returncode == 0, done.stderr
    assert host.calls("aws") == ["ecr get-login-password --region eu-west-1"]
    assert host.calls("docker") == [
        "login --username AWS --password-stdin 123456789012.dkr.ecr.eu-west-1.amazonaws.com",
        f"pull --quiet {image}", "image ls"]


@pytest.mark.parametrize("images", ["", " , "])
def test_prepull_of_nothing_touches_nothing(host, images):
    host.command("docker")
    done = host.run("30-prepull-images.sh", PREPULL_IMAGES=images)
    assert done.returncode == 0, done.stderr
    assert host.calls("docker") == [] and host.calls("systemctl") == []
    assert "no images to pre-pull" in done.stdout


def test_prepull_gives_up_after_three_attempts(host):
    host.command("docker", 'exit 1')
    done = host.run("30-prepull-images.sh", PREPULL_IMAGES="missing/image:1")
    assert done.returncode != 0
    assert len(host.calls("docker")) == 3
    assert "cannot pull missing/image:1" in done.stderr


CHECK_IMAGE = "public.ecr.aws/amazonlinux/amazonlinux:2023"


def test_gpu_check_runs_a_container_the_way_ecs_does_and_removes_its_image(host):
    host.command("nvidia-smi", 'echo "NVIDIA L4, 570.00, 23034 MiB"')
    host.command("docker", 'echo "GPU 0: NVIDIA L4"')
    done = host.run("40-gpu-check.sh", GPU_CHECK_IMAGE=CHECK_IMAGE, PREPULL_IMAGES="x/y:1")
    assert done.returncode == 0, done.stderr
    assert host.calls("docker") == [
        "run --rm -e NVIDIA_VISIBLE_DEVICES=all -e NVIDIA_DRIVER_CAPABILITIES=utility "
        f"{CHECK_IMAGE} nvidia-smi -L", f"rmi {CHECK_IMAGE}"]


def test_gpu_check_keeps_its_image_when_it_is_pre_pulled(host):
    host.command("nvidia-smi")
    host.command("docker")
    done = host.run("40-gpu-check.sh", GPU_CHECK_IMAGE=CHECK_IMAGE,
                    PREPULL_IMAGES=f"x/y:1,{CHECK_IMAGE}")
    assert done.returncode == 0, done.stderr
    assert not [c for c in host.calls("docker") if c.startswith("rmi")]


def test_gpu_check_fails_the_build_when_the_container_sees_no_gpu(host):
    host.command("nvidia-smi")
    host.command("docker", 'exit 1')
    done = host.run("40-gpu-check.sh", GPU_CHECK_IMAGE=CHECK_IMAGE)
    assert done.returncode != 0
    assert "a container cannot see the GPU" in done.stderr
