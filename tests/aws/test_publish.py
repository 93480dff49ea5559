"""`rv-batch-cfn publish-container` and `make publish-container`, end to end.

The CLI runs pointed at the moto server the way a user's shell reaches AWS (tests/emulator.py
aws_env), in the test process with its file descriptors captured (tests/cli_runner.py), so that
docker's own output is seen as a terminal would show it; the ECR repositories come from deploying
the generated template.

No Docker daemon can run here, so `docker` is a stand-in on PATH (tests/aws/fake_docker.py)
that records its arguments, standard input and environment. Its `push` does what a registry does
on a real push as far as ECR's API shows: it puts the image's manifest into the emulator's ECR
(ecr:PutImage through boto3), and the emulator computes the digest. The digest the CLI prints
therefore comes from ECR (describe_images), not from the stand-in or the CLI itself.
"""

from __future__ import annotations

import base64
import contextlib
import shutil
import subprocess
import urllib.request

import pytest

from rv_batch_cfn.aws.publish.container import KindImages, PublishSettings, plan, registry_host
from rv_batch_cfn.errors import AwsError, ConfigError
from tests import cli_runner
from tests.aws.fake_docker import ACCOUNT, CPU_LOCAL, GPU_LOCAL, HOST, FakeDocker
from tests.conftest import require_tool
from tests.emulator import ROOT, Emulator, aws_env, deploy, make_network


@pytest.fixture
def docker(tmp_path) -> FakeDocker:
    return FakeDocker(tmp_path)


def run_cli(emu: Emulator, *args: str, env: dict[str, str] | None = None,
            drop: tuple[str, ...] = ()) -> subprocess.CompletedProcess:
    """`rv-batch-cfn publish-container ARGS` as a user would run it, against the emulator."""
    environment = aws_env(emu, **(env or {}))
    for key in drop:
        environment.pop(key, None)
    return cli_runner.run(["publish-container", *args], env=environment, cwd=ROOT, fds=True)


def deploy_stack(emu: Emulator, gpu_repository: str, cpu_repository: str) -> None:
    stack = deploy(emu, "rv-batch", make_network(emu), GpuRepositoryName=gpu_repository,
                   CpuRepositoryName=cpu_repository)
    assert stack["StackStatus"] == "CREATE_COMPLETE", stack.get("StackStatusReason")


def both_kinds(tag: str = "v7", cpu_repo: str = "rv-cpu", gpu_repo: str = "rv-gpu",
               cpu_local: str = CPU_LOCAL, gpu_local: str = GPU_LOCAL) -> list[str]:
    return ["--cpu-image", cpu_local, "--gpu-image", gpu_local, "--cpu-repository", cpu_repo,
            "--gpu-repository", gpu_repo, "--tag", tag]


def registry_password(emu: Emulator) -> str:
    token = emu.client("ecr").get_authorization_token()["authorizationData"][0]
    return base64.b64decode(token["authorizationToken"]).decode().partition(":")[2]


def ecr_digest(emu: Emulator, repository: str, tag: str) -> str:
    return emu.client("ecr").describe_images(
        repositoryName=repository, imageIds=[{"imageTag": tag}])["imageDetails"][0]["imageDigest"]


PREFIX = "rv-batch-cfn publish-container: error: "


def assert_one_clean_error(done: subprocess.CompletedProcess, *fragments: str,
                           after_docker: bool = False) -> str:
    """Exit 2 with one message (no traceback) containing every fragment; returns the message.
    Only a docker command that ran and failed may have written to stderr before it."""
    assert done.returncode == 2, (done.stdout, done.stderr)
    assert "Traceback" not in done.stderr
    assert done.stderr.count(PREFIX) == 1, done.stderr
    if not after_docker:
        assert done.stderr.startswith(PREFIX), done.stderr
    message = done.stderr[done.stderr.index(PREFIX):]
    for fragment in fragments:
        assert fragment in message, (fragment, message)
    return message


# --- a push -------------------------------------------------------------------------------------

