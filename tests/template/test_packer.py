"""The Packer template: committed file fresh, accepted by the real `packer validate` (Debian's
1.6.6 here and in CI), and shaped so the quick build cannot hang."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from rv_batch_cfn.render import render_json
from rv_batch_cfn.template import packer as pt
from tests import cli_runner
from tests.conftest import require_tool

ROOT = Path(__file__).resolve().parents[2]
COMMITTED = ROOT / "packer" / "template-gpu.json"
BASE_AMI = "source_ami=ami-0123456789abcdef0"
SSH_CIDR = f"{pt.V_SSH_SOURCE_CIDR}=203.0.113.7/32"


def packer_env(tmp_path: Path) -> dict[str, str]:
    """`packer validate` needs credentials in the environment (any will do) but no network."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update({"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                "AWS_CONFIG_FILE": os.devnull, "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
                "AWS_EC2_METADATA_DISABLED": "true", "PACKER_CACHE_DIR": str(tmp_path),
                "CHECKPOINT_DISABLE": "1"})
    return env


def validate(tmp_path: Path, template: Path, *variables: str) -> subprocess.CompletedProcess:
    packer = require_tool("packer")
    args = [packer, "validate"]
    for variable in variables:
        args += ["-var", variable]
    return subprocess.run([*args, str(template)], capture_output=True, text=True, timeout=120,
                          env=packer_env(tmp_path), cwd=tmp_path)


def test_committed_template_is_fresh():
    assert COMMITTED.read_text(encoding="utf-8") == render_json(pt.packer_template()), (
        "packer/template-gpu.json is stale: run `make template`")


def test_packer_template_command_writes_or_prints(tmp_path):
    run = ["packer-template", "-o"]
    printed = cli_runner.run([*run, "-"], cwd=tmp_path)
    assert printed.returncode == 0 and printed.stdout == COMMITTED.read_text(encoding="utf-8")
    assert not (tmp_path / "-").exists()
    written = cli_runner.run([*run, "out.json"], cwd=tmp_path)
    assert written.returncode == 0 and "wrote out.json" in written.stderr
    assert (tmp_path / "out.json").read_text() == printed.stdout


def test_packer_validate_accepts_the_template(tmp_path):
    # Run from another folder: the scripts are found through {{template_dir}}, not the cwd.
    done = validate(tmp_path, COMMITTED, BASE_AMI, SSH_CIDR)
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.mark.parametrize("given, missing", [((SSH_CIDR,), "source_ami"),
                                            ((BASE_AMI,), pt.V_SSH_SOURCE_CIDR)])
def test_packer_validate_requires_the_base_ami_and_the_ssh_source(tmp_path, given, missing):
    # No default for the SSH source: nothing opens port 22 to the world by omission.
    done = validate(tmp_path, COMMITTED, *given)
    assert done.returncode != 0
    assert f"required variable not set: {missing}" in done.stdout + done.stderr


@pytest.mark.parametrize("cidr, valid", [("203.0.113.7/32", True), ("10.42.0.0/16", True),
                                         ("", False), ("203.0.113.7", False)])
def test_the_ssh_source_reaches_the_temporary_security_group(tmp_path, cidr, valid):
    for build in pt.packer_template()["builders"]:
        assert build["temporary_security_group_source_cidrs"] == [pt.user(pt.V_SSH_SOURCE_CIDR)]
    done = validate(tmp_path, COMMITTED, BASE_AMI, f"{pt.V_SSH_SOURCE_CIDR}={cidr}")
    assert (done.returncode == 0) is valid, done.stdout + done.stderr
    if not valid:  # Packer itself parses it: the variable really is the option's value
        assert "temporary_security_group_source_cidrs" in done.stdout + done.stderr


def test_the_temporary_key_pair_is_ed25519_and_packer_1_6_6_accepts_the_option(tmp_path):
    builds = {b["name"]: b for b in pt.packer_template()["builders"]}
    assert builds[pt.BUILD]["temporary_key_pair_type"] == "ed25519"
    assert "temporary_key_pair_type" not in builds[pt.BUILD_WITHOUT_PROVISIONING]
    # Measured: 1.6.6 knows the option (and ignores it: its key pair stays RSA); the options it
    # does not know are refused, which is why the template does not use the newer
    # temporary_security_group_source_public_ip.
    data = json.loads(COMMITTED.read_text(encoding="utf-8"))
    data["builders"][0]["temporary_security_group_source_public_ip"] = True
    newer = tmp_path / "newer.json"
    newer.write_text(json.dumps(data), encoding="utf-8")
    (tmp_path / "scripts").symlink_to(COMMITTED.parent / "scripts")
    done = validate(tmp_path, newer, BASE_AMI, SSH_CIDR)
    assert done.returncode != 0
    assert "unknown configuration key" in done.stdout + done.stderr
    assert "temporary_security_group_source_public_ip" in done.stdout + done.stderr


