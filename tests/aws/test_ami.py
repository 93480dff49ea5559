"""create-ami, validate-ami and find-base-ami.

The checks are run through the CLI (one message, exit 2). The build runs the real `packer build`
(Debian's 1.6.6) through packer-py against the moto server, and the AMI it makes is then used by a
CloudFormation deployment. Stand-ins are used only where the real thing cannot run here, and each
test says so: a `packer` reporting a current version (current Packer cannot be installed here),
programs that are not HashiCorp Packer, and an STS endpoint that refuses credentials (moto
accepts any).
"""

from __future__ import annotations

import json
import re
from http.server import HTTPServer
from pathlib import Path

import pytest

from rv_batch_cfn import cli
from rv_batch_cfn.aws.ami import create as ami_module
from rv_batch_cfn.aws.ami import settings as ami_settings, last as last_ami, packer as packer_run
from rv_batch_cfn.cli import ami as cli_ami
from rv_batch_cfn.aws.ami import base as base_ami
from rv_batch_cfn.aws.clients import session as aws
from rv_batch_cfn.aws.ami.settings import AmiSettings
from rv_batch_cfn.errors import InputError, PackerError
from rv_batch_cfn.template import packer as pt
from tests import local_http
from tests.aws.ami_helpers import (
    DLAMI, PROFILE, TEMPLATE, day, image_record, make_images, run_cli,
)
from tests.cli_runner import assert_one_clean_error
from tests.conftest import require_tool
from tests.emulator import deploy, make_network
from tests.local_http import serving

ROOT = Path(__file__).resolve().parents[2]


# ----------------------------------------------------------------------------------------------
# Set-up helpers


def stand_in_packer(tmp_path: Path, version: str, log: Path) -> str:
    """A `packer` that logs its arguments and reports `version`; validate succeeds."""
    path = tmp_path / "bin" / "packer"
    path.parent.mkdir(exist_ok=True)
    path.write_text(f'#!/usr/bin/env bash\nprintf "%s\\n" "$*" >> "{log}"\n'
                    f'if [ "$1" = version ]; then echo "Packer v{version}"; fi\n')
    path.chmod(0o755)
    return str(path)


# The address SSH is admitted from; without it create-ami looks this machine's up online.
SSH_CIDR = "198.51.100.7/32"


def build_args(base_ami: str = "ami-0123456789abcdef0", *extra: str) -> list[str]:
    return ["validate-ami", "--base-ami", base_ami, "--region", "us-east-1",
            "--template", str(TEMPLATE), "--ssh-source-cidr", SSH_CIDR, *extra]


# ----------------------------------------------------------------------------------------------
# Fail fast: each check's message, and nothing slow started before it


def test_placeholder_ami_is_refused_before_packer_or_aws_is_called(tmp_path, aws_home, capsys):
    log = tmp_path / "packer.log"
    packer = stand_in_packer(tmp_path, "1.6.6", log)
    code, _, err = run_cli(capsys, *build_args("ami-XXXXXXXX", "--profile", PROFILE,
                                               "--packer", packer))
    assert code == 2
    assert "AWS_BATCH_BASE_AMI (--base-ami): got 'ami-XXXXXXXX'" in err
    assert "placeholder" in err and "make find-base-ami" in err
    assert not log.exists(), "packer ran before the settings were checked"


def test_unset_profile_is_refused_and_known_profiles_are_named(aws_home, capsys):
    code, _, err = run_cli(capsys, *build_args())
    assert code == 2
    assert "AWS_PROFILE (--profile): got ''; required" in err
    assert f"known profiles: {PROFILE}" in err


def test_all_setting_problems_are_reported_together(aws_home, capsys):
    code, _, err = run_cli(capsys, *build_args("ami-XXXXXXXX", "--root-volume-size", "10",
                                               "--instance-type", "m6i.xlarge"))
    assert code == 2
    assert "4 problems" in err
    for name in ("AWS_BATCH_BASE_AMI", "AWS_PROFILE", "AWS_ROOT_BLOCK_DEVICE_SIZE",
                 "AMI_BUILD_INSTANCE_TYPE"):
        assert name in err