def test_pushes_both_kinds_with_login_tag_push_and_prints_ecr_digests(emulator, docker):
    deploy_stack(emulator, gpu_repository="rv-gpu", cpu_repository="rv-cpu")

    done = run_cli(emulator, "--kind", "all", *both_kinds(), env=docker.env())

    assert done.returncode == 0, done.stderr
    cpu_uri, gpu_uri = f"{HOST}/rv-cpu:v7", f"{HOST}/rv-gpu:v7"
    assert docker.argvs() == [
        ["version", "--format", "{{.Server.Version}}"],
        ["image", "inspect", "--format", "{{.Id}}", CPU_LOCAL],
        ["image", "inspect", "--format", "{{.Id}}", GPU_LOCAL],
        ["login", "--username", "AWS", "--password-stdin", HOST],
        ["tag", CPU_LOCAL, cpu_uri],
        ["push", cpu_uri],
        ["tag", GPU_LOCAL, gpu_uri],
        ["push", gpu_uri],
    ]
    # The digests are the emulator's, read back from ECR; different images, different digests.
    cpu_digest = ecr_digest(emulator, "rv-cpu", "v7")
    gpu_digest = ecr_digest(emulator, "rv-gpu", "v7")
    assert cpu_digest != gpu_digest
    assert f"Pushed {cpu_uri}\n  digest: {cpu_digest}\n  pinned: {HOST}/rv-cpu@{cpu_digest}\n" \
           "  run by: CPU jobs" in done.stdout
    assert f"Pushed {gpu_uri}\n  digest: {gpu_digest}\n" in done.stdout
    for line in ("CpuRepositoryName  = rv-cpu", "GpuRepositoryName  = rv-gpu",
                 "ImageTag           = v7"):
        assert line in done.stdout
    # docker's own progress reaches the user, after our heading for that image.
    progress = f"The push refers to repository [{HOST}/rv-gpu]"
    assert done.stdout.index(f"Pushing {GPU_LOCAL} to {gpu_uri}") < done.stdout.index(progress)
    assert f"v7: digest: {gpu_digest} size:" in done.stdout


def test_registry_password_travels_only_on_standard_input(emulator, docker):
    deploy_stack(emulator, gpu_repository="rv-gpu", cpu_repository="rv-cpu")

    done = run_cli(emulator, "--kind", "gpu", *both_kinds(), env=docker.env())

    assert done.returncode == 0, done.stderr
    password = registry_password(emulator)
    calls = docker.calls()
    assert [c["argv"][0] for c in calls] == ["version", "image", "login", "tag", "push"]
    assert [c["stdin"] for c in calls] == ["", "", password, "", ""]
    for call in calls:
        assert not any(password in arg for arg in call["argv"])
        assert not any(password in value for value in call["env"].values())
    assert password not in done.stdout + done.stderr


def test_one_repository_for_both_kinds_is_pushed_once(emulator, docker):
    # Equal names: the template creates a single repository (from GpuRepositoryName).
    deploy_stack(emulator, gpu_repository="raster-vision", cpu_repository="raster-vision")
    repositories = emulator.client("ecr").describe_repositories()["repositories"]
    assert [r["repositoryName"] for r in repositories] == ["raster-vision"]

    done = run_cli(emulator, "--kind", "all",
                   *both_kinds(cpu_repo="raster-vision", gpu_repo="raster-vision",
                               cpu_local=GPU_LOCAL, gpu_local=GPU_LOCAL),
                   env=docker.env())

    assert done.returncode == 0, done.stderr
    uri = f"{HOST}/raster-vision:v7"
    assert docker.argvs()[2:] == [
        ["login", "--username", "AWS", "--password-stdin", HOST],
        ["tag", GPU_LOCAL, uri],
        ["push", uri],
    ]
    assert f"digest: {ecr_digest(emulator, 'raster-vision', 'v7')}" in done.stdout
    assert "run by: CPU and GPU jobs" in done.stdout
    assert "GpuRepositoryName  = raster-vision" in done.stdout
    assert "CpuRepositoryName  = raster-vision" in done.stdout
    assert "the stack creates one repository for both" in done.stdout


def test_one_repository_with_two_different_local_images_is_refused_before_docker(emulator, docker):
    done = run_cli(emulator, "--kind", "all",
                   *both_kinds(cpu_repo="raster-vision", gpu_repo="raster-vision"),
                   env=docker.env())

    assert_one_clean_error(done, "ECR_CPU_IMAGE and ECR_GPU_IMAGE: got 'raster-vision'",
                           f"RASTER_VISION_CPU_IMAGE is '{CPU_LOCAL}'",
                           "the second push would replace the first")
    assert docker.calls() == []