def test_packer_validate_notices_a_missing_script(tmp_path):
    # What makes the test above meaningful: validate checks the scripts the template names.
    copy = tmp_path / "template-gpu.json"
    copy.write_text(COMMITTED.read_text(encoding="utf-8"), encoding="utf-8")
    done = validate(tmp_path, copy, BASE_AMI, SSH_CIDR)
    assert done.returncode != 0
    assert "10-ecs-agent.sh" in done.stdout + done.stderr


def test_every_script_exists_and_every_script_is_used():
    on_disk = sorted(p.relative_to(COMMITTED.parent).as_posix()
                     for p in (COMMITTED.parent / "scripts").glob("*.sh"))
    assert sorted(pt.SCRIPTS) == on_disk
    assert all(os.access(COMMITTED.parent / s, os.X_OK) for s in pt.SCRIPTS)
    assert pt.SCRIPTS[-1].endswith("cleanup.sh"), "the cleanup must run last"


def test_only_the_provisioned_build_runs_scripts_and_the_quick_one_never_connects():
    template = pt.packer_template()
    builds = {b["name"]: b for b in template["builders"]}
    assert set(builds) == {pt.BUILD, pt.BUILD_WITHOUT_PROVISIONING}
    # A provisioner in a build with communicator "none" waits forever (measured with 1.6.6).
    assert builds[pt.BUILD_WITHOUT_PROVISIONING]["communicator"] == "none"
    assert builds[pt.BUILD]["communicator"] == "ssh"
    assert [p["only"] for p in template["provisioners"]] == [[pt.BUILD]]


@pytest.mark.parametrize("name", [pt.BUILD, pt.BUILD_WITHOUT_PROVISIONING])
def test_root_volume_is_encrypted_gp3_of_the_configured_size(name):
    build = next(b for b in pt.packer_template()["builders"] if b["name"] == name)
    [volume] = build["launch_block_device_mappings"]
    assert volume["device_name"] == "/dev/xvda"
    assert volume["volume_type"] == "gp3" and volume["encrypted"] is True
    assert volume["volume_size"] == pt.user(pt.V_ROOT_VOLUME_SIZE)
    # Packer 1.6.6 refuses a gp3 volume without both.
    assert volume["iops"] >= 3000 and 125 <= volume["throughput"] <= 1000


def test_rendering_is_deterministic_across_hash_seeds():
    code = ("from rv_batch_cfn.template.packer import packer_template; "
            "from rv_batch_cfn.render import render_json; "
            "import sys; sys.stdout.write(render_json(packer_template()))")
    outputs = {subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                              env={**os.environ, "PYTHONHASHSEED": seed}, check=True).stdout
               for seed in ("1", "2")}
    assert len(outputs) == 1
    json.loads(outputs.pop())


def test_the_unprovisioned_check_image_is_named_and_tagged_apart():
    # Its image has no ECS agent and no GPU setup: nobody must mistake it for a usable GpuAMI.
    builds = {b["name"]: b for b in pt.packer_template()["builders"]}
    full, check = builds[pt.BUILD], builds[pt.BUILD_WITHOUT_PROVISIONING]
    variables = pt.variables()
    assert full["ami_name"].startswith(pt.user(pt.V_AMI_NAME_PREFIX) + "-")
    assert check["ami_name"].startswith(pt.user(pt.V_CHECK_AMI_NAME_PREFIX) + "-")
    assert not variables[pt.V_CHECK_AMI_NAME_PREFIX].startswith(variables[pt.V_AMI_NAME_PREFIX])
    for key in ("tags", "snapshot_tags"):
        assert full[key][pt.TAG_PROVISIONED] == "true"
        assert check[key][pt.TAG_PROVISIONED] == "false"
        assert check[key]["Name"] == check["ami_name"]
    assert check["ami_description"].startswith("NOT USABLE AS GpuAMI")
    assert len(check["ami_description"].replace(pt.user(pt.V_SOURCE_AMI), "ami-" + "0" * 17)) \
        <= 255  # EC2's limit


@pytest.mark.parametrize("value, valid", [("", True), ("true", True), ("false", True),
                                          ("maybe", False)])
def test_public_ip_variable_reaches_a_boolean_option(tmp_path, value, valid):
    # Packer 1.6.6 reads "" as false (the subnet decides); current Packer reads it as unset.
    done = validate(tmp_path, COMMITTED, BASE_AMI, SSH_CIDR, f"{pt.V_PUBLIC_IP}={value}")
    assert (done.returncode == 0) is valid, done.stdout + done.stderr
    if not valid:
        assert "associate_public_ip_address" in done.stdout + done.stderr
