"""`publish-container --stack NAME`: the repositories and the tag come from the deployed stack;
flags and settings still override them. In-process against the emulator; docker is the stand-in
of tests/aws/fake_docker.py (no Docker daemon can run here), whose push puts the manifest
into the emulator's ECR."""

from __future__ import annotations

import json

import pytest

from rv_batch_cfn import cli
from tests.aws.fake_docker import HOST, FakeDocker
from tests.emulator import deploy, deploy_project, make_network

LOCAL = "raster-vision-pytorch"  # the default local image: what ./docker/build makes


@pytest.fixture
def docker(tmp_path, monkeypatch) -> FakeDocker:
    fake = FakeDocker(tmp_path)
    for key, value in fake.env(images=f"{LOCAL},rv-mine:dev").items():
        monkeypatch.setenv(key, value)
    for key in ("ECR_CPU_IMAGE", "ECR_GPU_IMAGE", "ECR_IMAGE_TAG", "RASTER_VISION_CPU_IMAGE",
                "RASTER_VISION_GPU_IMAGE"):
        monkeypatch.delenv(key, raising=False)
    return fake


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = cli.main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def pushed(docker: FakeDocker) -> list[str]:
    return [argv[1] for argv in docker.argvs() if argv[0] == "push"]


def test_reads_repositories_and_tag_from_the_stack(emulator, docker, capsys):
    deploy(emulator, "rv", make_network(emulator), GpuRepositoryName="raster-vision",
           CpuRepositoryName="raster-vision", ImageTag="v3")
    code, out, err = run(capsys, "publish-container", "--stack", "rv")
    assert code == 0, err
    assert "From stack rv: CPU repository raster-vision, GPU repository raster-vision, tag v3" \
        in out
    # One repository serves both kinds: pushed once.
    assert pushed(docker) == [f"{HOST}/raster-vision:v3"]
    [image] = emulator.client("ecr").describe_images(repositoryName="raster-vision")[
        "imageDetails"]
    assert image["imageTags"] == ["v3"]

    # A flag (or its settings.mk variable) overrides what the stack says.
    code, out, err = run(capsys, "--output", "json", "publish-container", "--stack", "rv",
                         "--tag", "v4", "--dry-run")
    assert code == 0, err
    assert json.loads(out) == {"dry_run": True, "published": []}
    assert f"docker push {HOST}/raster-vision:v4" in err


def test_a_kind_running_the_hosted_image_is_skipped(emulator, docker, capsys):
    deploy(emulator, "rv", make_network(emulator), GpuRepositoryName="rv-gpu")
    code, out, err = run(capsys, "publish-container", "--stack", "rv", "--json")
    assert code == 0, err
    assert "CPU jobs of stack rv run a hosted image (CpuRepositoryName is empty): nothing to " \
           "push for them" in err
    assert pushed(docker) == [f"{HOST}/rv-gpu:latest"]
    [published] = json.loads(out)["published"]
    assert published["uri"] == f"{HOST}/rv-gpu:latest" and published["serves"] == ["gpu"]


def test_a_stack_without_repositories_says_so(emulator, docker, capsys):
    deploy(emulator, "rv", make_network(emulator))
    code, out, err = run(capsys, "publish-container", "--stack", "rv")
    assert code == 2 and out == ""
    assert "stack 'rv' creates no ECR repository (its CpuRepositoryName and GpuRepositoryName " \
           "are empty)" in err
    assert docker.calls() == []


def test_a_per_project_stack_gives_its_repository_and_namespace_tag(emulator, docker, capsys):
    deploy(emulator, "rv", make_network(emulator))
    deploy_project(emulator, "rv-alice", MainStackName="rv", Namespace="alice",
                   RepositoryName="team/rv")
    emulator.client("ecr").create_repository(repositoryName="team/rv")
    code, out, err = run(capsys, "publish-container", "--stack", "rv-alice", "--gpu-image",
                         "rv-mine:dev", "--cpu-image", "rv-mine:dev")
    assert code == 0, err
    assert pushed(docker) == [f"{HOST}/team/rv:alice"]