def test_dry_run_checks_everything_and_prints_commands_without_the_password(emulator, docker):
    deploy_stack(emulator, gpu_repository="rv-gpu", cpu_repository="rv-cpu")

    done = run_cli(emulator, "--kind", "cpu", "--dry-run", *both_kinds(), env=docker.env())

    assert done.returncode == 0, done.stderr
    assert docker.argvs() == [["version", "--format", "{{.Server.Version}}"],
                              ["image", "inspect", "--format", "{{.Id}}", CPU_LOCAL]]
    assert (f"  docker login --username AWS --password-stdin {HOST}  <<< (password from "
            "ecr:GetAuthorizationToken, elided)\n"
            f"  docker tag {CPU_LOCAL} {HOST}/rv-cpu:v7\n"
            f"  docker push {HOST}/rv-cpu:v7\n") in done.stdout
    assert "CpuRepositoryName  = rv-cpu" in done.stdout
    assert registry_password(emulator) not in done.stdout + done.stderr
    assert emulator.client("ecr").describe_images(repositoryName="rv-cpu")["imageDetails"] == []


def test_a_failing_docker_push_is_one_error_with_dockers_message_shown(emulator, docker):
    deploy_stack(emulator, gpu_repository="rv-gpu", cpu_repository="rv-cpu")

    done = run_cli(emulator, "--kind", "all", *both_kinds(),
                   env=docker.env(FAKE_DOCKER_FAIL="push"))

    assert_one_clean_error(done, f"`docker push {HOST}/rv-cpu:v7` failed (exit 1); docker's "
                                 "message is above", after_docker=True)
    assert done.stderr.startswith("denied: the fake registry refuses `docker push`\n")
    assert docker.argvs()[-1] == ["push", f"{HOST}/rv-cpu:v7"]  # stopped at the first failure


# --- checks before pushing ------------------------------------------------------------------------

def test_docker_not_installed(emulator, tmp_path):
    empty = tmp_path / "empty-bin"
    empty.mkdir()

    done = run_cli(emulator, "--kind", "cpu", *both_kinds(), env={"PATH": str(empty)})

    assert_one_clean_error(done, "docker is not installed (not found on PATH)",
                           "install Docker Engine or Docker Desktop")


def test_docker_daemon_not_running(emulator, docker):
    done = run_cli(emulator, "--kind", "cpu", *both_kinds(),
                   env=docker.env(FAKE_DOCKER_DAEMON="down"))

    assert_one_clean_error(done, "the Docker daemon is not running (docker said: Cannot "
                                 "connect to the Docker daemon", "sudo systemctl start docker")
    assert docker.argvs() == [["version", "--format", "{{.Server.Version}}"]]


def test_docker_daemon_not_running_with_the_real_docker_client(emulator, tmp_path):
    """The message above, against the wording of the docker client actually installed."""
    if shutil.which("docker") is None:
        pytest.skip("no docker client installed; the stand-in covers this check")
    done = run_cli(emulator, "--kind", "cpu", *both_kinds(),
                   env={"DOCKER_HOST": f"unix://{tmp_path}/no-daemon.sock",
                        "DOCKER_CONTEXT": "default", "DOCKER_CONFIG": str(tmp_path)})

    assert_one_clean_error(done, "the Docker daemon is not running (docker said: Cannot "
                                 f"connect to the Docker daemon at unix://{tmp_path}/no-daemon")


def test_local_image_missing_names_the_docker_build_step(emulator, docker):
    done = run_cli(emulator, "--kind", "all", *both_kinds(), env=docker.env(images=GPU_LOCAL))

    message = assert_one_clean_error(
        done, f"local image not found:\n  - {CPU_LOCAL} (RASTER_VISION_CPU_IMAGE (--cpu-image))",
        "./docker/build in your Raster Vision checkout")
    assert GPU_LOCAL not in message
    assert [a[0] for a in docker.argvs()] == ["version", "image", "image"]  # no login


