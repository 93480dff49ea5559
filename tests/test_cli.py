"""The CLI as a user runs it: exit codes, one clear message, no traceback.

Most tests run `main(argv)` in this process (tests/cli_runner.py); the entry points themselves
(`python -m rv_batch_cfn` and the `rv-batch-cfn` script) are run as subprocesses below.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

import pytest

from rv_batch_cfn.files import write_atomic
from rv_batch_cfn.errors import OutputError
from tests import cli_runner
from tests.emulator import ROOT, TEMPLATE


def cli(*args, cwd=ROOT):
    return cli_runner.run(args, cwd=cwd)


def subprocess_cli(*args, cwd=ROOT):
    return subprocess.run([sys.executable, "-m", "rv_batch_cfn", *args], capture_output=True,
                          text=True, cwd=cwd, stdin=subprocess.DEVNULL)


def assert_clean_error(result, *fragments):
    assert result.returncode == 2, result
    assert "Traceback" not in result.stderr
    assert result.stdout == ""
    for fragment in fragments:
        assert fragment in result.stderr, result.stderr


def test_template_writes_the_linted_template(tmp_path):
    out = tmp_path / "nested" / "template.yml"
    result = cli("template", "-o", str(out))
    assert result.returncode == 0, result.stderr
    assert out.read_text() == TEMPLATE.read_text()
    assert "cfn-lint: clean" in result.stderr
    assert [p.name for p in out.parent.iterdir()] == ["template.yml"]  # no temp files left


def test_template_from_a_config_file(tmp_path):
    config = tmp_path / "team.yml"
    config.write_text("prefix: team\ngpu:\n  capacity: ON_DEMAND\n  repository_name: rv-gpu\n")
    result = cli("template", "--config", str(config), "-o", "-", "--no-lint")
    assert result.returncode == 0, result.stderr
    assert "Default: team\n" in result.stdout
    assert "Default: ON_DEMAND\n" in result.stdout
    assert "Default: rv-gpu\n" in result.stdout


def test_json_config_file_works_too(tmp_path):
    config = tmp_path / "team.json"
    config.write_text('{"max_vcpus": 256, "cpu": {"instance_types": ["c7i.2xlarge"]}}')
    result = cli("template", "--config", str(config), "-o", "-", "--no-lint")
    assert result.returncode == 0, result.stderr
    assert "Default: c7i.2xlarge\n" in result.stdout


@pytest.mark.parametrize("content,fragments", [
    ("prefix: [unclosed\n", ["bad.yml: not valid YAML or JSON: line 2, column 1"]),
    ("prefx: team\n", ["prefx: got 'team'; unknown key; did you mean 'prefix'?"]),
    ("prefix: My-Team\n",
     ["prefix: got 'My-Team'; allowed: lower-case letters and digits, at most 12 characters"]),
    ("gpu:\n  job_memory_mib: 64000\n",
     ["gpu.job_memory_mib: got 64000; allowed: at most 30802 MiB, so that every instance type "
      "can run the job (g5.2xlarge offers 30802 MiB"]),
    ("- just\n- a list\n", ["(top level): got ['just', 'a list']"]),
], ids=["bad-yaml", "unknown-key", "invalid-prefix", "job-fits-no-instance", "not-a-mapping"])
def test_bad_config_file(tmp_path, content, fragments):
    config = tmp_path / "bad.yml"
    config.write_text(content)
    out = tmp_path / "template.yml"
    out.write_text("previous template\n")
    result = cli("template", "--config", str(config), "-o", str(out))
    assert_clean_error(result, "rv-batch-cfn template: error:", *fragments)
    assert out.read_text() == "previous template\n"  # nothing lost or half-written


def test_missing_config_file(tmp_path):
    result = subprocess_cli("template", "--config", str(tmp_path / "nope.yml"))
    assert_clean_error(result, f"cannot read the --config file {tmp_path / 'nope.yml'}: no such "
                               "file")


def test_unwritable_output_path(tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    # Its parent is a regular file: unwritable even for root, unlike a chmod.
    result = cli("template", "-o", str(blocker / "template.yml"))
    assert_clean_error(result, f"cannot write {blocker / 'template.yml'}")


def test_write_atomic_keeps_the_old_file_when_the_rename_fails(tmp_path):
    target = tmp_path / "template.yml"
    target.mkdir()  # a directory where the file should go: os.replace fails
    with pytest.raises(OutputError, match="cannot write"):
        write_atomic(target, "new")
    assert [p.name for p in tmp_path.iterdir()] == ["template.yml"]  # temp file removed


# A compute environment: a small template (cfn-lint is quick on it) with a value cfn-lint checks.
# The committed templates are linted by tests/template/test_security_scan.py.
SMALL = """AWSTemplateFormatVersion: "2010-09-09"
Resources:
  Compute:
    Type: AWS::Batch::ComputeEnvironment
    Properties:
      Type: MANAGED
      State: ENABLED