def test_missing_packer_is_reported(aws_home, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("PATH", str(tmp_path))  # a PATH without packer
    code, _, err = run_cli(capsys, *build_args("ami-0123456789abcdef0", "--profile", PROFILE))
    assert code == 2
    assert "packer is not installed (not found on PATH)" in err
    assert "--packer PATH" in err


def test_missing_explicit_packer_is_reported(aws_home, tmp_path, capsys):
    code, _, err = run_cli(capsys, *build_args("ami-0123456789abcdef0", "--profile", PROFILE,
                                               "--packer", str(tmp_path / "nope")))
    assert code == 2
    assert f"--packer {tmp_path / 'nope'}: no such executable" in err


def test_a_program_that_is_not_hashicorp_packer_is_reported(aws_home, tmp_path, capsys):
    # Stand-in for Fedora's cracklib `packer`, which shares the name.
    impostor = tmp_path / "packer"
    impostor.write_text('#!/usr/bin/env bash\necho "Usage: packer dictpath" >&2\nexit 1\n')
    impostor.chmod(0o755)
    code, _, err = run_cli(capsys, *build_args("ami-0123456789abcdef0", "--profile", PROFILE,
                                               "--packer", str(impostor)))
    assert code == 2
    assert "is not HashiCorp Packer" in err and "Usage: packer dictpath" in err


def test_unknown_profile_is_reported_with_the_known_ones(aws_home, capsys):
    require_tool("packer")
    code, _, err = run_cli(capsys, *build_args("ami-0123456789abcdef0", "--profile", "nope"))
    assert code == 2
    assert "The config profile (nope) could not be found" in err
    assert f"known profiles: {PROFILE}" in err


def test_unknown_profile_from_the_environment_is_one_message(aws_home, monkeypatch, capsys):
    monkeypatch.setenv("AWS_PROFILE", "nope")
    code, _, err = run_cli(capsys, "find-base-ami")
    assert code == 2
    assert "The config profile (nope) could not be found" in err
    assert f"known profiles: {PROFILE}" in err


def test_profile_without_credentials_is_reported(aws_home, capsys):
    require_tool("packer")
    (aws_home / "config").write_text("[profile empty]\nregion = us-east-1\n")
    code, _, err = run_cli(capsys, *build_args("ami-0123456789abcdef0", "--profile", "empty"))
    assert code == 2
    assert "no AWS credentials found" in err


class _RefusingSts(local_http.Handler):
    """Answers every call the way STS answers a key it does not know."""

    def do_POST(self):  # noqa: N802 (http.server's naming)
        self.request_body()
        body = (b'<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><Error>'
                b"<Type>Sender</Type><Code>InvalidClientTokenId</Code><Message>The security "
                b"token included in the request is invalid.</Message></Error>"
                b"<RequestId>0</RequestId></ErrorResponse>")
        self.reply(403, body, "text/xml")


def test_refused_credentials_are_reported(aws_home, monkeypatch, capsys):
    # moto accepts any key, so a stand-in STS endpoint refuses this one as AWS would.
    require_tool("packer")
    with serving(HTTPServer(("127.0.0.1", 0), _RefusingSts)) as url:
        monkeypatch.setenv("AWS_ENDPOINT_URL_STS", url)
        code, _, err = run_cli(capsys, *build_args("ami-0123456789abcdef0",
                                                   "--profile", PROFILE))
    assert code == 2
    assert f"the AWS credentials of profile {PROFILE!r} were refused: The security token " \
           "included in the request is invalid" in err


def test_base_ami_missing_from_the_region_is_reported(account, capsys):
    require_tool("packer")
    code, _, err = run_cli(capsys, *build_args("ami-0123456789abcdef0", "--profile", PROFILE))
    assert code == 2
    assert ("AWS_BATCH_BASE_AMI ami-0123456789abcdef0 is not an AMI this account can use in "
            "us-east-1") in err


def test_validate_ami_passes_with_real_packer_and_builds_nothing(account, tmp_path, capsys,
                                                                 monkeypatch):
    require_tool("packer")
    [base] = make_images(account, [(f"{DLAMI} 20250101", day(0))])
    monkeypatch.chdir(tmp_path)  # where packer/last-ami would be recorded (validate-ami has no
    # --record: it never records)
    code, _, err = run_cli(capsys, *build_args(base, "--profile", PROFILE))
    assert code == 0, err
    assert "packer validate: passed" in err
    # A Deep Learning Base OSS AMI's name, so no doubt about the base AMI; but Debian's Packer
    # 1.6.6 cannot sign in to Amazon Linux 2023 over SSH, and says so.
    [warning] = [line for line in err.splitlines() if line.startswith("warning:")]
    assert warning.startswith("warning: packer 1.6.6 cannot sign in over SSH when the base AMI "
                              "is Amazon Linux 2023")
    assert f"build security group: SSH from {SSH_CIDR} only" in err
    # Only the test's AWS config: no record, no manifest.
    assert [p.name for p in tmp_path.iterdir()] == ["aws"]
    assert [i["ImageId"] for i in account.client("ec2").describe_images(Owners=["self"])[
        "Images"]] == [base]


# ----------------------------------------------------------------------------------------------
# The base AMI: what it is, not only that it exists


def test_a_windows_base_ami_is_refused(account, tmp_path, capsys):
    [base] = make_images(account, [("Windows_Server-2022-English-Full-Base-2025.01.01", day(0))])
    record = image_record(account, base)
    record.platform, record.platform_details = "windows", "Windows"
    code, _, err = run_cli(capsys, *build_args(base, "--profile", PROFILE, "--packer",
                                               stand_in_packer(tmp_path, "1.6.6",
                                                               tmp_path / "packer.log")))
    assert code == 2
    assert f"AWS_BATCH_BASE_AMI {base} (Windows_Server-2022-English-Full-Base-2025.01.01) is a " \
           "Windows AMI" in err
    assert "make find-base-ami" in err
    assert "validate" not in (tmp_path / "packer.log").read_text()  # refused before validate


def test_a_base_ami_of_another_family_is_a_warning_not_a_failure(account, tmp_path, capsys):
    [base] = make_images(account, [("my-team-ubuntu-gpu 2025-01-01", day(0))])
    code, _, err = run_cli(capsys, *build_args(base, "--profile", PROFILE, "--packer",
                                               stand_in_packer(tmp_path, "1.6.6",
                                                               tmp_path / "packer.log")))
    assert code == 0, err
    assert (f"warning: AWS_BATCH_BASE_AMI {base} is named 'my-team-ubuntu-gpu 2025-01-01', not "
            "like a Deep Learning Base OSS Nvidia Driver GPU AMI") in err
    assert "packer validate: passed" in err


def test_a_root_volume_smaller_than_the_base_amis_own_is_refused(account, tmp_path, capsys):
    [base] = make_images(account, [(f"{DLAMI} 20250101", day(0))])
    image_record(account, base).root_volume_size = 150
    packer = stand_in_packer(tmp_path, "1.6.6", tmp_path / "packer.log")
    code, _, err = run_cli(capsys, *build_args(base, "--profile", PROFILE, "--packer", packer,
                                               "--root-volume-size", "100"))
    assert code == 2
    assert ("AWS_ROOT_BLOCK_DEVICE_SIZE (--root-volume-size): got 100; allowed: at least 150 "
            f"GiB, the size of the base AMI {base}'s own root volume (/dev/xvda)") in err
    code, _, err = run_cli(capsys, *build_args(base, "--profile", PROFILE, "--packer", packer,
                                               "--root-volume-size", "150"))
    assert code == 0, err


def test_a_base_ami_booting_from_another_device_is_refused(account, tmp_path, capsys):
    # The build's root volume is /dev/xvda: on such an image it would be an extra disk.
    [base] = make_images(account, [(f"{DLAMI} 20250101", day(0))])
    image_record(account, base).root_device_name = "/dev/sda1"
    code, _, err = run_cli(capsys, *build_args(base, "--profile", PROFILE, "--packer",
                                               stand_in_packer(tmp_path, "1.6.6",
                                                               tmp_path / "packer.log")))
    assert code == 2
    assert "allowed: an AMI whose root device is /dev/xvda" in err and "/dev/sda1" in err


# ----------------------------------------------------------------------------------------------
# An endpoint nobody answers on: one message, never a traceback

UNREACHABLE = "http://127.0.0.1:1"
# botocore retries a refused connection four times with back-off (about 12 s); the message is
# the same after one attempt.
ONE_ATTEMPT = {"AWS_MAX_ATTEMPTS": "1", "AWS_RETRY_MODE": "standard"}


def test_find_base_ami_with_an_unreachable_ec2_endpoint(cli):
    # SSM (the emulator) has no such parameter, so the search by name reaches for EC2.
    result = cli("find-base-ami", "--ec2-endpoint", UNREACHABLE, **ONE_ATTEMPT)
    assert_one_clean_error(result, "cannot search the images named 'Deep Learning Base OSS",
                           f'Could not connect to the endpoint URL: "{UNREACHABLE}/"')


def test_find_base_ami_describing_the_ssm_image_with_an_unreachable_ec2_endpoint(cli, emulator):
    emulator.client("ssm").put_parameter(Name="/rv-batch-cfn-test/base-ami",
                                         Value="ami-0123456789abcdef0", Type="String")
    result = cli("find-base-ami", "--parameter", "/rv-batch-cfn-test/base-ami",
                 "--ec2-endpoint", UNREACHABLE, **ONE_ATTEMPT)
    assert_one_clean_error(result, "cannot describe image ami-0123456789abcdef0",
                           "Could not connect to the endpoint URL")


def test_find_base_ami_with_nothing_reachable(cli):
    result = cli("find-base-ami", AWS_ENDPOINT_URL=UNREACHABLE, **ONE_ATTEMPT)
    assert_one_clean_error(result, "cannot reach AWS", "Could not connect to the endpoint URL")


def test_validate_ami_with_an_unreachable_ec2_endpoint(cli, tmp_path):
    packer = stand_in_packer(tmp_path, "1.6.6", tmp_path / "packer.log")
    result = cli("validate-ami", "--base-ami", "ami-0123456789abcdef0", "--template",
                 str(TEMPLATE), "--packer", packer, "--ec2-endpoint", UNREACHABLE, **ONE_ATTEMPT)
    assert_one_clean_error(result, "cannot describe the base AMI ami-0123456789abcdef0 in "
                                   "us-east-1", "Could not connect to the endpoint URL")


@pytest.mark.parametrize("version, installs", [("1.6.6", False), ("1.9.5", False),
                                                ("1.10.0", True), ("1.11.2", True)])
def test_amazon_plugin_is_installed_first_from_packer_1_10(account, tmp_path, version, installs):
    # Current Packer cannot be installed here: a stand-in reports the version and logs calls.
    [base] = make_images(account, [(f"{DLAMI} 20250101", day(0))])
    log = tmp_path / "packer.log"
    packer = stand_in_packer(tmp_path, version, log)
    settings = AmiSettings(base_ami=base, region="us-east-1", profile=PROFILE,
                           ssh_source_cidr=SSH_CIDR)
    ami_module.create_ami(settings, template=TEMPLATE, manifest=tmp_path / "m.json",
                          packer=packer, validate_only=True)
    calls = [line.split()[:2] for line in log.read_text().splitlines()]
    expected = [["version"]] + ([["plugins", "install"]] if installs else []) + [["validate"]]
    assert [c[:len(e)] for c, e in zip(calls, expected)] == expected and len(calls) == len(expected)
    if installs:
        assert log.read_text().splitlines()[1] == f"plugins install {packer_run.AMAZON_PLUGIN}"


# ----------------------------------------------------------------------------------------------
# The build, end to end: real packer through packer-py, moto as EC2, then CloudFormation


def test_skip_provisioning_build_against_the_emulator_is_a_check_never_recorded(account,
                                                                                tmp_path, capfd):
    require_tool("packer")
    [base] = make_images(account, [(f"{DLAMI} 20250101", day(0))])
    record = tmp_path / "last-ami"
    usable = "ami-0aaaaaaaaaaaaaaaa"  # what an earlier full build recorded
    record.write_text(usable + "\n")
    # No --ec2-endpoint: it defaults to AWS_ENDPOINT_URL, which points at the emulator.
    code = cli.main(["create-ami", "--base-ami", base, "--profile", PROFILE,
                     "--region", account.region, "--skip-provisioning",
                     "--template", str(TEMPLATE), "--manifest", str(tmp_path / "manifest.json"),
                     "--record", str(record)])
    out, err = capfd.readouterr()
    assert code == 0, out + err

    # The unusable image's id is never a line of its own on standard output (`| tail -1`
    # must not find it); the message on standard error names it.
    image_id = re.search(r"built (ami-[0-9a-f]+) in ", err).group(1)
    assert image_id != base
    assert image_id not in out.splitlines()
    assert f"Build '{pt.BUILD_WITHOUT_PROVISIONING}' finished" in out  # Packer's own output
    # Not the AMI to use: the record keeps the last usable one, and the user is told.
    assert record.read_text() == usable + "\n"
    assert last_ami.read_last_ami(record) == usable
    assert "paste it as GpuAMI" not in err
    assert "WITHOUT provisioning" in err and "NOT usable as GpuAMI" in err
    assert "Batch jobs on it would stay RUNNABLE forever" in err
    assert f"{record} was not changed" in err

    ec2 = account.client("ec2")
    [image] = ec2.describe_images(ImageIds=[image_id])["Images"]
    tags = {t["Key"]: t["Value"] for t in image["Tags"]}
    assert image["Name"].startswith(pt.DEFAULT_CHECK_AMI_NAME_PREFIX + "-")
    assert not image["Name"].startswith(pt.DEFAULT_AMI_NAME_PREFIX)
    # (Packer sets the description afterwards with ModifyImageAttribute, which moto ignores;
    # tests/template/test_packer.py checks it in the template.)
    assert tags[pt.TAG_PROVISIONED] == "false"
    assert tags["rv-batch-cfn:base-ami"] == base
    assert tags["rv-batch-cfn:base-ami-name"] == f"{DLAMI} 20250101"
    [snapshot] = [m["Ebs"]["SnapshotId"] for m in image["BlockDeviceMappings"]]
    options = f"--region {account.region} --profile {PROFILE} --endpoint-url {account.endpoint}"
    assert f"aws ec2 deregister-image {options} --image-id {image_id}\n" in err
    assert f"aws ec2 delete-snapshot {options} --snapshot-id {snapshot}\n" in err

    # The pipeline still works end to end: a stack deploys with that image as GpuAMI.
    stack = deploy(account, "rv-gpu-ami", make_network(account), GpuAMI=image_id)
    assert stack["StackStatus"] == "CREATE_COMPLETE", stack.get("StackStatusReason")
    environments = account.client("batch").describe_compute_environments()["computeEnvironments"]
    overrides = [configuration for c in environments
                 for configuration in c["computeResources"].get("ec2Configuration", [])]
    assert {"imageType": "ECS_AL2023_NVIDIA", "imageIdOverride": image_id} in overrides


def building_packer(tmp_path: Path, ami: str) -> str:
    """A `packer` whose build writes the manifest Packer's post-processor would, naming `ami`
    for the build given with -only. Packer cannot run a provisioned build here (it needs SSH to
    a real instance), so this stands in for one."""
    path = tmp_path / "bin" / "packer"
    path.parent.mkdir(exist_ok=True)
    path.write_text('#!/usr/bin/env bash\n'
                    'if [ "$1" = version ]; then echo "Packer v1.6.6"; exit 0; fi\n'
                    'if [ "$1" != build ]; then exit 0; fi\n'
                    'for a in "$@"; do case $a in manifest=*) m=${a#manifest=};; '
                    '-only=*) b=${a#-only=};; esac; done\n'
                    'printf \'{"builds": [{"name": "%s", "artifact_id": "us-east-1:%s", '
                    f'"packer_run_uuid": "r"}}], "last_run_uuid": "r"}}\' "$b" {ami} > "$m"\n')
    path.chmod(0o755)
    return str(path)


@pytest.mark.parametrize("skip", [False, True])
def test_only_a_provisioned_build_is_recorded(account, tmp_path, skip, capsys):
    [base] = make_images(account, [(f"{DLAMI} 20250101", day(0))])
    built = "ami-0fedcba9876543210"
    record = tmp_path / "last-ami"
    code, out, err = run_cli(capsys, "create-ami", "--base-ami", base, "--profile", PROFILE,
                             "--region", "us-east-1", "--template", str(TEMPLATE),
                             "--manifest", str(tmp_path / "manifest.json"),
                             "--record", str(record), "--packer", building_packer(tmp_path, built),
                             "--ssh-source-cidr", SSH_CIDR,
                             *(["--skip-provisioning"] if skip else []))
    assert code == 0, err
    if skip:
        assert out == ""  # an id on standard output would be taken for a usable AMI
        assert not record.exists()
        assert "NOT usable as GpuAMI" in err
        # The stand-in's image does not exist, so its snapshot cannot be looked up: the
        # message says how to find it before deregistering.
        assert f"--image-ids {built} --query 'Images[].BlockDeviceMappings[].Ebs.SnapshotId'" in err
        assert "--snapshot-id SNAPSHOT_ID" in err
    else:
        assert out.splitlines()[-1] == built
        assert last_ami.read_last_ami(record) == built
        assert f"recorded in {record}" in err and "paste it as GpuAMI" in err
        assert f"--param GpuAMI={built}" in err


def test_a_failed_build_is_one_error_after_packers_own_reason(account, tmp_path, capfd):
    require_tool("packer")
    [base] = make_images(account, [(f"{DLAMI} 20250101", day(0))])
    settings = AmiSettings(base_ami=base, region="us-east-1", profile=PROFILE,
                           skip_provisioning=True,
                           ec2_endpoint=aws.endpoint_from_env("ec2") or "")
    checked = ami_module.preflight(settings)
    # The base AMI passes the checks, then is gone by the time Packer looks for it.
    account.client("ec2").deregister_image(ImageId=base)
    with pytest.raises(PackerError, match=r"packer build failed \(exit 1; its messages are above"):
        packer_run.build(checked.packer, TEMPLATE,
                         settings.packer_variables("us-east-1", tmp_path / "m.json"),
                         settings.build_name)
    out, _ = capfd.readouterr()
    assert "No AMI was found matching filters" in out  # streamed, not swallowed
    assert not (tmp_path / "m.json").exists()


# ----------------------------------------------------------------------------------------------
# Manifest, record and settings files


def write_manifest(path: Path, runs: list[tuple[str, str, str]]) -> None:
    """runs: (run uuid, build name, artifact id); the last run is the last one listed."""
    path.write_text(json.dumps({
        "builds": [{"name": name, "artifact_id": artifact, "packer_run_uuid": uuid}
                   for uuid, name, artifact in runs],
        "last_run_uuid": runs[-1][0]}))


def test_manifest_gives_the_ami_of_the_last_run_in_the_region(tmp_path):
    manifest = tmp_path / "manifest.json"
    write_manifest(manifest, [
        ("run-1", pt.BUILD, "us-east-1:ami-11111111111111111"),
        ("run-2", pt.BUILD, "eu-west-1:ami-22222222222222222,us-east-1:ami-33333333333333333"),
    ])
    assert packer_run.ami_from_manifest(manifest, pt.BUILD, "us-east-1") == "ami-33333333333333333"
    with pytest.raises(PackerError, match="no gpu-ami-skip-provisioning build in its last run"):
        packer_run.ami_from_manifest(manifest, pt.BUILD_WITHOUT_PROVISIONING, "us-east-1")
    with pytest.raises(PackerError, match="names no AMI in us-west-2"):
        packer_run.ami_from_manifest(manifest, pt.BUILD, "us-west-2")


def test_last_ami_record_round_trip(tmp_path):
    record = tmp_path / "packer" / "last-ami"
    assert last_ami.read_last_ami(record) is None
    last_ami.record_ami("ami-0123456789abcdef0", record)
    assert last_ami.read_last_ami(record) == "ami-0123456789abcdef0"
    record.write_text("not an ami\n")
    assert last_ami.read_last_ami(record) is None


SETTINGS_TEXT = """# comment about AWS_BATCH_BASE_AMI := ami-00000000
AWS_BATCH_BASE_AMI ?= ami-XXXXXXXX  # from settings.mk.template
AWS_REGION := eu-west-1
"""


def test_write_setting_replaces_only_the_value(tmp_path):
    settings = tmp_path / "settings.mk"
    settings.write_text(SETTINGS_TEXT)
    base_ami.write_setting(settings, "AWS_BATCH_BASE_AMI", "ami-0123456789abcdef0")
    assert settings.read_text() == SETTINGS_TEXT.replace(
        "?= ami-XXXXXXXX", "?= ami-0123456789abcdef0")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["settings.mk"]  # no temporary left


def test_write_setting_appends_a_missing_setting(tmp_path):
    settings = tmp_path / "settings.mk"
    settings.write_text("AWS_REGION := eu-west-1")
    base_ami.write_setting(settings, "AWS_BATCH_BASE_AMI", "ami-0123456789abcdef0")
    written = base_ami.write_setting(settings, "AWS_BATCH_BASE_AMI", "ami-0123456789abcdef1")
    # `?=`, so the environment and make's command line still win over the file.
    assert settings.read_text() == ("AWS_REGION := eu-west-1\n"
                                    "AWS_BATCH_BASE_AMI ?= ami-0123456789abcdef1\n")
    assert (written.created, written.previous) == (False, "ami-0123456789abcdef0")


def test_write_setting_starts_a_missing_file_from_the_template(tmp_path):
    settings = tmp_path / "settings.mk"
    written = base_ami.write_setting(settings, "AWS_BATCH_BASE_AMI", "ami-0123456789abcdef0",
                                     template=ROOT / "settings.mk.template")
    assert (written.created, written.created_from) == (True, ROOT / "settings.mk.template")
    text = settings.read_text()
    assert "AWS_BATCH_BASE_AMI ?= ami-0123456789abcdef0\n" in text
    assert "ami-XXXXXXXX" not in text
    assert text.replace("ami-0123456789abcdef0", "ami-XXXXXXXX") == \
        (ROOT / "settings.mk.template").read_text()


# ----------------------------------------------------------------------------------------------
# find-base-ami


def test_find_base_ami_picks_the_newest_by_date_not_by_order(account):
    ids = make_images(account, [
        (f"{DLAMI} 20250301", day(59)),
        (f"{DLAMI} 20250401", day(90)),  # the newest
        (f"{DLAMI} 20250101", day(0)),
        # Newer, but of other families: must not win.
        ("Deep Learning ARM64 Base OSS Nvidia Driver GPU AMI (Amazon Linux 2023) 20250501",
         day(120)),
        ("Deep Learning Base OSS Nvidia Driver GPU AMI (Amazon Linux 2) 20250501", day(120)),
    ])
    session = aws.make_session(PROFILE)
    # The public parameter does not exist in the emulator (nor can it be created there): the
    # search by name is what answers.
    found = base_ami.find_base_ami(session, owners=["self"])
    assert found.image_id == ids[1]
    assert found.name == f"{DLAMI} 20250401"
    assert found.creation_date.startswith("2025-04-01")
    assert "newest of 3 image(s)" in found.source and "ParameterNotFound" in found.source


def test_find_base_ami_prefers_the_ssm_parameter(account):
    older, newer = make_images(account, [(f"{DLAMI} 20250101", day(0)),
                                         (f"{DLAMI} 20250401", day(90))])
    # Names under /aws are reserved, so the test publishes its own parameter.
    account.client("ssm").put_parameter(Name="/rv-batch-cfn-test/base-ami", Value=older,
                                        Type="String")
    found = base_ami.find_base_ami(aws.make_session(PROFILE), owners=["self"],
                                     parameter="/rv-batch-cfn-test/base-ami")
    assert (found.image_id, found.source) == (older, "SSM parameter /rv-batch-cfn-test/base-ami")


def test_find_base_ami_without_any_image_says_where_it_looked(account):
    from rv_batch_cfn.errors import AwsError

    with pytest.raises(AwsError, match=r"no Deep Learning Base OSS .* in us-east-1 .*"
                                       r"ParameterNotFound.*owned by self"):
        base_ami.find_base_ami(aws.make_session(PROFILE), owners=["self"])


def test_find_base_ami_command_prints_the_amis_and_writes_settings(account, tmp_path, capsys):
    _, newest = make_images(account, [(f"{DLAMI} 20250101", day(0)),
                                      (f"{DLAMI} 20250401", day(90))])
    settings = tmp_path / "settings.mk"
    settings.write_text(SETTINGS_TEXT)
    code, out, err = run_cli(capsys, "find-base-ami", "--profile", PROFILE, "--owner", "self",
                             "--write", "--settings", str(settings))
    assert code == 0, err
    ssm = account.client("ssm")
    ecs_cpu = ssm.get_parameter(Name=base_ami.BASE_IMAGES["al2023"].ecs_cpu_parameter)
    ecs_gpu = ssm.get_parameter(Name=base_ami.BASE_IMAGES["al2023"].ecs_gpu_parameter)
    assert f"{DLAMI}: {newest}" in out
    assert f"ECS-optimized AMI (CPU): {ecs_cpu['Parameter']['Value']}" in out
    assert f"ECS-optimized GPU AMI: {ecs_gpu['Parameter']['Value']}" in out
    assert out.splitlines()[-1] == f"AWS_BATCH_BASE_AMI ?= {newest}"
    assert settings.read_text() == SETTINGS_TEXT.replace("?= ami-XXXXXXXX", f"?= {newest}")
    assert f"changed {settings}: AWS_BATCH_BASE_AMI ami-XXXXXXXX -> {newest}" in err


def test_find_base_ami_says_it_created_settings_mk(account, tmp_path, capsys, monkeypatch):
    [newest] = make_images(account, [(f"{DLAMI} 20250101", day(0))])
    settings = tmp_path / "settings.mk"
    # The environment wins over settings.mk (make's order): the command says so.
    monkeypatch.setenv("AWS_BATCH_BASE_AMI", "ami-0000000000000000f")
    code, _, err = run_cli(capsys, "find-base-ami", "--profile", PROFILE, "--owner", "self",
                           "--write", "--settings", str(settings))
    assert code == 0, err
    assert f"created {settings} from settings.mk.template, with AWS_BATCH_BASE_AMI ?= " \
           f"{newest}" in err
    assert ("note: AWS_BATCH_BASE_AMI=ami-0000000000000000f in the environment wins over "
            f"{settings}") in err


def test_find_base_ami_command_without_credentials_is_one_message(aws_home, capsys):
    (aws_home / "config").write_text("[profile empty]\nregion = us-east-1\n")
    code, _, err = run_cli(capsys, "find-base-ami", "--profile", "empty")
    assert code == 2
    assert "no AWS credentials found" in err


# ----------------------------------------------------------------------------------------------
# Small pieces


def test_ec2_endpoint_comes_from_the_specific_variable_first(monkeypatch):
    monkeypatch.delenv("AWS_ENDPOINT_URL_EC2", raising=False)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    assert aws.endpoint_from_env("ec2") is None
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://general")
    assert aws.endpoint_from_env("ec2") == "http://general"
    monkeypatch.setenv("AWS_ENDPOINT_URL_EC2", "http://ec2-only")
    assert aws.endpoint_from_env("ec2") == "http://ec2-only"


def test_prepull_images_accept_spaces_and_commas():
    assert ami_settings.parse_image_list(" a/b:1, c\n d,, ") == ("a/b:1", "c", "d")
    assert ami_settings.parse_image_list("") == ()


def test_keys_in_the_environment_stand_in_for_a_profile():
    settings = AmiSettings(base_ami="ami-0123456789abcdef0")
    assert [p.field for p in settings.problems({})] == ["AWS_PROFILE (--profile)"]
    assert settings.problems({"AWS_ACCESS_KEY_ID": "a", "AWS_SECRET_ACCESS_KEY": "b"}) == []


def test_public_ip_setting_is_checked_and_passed_to_packer(tmp_path):
    settings = AmiSettings(base_ami="ami-0123456789abcdef0", profile=PROFILE,
                           associate_public_ip="yes")
    assert [p.field for p in settings.problems({})] == [
        "AMI_BUILD_PUBLIC_IP (--associate-public-ip-address)"]
    good = AmiSettings(base_ami="ami-0123456789abcdef0", profile=PROFILE,
                       associate_public_ip="true")
    assert good.problems({}) == []
    assert good.packer_variables("us-east-1", tmp_path / "m.json")[pt.V_PUBLIC_IP] == "true"


def test_build_options_take_the_profile_from_the_environment(monkeypatch):
    # --profile and --region are session.add_aws_arguments'; Packer still gets the name.
    monkeypatch.setenv("AWS_PROFILE", PROFILE)
    args = cli.build_parser().parse_args(["validate-ami", "--base-ami", "ami-0123456789abcdef0"])
    assert cli_ami._settings_from_args(args).profile == PROFILE
    args = cli.build_parser().parse_args(["validate-ami", "--profile", "other"])
    assert cli_ami._settings_from_args(args).profile == "other"


def test_ami_ids_are_recognised_with_the_configs_pattern():
    assert ami_settings.is_ami_id("ami-0123456789abcdef0") and ami_settings.is_ami_id("ami-01234567")
    assert not ami_settings.is_ami_id("") and not ami_settings.is_ami_id("ami-XXXXXXXX")


# ----------------------------------------------------------------------------------------------
# Amazon Linux 2 base AMIs: a warning from find-base-ami and create-ami, never a failure

DLAMI_AL2 = "Deep Learning Base OSS Nvidia Driver GPU AMI (Amazon Linux 2)"


@pytest.mark.parametrize("name, description, al2", [
    (f"{DLAMI_AL2} Version 69.1", "", True),
    ("amzn2-ami-ecs-gpu-hvm-2.0.20250101-x86_64-ebs", "", True),
    ("my-team-gpu-ami", "Amazon Linux 2 AMI 2.0.20250101 x86_64 HVM gp2", True),
    (f"{DLAMI} Version 20250101", "", False),
    ("al2023-ami-ecs-gpu-hvm-2023.0.20250101-kernel-6.1-x86_64", "", False),
    ("my-team-gpu-ami", "Amazon Linux 2023 AMI", False),
])
def test_amazon_linux_2_is_recognised_by_name_or_description(name, description, al2):
    warning = base_ami.amazon_linux_2_warning("ami-0123456789abcdef0", name, description)
    assert (warning is not None) == al2
    if al2:
        assert "is Amazon Linux 2: AWS Batch is retiring its Amazon Linux 2 AMIs" in warning
        assert "make find-base-ami" in warning


def test_find_base_ami_warns_about_an_amazon_linux_2_base(account, capsys):
    [al2] = make_images(account, [(f"{DLAMI_AL2} 20250501", day(120))])
    found = base_ami.find_base_ami(aws.make_session(PROFILE), base_ami.BASE_IMAGES["al2"],
                                   owners=["self"])
    assert found.image_id == al2 and len(found.warnings) == 1
    code, out, err = run_cli(capsys, "find-base-ami", "--profile", PROFILE, "--owner", "self",
                             "--os", "al2")
    assert code == 0, err
    assert out.splitlines()[-1] == f"AWS_BATCH_BASE_AMI ?= {al2}"
    assert f"warning: {al2} ({DLAMI_AL2} 20250501) is Amazon Linux 2" in err


def test_find_base_ami_says_nothing_of_an_al2023_base(account, capsys):
    make_images(account, [(f"{DLAMI} 20250401", day(90))])
    found = base_ami.find_base_ami(aws.make_session(PROFILE), owners=["self"])
    assert found.warnings == ()
    code, _, err = run_cli(capsys, "find-base-ami", "--profile", PROFILE, "--owner", "self")
    assert code == 0 and "warning" not in err


def test_create_ami_checks_warn_about_an_amazon_linux_2_base(account, tmp_path, capsys):
    [base] = make_images(account, [(f"{DLAMI_AL2} 20250501", day(0))])
    code, _, err = run_cli(capsys, *build_args(base, "--profile", PROFILE, "--packer",
                                               stand_in_packer(tmp_path, "1.6.6",
                                                               tmp_path / "packer.log")))
    assert code == 0, err
    assert f"warning: AWS_BATCH_BASE_AMI {base} ({DLAMI_AL2} 20250501) is Amazon Linux 2" in err
    assert err.count("warning:") == 1  # its name is a Deep Learning Base OSS AMI's
    assert "packer validate: passed" in err


def test_output_json_of_the_ami_commands(account, tmp_path, capsys):
    # Packer's own output goes to standard error then, so standard output is one JSON document.
    [base] = make_images(account, [(f"{DLAMI} 20250101", day(0))])
    built = "ami-0fedcba9876543210"
    record = tmp_path / "last-ami"
    code, out, err = run_cli(capsys, "--output", "json", "create-ami", "--base-ami", base,
                             "--profile", PROFILE, "--region", "us-east-1", "--template",
                             str(TEMPLATE), "--manifest", str(tmp_path / "manifest.json"),
                             "--record", str(record), "--packer", building_packer(tmp_path, built),
                             "--ssh-source-cidr", SSH_CIDR)
    assert code == 0, err
    data = json.loads(out)
    assert (data["image_id"], data["provisioned"], data["recorded_in"]) == \
        (built, True, str(record))
    assert any(c.startswith("aws ec2 deregister-image ") and c.endswith(f" --image-id {built}")
               for c in data["removal_commands"])

    code, out, err = run_cli(capsys, "find-base-ami", "--profile", PROFILE, "--owner", "self",
                             "--json")
    assert code == 0, err
    data = json.loads(out)
    assert data["setting"] == {"AWS_BATCH_BASE_AMI": base}
    assert data["images"][0]["image_id"] == base and data["written"] is None


def test_validate_ami_lists_only_the_options_that_apply(capsys):
    code, out, _ = run_cli(capsys, "validate-ami", "--help")
    assert code == 0
    for option in ("--skip-provisioning", "--record", "--manifest"):
        assert option not in out  # only a build makes an image, a manifest, a record
    assert "--base-ami" in out and "--packer" in out
    code, out, _ = run_cli(capsys, "create-ami", "--help")
    assert "--skip-provisioning" in out and "--record" in out


def test_write_setting_replaces_a_continued_value_whole(tmp_path):
    # make joins a line ending in a backslash to the next: the old value's second line goes too.
    settings = tmp_path / "settings.mk"
    settings.write_text("AWS_BATCH_BASE_AMI ?= ami-old \\\n  ami-older\nAWS_REGION := eu-west-1\n")
    written = base_ami.write_setting(settings, "AWS_BATCH_BASE_AMI", "ami-0123456789abcdef0")
    assert settings.read_text() == ("AWS_BATCH_BASE_AMI ?= ami-0123456789abcdef0\n"
                                    "AWS_REGION := eu-west-1\n")
    assert written.previous == "ami-old ami-older"


def test_write_setting_leaves_other_values_alone(tmp_path):
    # A line inside another value (continued, or in a define block) is no assignment; a line
    # added after a last line ending in a backslash would become part of it.
    text = ("PREPULL_IMAGES = a \\\nAWS_BATCH_BASE_AMI = not-a-setting\n"
            "define NOTES\nAWS_BATCH_BASE_AMI = neither\nendef\nAWS_REGION = eu-west-1 \\")
    settings = tmp_path / "settings.mk"
    settings.write_text(text)
    base_ami.write_setting(settings, "AWS_BATCH_BASE_AMI", "ami-0123456789abcdef0")
    assert settings.read_text() == text.replace(
        "AWS_REGION", "AWS_BATCH_BASE_AMI ?= ami-0123456789abcdef0\nAWS_REGION")


def test_a_setting_that_appends_is_refused_before_anything(tmp_path):
    settings = tmp_path / "settings.mk"
    settings.write_text("AWS_BATCH_BASE_AMI = ami-a\nAWS_BATCH_BASE_AMI += ami-b\n")
    with pytest.raises(InputError, match=r"line 2: 'AWS_BATCH_BASE_AMI \+= ami-b' appends to "
                                         r"AWS_BATCH_BASE_AMI, so no one value can be written"):
        base_ami.check_settings_file(settings)
    assert settings.read_text() == "AWS_BATCH_BASE_AMI = ami-a\nAWS_BATCH_BASE_AMI += ami-b\n"