def test_repository_missing_names_the_stack_parameter_that_creates_it(emulator, docker):
    deploy_stack(emulator, gpu_repository="rv-gpu", cpu_repository="")  # no CPU repository

    done = run_cli(emulator, "--kind", "all", *both_kinds(), env=docker.env())

    message = assert_one_clean_error(
        done, f"ECR repository not found in account {ACCOUNT}, region us-east-1:",
        "'rv-cpu' (ECR_CPU_IMAGE): the stack creates it from its parameter CpuRepositoryName; "
        "set CpuRepositoryName to rv-cpu")
    assert "rv-gpu" not in message
    assert "login" not in [a[0] for a in docker.argvs()]


def test_missing_shared_repository_names_both_parameters(emulator, docker):
    done = run_cli(emulator, "--kind", "gpu",
                   *both_kinds(cpu_repo="raster-vision", gpu_repo="raster-vision",
                               cpu_local=GPU_LOCAL),
                   env=docker.env())

    assert_one_clean_error(
        done, "'raster-vision' (ECR_CPU_IMAGE and ECR_GPU_IMAGE): the stack creates one "
              "repository for both kinds from GpuRepositoryName when CpuRepositoryName is the "
              "same name; set both to raster-vision")


def test_no_credentials_says_to_set_aws_profile(emulator, docker):
    done = run_cli(emulator, "--kind", "cpu", *both_kinds(),
                   env=docker.env(AWS_EC2_METADATA_DISABLED="true"),
                   drop=("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"))

    assert_one_clean_error(done, "no AWS credentials found: set AWS_PROFILE")


def test_unknown_profile_lists_the_known_ones(emulator, docker):
    done = run_cli(emulator, "--kind", "cpu", "--profile", "raster-vision", *both_kinds(),
                   env=docker.env())

    assert_one_clean_error(done, "The config profile (raster-vision) could not be found",
                           "known profiles: none",
                           "create it with `aws configure --profile raster-vision`")


def test_unknown_profile_from_the_environment_is_explained_too(emulator, docker, tmp_path):
    config = tmp_path / "aws-config"
    config.write_text("[profile team]\nregion = us-east-1\n[default]\nregion = us-east-1\n")

    done = run_cli(emulator, "--kind", "cpu", *both_kinds(),
                   env=docker.env(AWS_PROFILE="raster-vision", AWS_CONFIG_FILE=str(config)))

    assert_one_clean_error(done, "The config profile (raster-vision) could not be found; "
                                 "known profiles: default, team",
                           "or leave AWS_PROFILE empty to use the default credentials")


@contextlib.contextmanager
def credentials_checked(emu: Emulator):
    """moto accepts any credentials unless told to check them as IAM does; while this is
    active, keys it never issued (the tests' 'testing') are refused like invalid keys on AWS."""
    def reset_auth(count: str) -> None:
        urllib.request.urlopen(urllib.request.Request(
            f"{emu.endpoint}/moto-api/reset-auth", data=count.encode(), method="POST",
            headers={"Content-Type": "text/plain"})).read()

    reset_auth("0")
    try:
        yield
    finally:
        reset_auth("inf")


def test_refused_credentials_say_which_and_how_to_renew(emulator, docker):
    with credentials_checked(emulator):
        done = run_cli(emulator, "--kind", "cpu", *both_kinds(), env=docker.env())

    assert_one_clean_error(done, "the AWS credentials from the environment (AWS_ACCESS_KEY_ID) "
                                 "were refused: The security token included in the request is "
                                 "invalid", "aws sso login")


def test_missing_settings_are_listed_together(emulator, docker):
    # The local images default to raster-vision-pytorch, what ./docker/build makes; the
    # repositories have no default without --stack.
    done = run_cli(emulator, "--kind", "all", "--tag", "not a tag", "--cpu-image", "",
                   env=docker.env())

    message = assert_one_clean_error(done, "3 problems in the configuration:")
    for name in ("ECR_CPU_IMAGE (--cpu-repository): got ''; required: the name of the ECR "
                 "repository the stack created (its CpuRepositoryName parameter; --stack NAME "
                 "reads it from the stack)", "ECR_GPU_IMAGE (--gpu-repository)",
                 "ECR_IMAGE_TAG (--tag): got 'not a tag'"):
        assert name in message
    assert docker.calls() == []