"""


def test_lint_clean_and_failing(tmp_path):
    clean = tmp_path / "clean.yml"
    clean.write_text(SMALL)
    assert cli("lint", str(clean)).returncode == 0
    broken = tmp_path / "broken.yml"
    text = SMALL.replace("Type: MANAGED", "Type: MANAGD", 1)
    broken.write_text(text)
    line = [i for i, s in enumerate(text.splitlines(), 1) if s.strip() == "Type: MANAGD"][0]
    result = cli("lint", str(broken))
    assert result.returncode == 1
    assert f"{broken}:{line}:7: E3030 (error) 'managd' is not one of" in result.stdout
    assert "1 finding(s), 1 error(s) or warning(s)" in result.stderr


def test_lint_missing_file(tmp_path):
    assert_clean_error(cli("lint", str(tmp_path / "none.yml")), "cannot read")


def test_help_explains_the_commands():
    result = cli("--help")
    assert result.returncode == 0
    assert "template" in result.stdout and "lint" in result.stdout
    result = cli("template", "--help")
    assert "--config FILE" in result.stdout and "atomically" in result.stdout


def test_no_command_is_a_usage_error():
    result = cli()
    assert result.returncode == 2 and "usage:" in result.stderr


def test_template_points_to_the_ami_create_ami_recorded(tmp_path):
    # Run where packer/last-ami is (make runs from the project folder); the template's GpuAMI
    # default stays whatever the config says: the record is only pointed to.
    ami = "ami-0123456789abcdef0"
    (tmp_path / "packer").mkdir()
    (tmp_path / "packer" / "last-ami").write_text(ami + "\n")
    out = tmp_path / "template.yml"
    result = cli("template", "-o", str(out), "--no-lint", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert (f"hint: packer/last-ami records {ami} (built by create-ami); to use it, paste it as "
            f"GpuAMI in the console, pass --param GpuAMI={ami} to `rv-batch-cfn deploy`, or set "
            "gpu.ami in the --config file") in result.stderr
    assert out.read_text() == TEMPLATE.read_text()

    config = tmp_path / "team.yml"
    config.write_text(f"gpu:\n  ami: {ami}\n")
    result = cli("template", "-o", str(out), "--no-lint", "--config", str(config), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "hint:" not in result.stderr  # the config already uses it


def test_template_without_a_recorded_ami_gives_no_hint(tmp_path):
    result = cli("template", "-o", str(tmp_path / "t.yml"), "--no-lint", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "hint:" not in result.stderr


def test_make_deploy_passes_gpu_ami_as_a_parameter(tmp_path):
    make = shutil.which("make")
    if make is None:
        pytest.skip("make is not installed")
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    # -n prints the commands without running them; -s keeps make's own chatter out.
    done = subprocess.run([make, "-s", "-n", "deploy", "STACK=rv", "PARAMS=VPC=vpc-0abc",
                           "GPU_AMI=ami-0123456789abcdef0"], capture_output=True, text=True,
                          cwd=ROOT, env=env)
    assert done.returncode == 0, done.stderr
    [command] = [line for line in done.stdout.splitlines() if " deploy --stack " in line]
    assert "--param 'VPC=vpc-0abc' --param 'GpuAMI=ami-0123456789abcdef0'" in command
    done = subprocess.run([make, "-s", "-n", "deploy", "STACK=rv"], capture_output=True,
                          text=True, cwd=ROOT, env=env)
    assert "GpuAMI" not in done.stdout