# --- make ---------------------------------------------------------------------------------------

def test_make_publish_container_passes_the_settings_mk_variables(emulator, docker):
    make = require_tool("make")
    deploy_stack(emulator, gpu_repository="rv-gpu", cpu_repository="rv-cpu")
    cli = ROOT / ".venv" / "bin" / "rv-batch-cfn"
    if not cli.exists():
        pytest.skip("the virtual environment make uses is not set up (make template does it)")

    # -o: take the installed virtual environment as it is (no reinstall during a test).
    # AWS_PROFILE= on make's command line reaches the CLI as an empty AWS_PROFILE in its
    # environment, which must mean "no profile" (the emulator's keys), not a profile named "".
    done = subprocess.run(
        [make, "-s", "-o", ".venv/bin/.installed", "publish-container", "DRY_RUN=1",
         f"RASTER_VISION_CPU_IMAGE={CPU_LOCAL}", f"RASTER_VISION_GPU_IMAGE={GPU_LOCAL}",
         "ECR_CPU_IMAGE=rv-cpu", "ECR_GPU_IMAGE=rv-gpu", "ECR_IMAGE_TAG=v7", "AWS_PROFILE=",
         f"AWS_REGION={emulator.region}"],
        cwd=ROOT, env=aws_env(emulator, **docker.env()), capture_output=True, text=True,
        stdin=subprocess.DEVNULL, timeout=60)

    assert done.returncode == 0, done.stderr
    assert f"  docker tag {CPU_LOCAL} {HOST}/rv-cpu:v7\n  docker push {HOST}/rv-cpu:v7\n" \
           f"  docker tag {GPU_LOCAL} {HOST}/rv-gpu:v7\n  docker push {HOST}/rv-gpu:v7\n" \
        in done.stdout
    assert "login" not in [a[0] for a in docker.argvs()]


# --- the parts, without AWS -----------------------------------------------------------------------

@pytest.mark.parametrize("region, host", [
    ("us-east-1", "111122223333.dkr.ecr.us-east-1.amazonaws.com"),
    ("cn-north-1", "111122223333.dkr.ecr.cn-north-1.amazonaws.com.cn"),
    ("us-gov-west-1", "111122223333.dkr.ecr.us-gov-west-1.amazonaws.com"),
    ("eu-isoe-west-1", "111122223333.dkr.ecr.eu-isoe-west-1.cloud.adc-e.uk"),
])
def test_registry_host_uses_the_partitions_dns_suffix(region, host):
    assert registry_host("111122223333", region) == host


def test_registry_host_refuses_an_unknown_region():
    with pytest.raises(AwsError, match="unknown AWS region 'us-east-one'"):
        registry_host("111122223333", "us-east-one")


def test_plan_pushes_a_shared_repository_once_for_either_kind():
    shared = PublishSettings(cpu=KindImages("rv:dev", "raster-vision"),
                             gpu=KindImages("rv:dev", "raster-vision"), tag="v1")

    for kinds in (("cpu", "gpu"), ("gpu",), ("cpu",)):
        pushes = plan(shared, kinds)
        assert [(p.local_image, p.repository, p.serves) for p in pushes] == [
            ("rv:dev", "raster-vision", ("cpu", "gpu"))]


def test_plan_rejects_a_repository_uri_in_place_of_a_name():
    settings = PublishSettings(cpu=KindImages("rv:dev", f"{HOST}/rv-cpu:latest"))

    with pytest.raises(ConfigError, match=r"ECR_CPU_IMAGE \(--cpu-repository\): got "
                                          r"'123456789012\.dkr.*without registry or tag"):
        plan(settings, ("cpu",))


def test_unreachable_ecr_is_one_clear_error(emulator, docker):
    # STS answers (credentials work) but nothing listens where ECR should be.
    done = run_cli(emulator, *both_kinds(), "--dry-run", env=docker.env(
        AWS_ENDPOINT_URL_ECR="http://127.0.0.1:1", AWS_MAX_ATTEMPTS="1"))
    assert_one_clean_error(done, "cannot look up ECR repository 'rv-cpu'",
                           "Could not connect to the endpoint URL")
