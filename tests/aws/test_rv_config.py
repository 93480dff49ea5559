"""`rv-batch-cfn rv-config` against stacks deployed in the emulator, run as a user runs it, and
the INI merge it writes with."""

from __future__ import annotations

import configparser
import shlex
import shutil
import subprocess

import pytest

from rv_batch_cfn.aws.rv_config.profile import config_path
from rv_batch_cfn.aws.rv_config.ini import merge_section
from rv_batch_cfn.template import job_queues
from rv_batch_cfn.template import outputs as out
from rv_batch_cfn.template import parameters as p
from tests.emulator import (
    ROOT, TEMPLATE, aws_env, console_parameters, deploy, make_network, parameter_values,
    physical_ids, run_cli,
)


def parse(text: str) -> configparser.ConfigParser:
    """Read an INI text the way Raster Vision's config reader does (configparser)."""
    parser = configparser.ConfigParser()
    parser.read_string(text)
    return parser


def api_names(emulator, stack_name: str) -> dict[str, str]:
    """The queue and job definition names the Batch API reports for the stack's resources."""
    ids = physical_ids(emulator, stack_name)
    batch = emulator.client("batch")
    names = {}
    for kind in ("gpu", "cpu"):
        queue, = batch.describe_job_queues(jobQueues=[ids[job_queues.queue_id(kind)]])["jobQueues"]
        definition, = batch.describe_job_definitions(
            jobDefinitions=[ids[job_queues.job_definition_id(kind)]])["jobDefinitions"]
        names[f"{kind}_queue"] = queue["jobQueueName"]
        names[f"{kind}_definition"] = definition["jobDefinitionName"]
    return names


@pytest.fixture
def stack(emulator):
    """A main stack with a prefix and non-default attempts, deployed the console's way."""
    net = make_network(emulator)
    deploy(emulator, "rv", net, Prefix="team", JobAttempts=5)
    return "rv"


def test_batch_section_names_the_real_queues_and_definitions(emulator, stack):
    result = run_cli(emulator, "rv-config", "--stack", stack)
    assert result.returncode == 0, result.stderr
    section = parse(result.stdout)[out.BATCH_SECTION]
    names = api_names(emulator, stack)
    assert dict(section) == {
        "gpu_job_queue": names["gpu_queue"], "gpu_job_def": names["gpu_definition"],
        "cpu_job_queue": names["cpu_queue"], "cpu_job_def": names["cpu_definition"],
        "attempts": "5"}
    assert names["gpu_queue"].startswith("team")
    # One line on standard error says which runner makes `attempts` mean anything, one whether
    # notifications are on.
    assert result.stderr.strip().splitlines() == [
        "hint: run pipelines with `rastervision run batch_retry ...` (the runner installed with "
        "rv-batch-cfn): it retries spot reclaims up to `attempts` times; Raster Vision's own "
        "`batch` runner submits every job with 1 attempt",
        "notifications: off (set the stack's NotificationEmail to hear of failed jobs and "
        "blocked queues)"]


def test_aws_batch_format_for_raster_vision_0_9(emulator, stack):
    result = run_cli(emulator, "rv-config", "--stack", stack, "--format", "aws_batch")
    assert result.returncode == 0, result.stderr
    parser = parse(result.stdout)
    assert parser.sections() == [out.AWS_BATCH_SECTION]
    names = api_names(emulator, stack)
    assert dict(parser[out.AWS_BATCH_SECTION]) == {
        "job_queue": names["gpu_queue"], "job_definition": names["gpu_definition"],
        "cpu_job_queue": names["cpu_queue"], "cpu_job_definition": names["cpu_definition"],
        "attempts": "5"}
    # Raster Vision 0.9/0.10 has no plugin runners: no hint about one.
    assert "batch_retry" not in result.stderr


def test_env_format(emulator, stack):
    result = run_cli(emulator, "rv-config", "--stack", stack, "--env")
    assert result.returncode == 0, result.stderr
    exported = {}
    for line in result.stdout.splitlines():
        word, assignment = shlex.split(line)
        assert word == "export"
        key, value = assignment.split("=", 1)
        exported[key] = value
    names = api_names(emulator, stack)
    assert exported == {
        "BATCH_GPU_JOB_QUEUE": names["gpu_queue"], "BATCH_GPU_JOB_DEF": names["gpu_definition"],
        "BATCH_CPU_JOB_QUEUE": names["cpu_queue"], "BATCH_CPU_JOB_DEF": names["cpu_definition"],
        "BATCH_ATTEMPTS": "5"}


EXISTING = """\
# my Raster Vision settings
[AWS_S3]
requester_pays = True

[BATCH]
gpu_job_queue = OldQueue
; the old one
Attempts = 1
debug = true

[PLUGINS]
modules = []
"""


def test_write_merges_keeps_the_rest_and_a_backup(emulator, stack, tmp_path):
    env = {"RV_CONFIG_DIR": str(tmp_path / "rv"), "RV_PROFILE": "work"}
    target = tmp_path / "rv" / "work"
    target.parent.mkdir()
    target.write_text(EXISTING)

    result = run_cli(emulator, "rv-config", "--stack", stack, "--write", env=env)
    assert result.returncode == 0, result.stderr
    backups = list(target.parent.glob("work.*.bak"))
    assert len(backups) == 1 and backups[0].read_text() == EXISTING
    assert f"wrote the section to {target} (previous file kept as {backups[0]})" in result.stderr
    written = target.read_text()
    parser = parse(written)
    assert parser.sections() == ["AWS_S3", "BATCH", "PLUGINS"]
    assert parser["AWS_S3"]["requester_pays"] == "True"
    assert parser["PLUGINS"]["modules"] == "[]"
    names = api_names(emulator, stack)
    assert dict(parser["BATCH"]) == {
        "gpu_job_queue": names["gpu_queue"], "attempts": "5", "debug": "true",
        "gpu_job_def": names["gpu_definition"], "cpu_job_queue": names["cpu_queue"],
        "cpu_job_def": names["cpu_definition"]}
    assert "# my Raster Vision settings" in written and "; the old one" in written
    # Which keys changed, old -> new; `debug` (not Raster Vision's Batch key) is not named.
    assert f"  gpu_job_queue: OldQueue -> {names['gpu_queue']}\n" in result.stderr
    assert "  attempts: 1 -> 5\n" in result.stderr
    assert f"  cpu_job_def: (missing) -> {names['cpu_definition']}\n" in result.stderr
    assert "debug" not in result.stderr

    again = run_cli(emulator, "rv-config", "--stack", stack, "--write", env=env)
    assert again.returncode == 0
    assert "already holds this configuration; left unchanged" in again.stderr
    assert target.read_text() == written
    assert len(list(target.parent.glob("work.*.bak"))) == 1


def test_write_updates_a_lower_case_section_in_place(emulator, stack, tmp_path):
    target = tmp_path / "default"
    target.write_text("[AWS_S3]\nrequester_pays = True\n\n[batch]\nGPU_JOB_QUEUE = Old\n")
    result = run_cli(emulator, "rv-config", "--stack", stack, "--write",
                     env={"RV_CONFIG": str(target)})
    assert result.returncode == 0, result.stderr
    parser = parse(target.read_text())
    assert parser.sections() == ["AWS_S3", "batch"]  # no second, upper-case [BATCH]
    assert parser["batch"]["gpu_job_queue"] == api_names(emulator, stack)["gpu_queue"]
    assert parser["batch"]["attempts"] == "5"


def test_write_goes_through_a_symbolic_link(emulator, stack, tmp_path):
    # A profile file kept elsewhere (a dotfiles repository) and linked into place.
    dotfiles, rv_dir = tmp_path / "dotfiles", tmp_path / "rv"
    dotfiles.mkdir()
    rv_dir.mkdir()
    real = dotfiles / "rastervision-default"
    real.write_text(EXISTING)
    link = rv_dir / "default"
    link.symlink_to(real)

    result = run_cli(emulator, "rv-config", "--stack", stack, "--write",
                     env={"RV_CONFIG_DIR": str(rv_dir)})
    assert result.returncode == 0, result.stderr
    assert link.is_symlink() and link.readlink() == real
    assert parse(real.read_text())["BATCH"]["attempts"] == "5"
    backups = list(dotfiles.glob("rastervision-default.*.bak"))
    assert len(backups) == 1 and backups[0].read_text() == EXISTING
    assert sorted(p.name for p in rv_dir.iterdir()) == ["default"]  # nothing beside the link
    assert (f"wrote the section to {link} (a link to {real}) "
            f"(previous file kept as {backups[0]})") in result.stderr


def test_write_creates_the_default_profile_in_home(emulator, stack, tmp_path):
    result = run_cli(emulator, "rv-config", "--stack", stack, "--write", "--format", "aws_batch",
                     env={"HOME": str(tmp_path), "RV_PROFILE": "", "RV_CONFIG": "",
                          "RV_CONFIG_DIR": ""})
    assert result.returncode == 0, result.stderr
    written = tmp_path / ".rastervision" / "default"
    assert parse(written.read_text()).sections() == [out.AWS_BATCH_SECTION]
    assert not list(written.parent.glob("*.bak"))  # nothing to back up


def test_config_path_precedence(tmp_path):
    assert config_path({"RV_CONFIG": str(tmp_path / "x"), "RV_CONFIG_DIR": "/d",
                        "RV_PROFILE": "p"}) == tmp_path / "x"
    assert config_path({"RV_CONFIG_DIR": str(tmp_path), "RV_PROFILE": "p"}) == tmp_path / "p"
    assert config_path({"RV_CONFIG_DIR": str(tmp_path)}) == tmp_path / "default"


@pytest.mark.parametrize("name, text, expected", [
    ("empty file", "", "[BATCH]\na = 1\nb = 2\n"),
    ("no trailing newline", "[X]\nk = v", "[X]\nk = v\n\n[BATCH]\na = 1\nb = 2\n"),
    ("keys in place, case-insensitively; new ones at the section's end",
     "[BATCH]\nA = 0\nkeep = yes\n\n[Y]\n", "[BATCH]\na = 1\nkeep = yes\nb = 2\n\n[Y]\n"),
    ("a duplicate key would shadow the new value", "[BATCH]\na = 0\na = 9\n",
     "[BATCH]\na = 1\nb = 2\n"),
    ("a section with a similar name is another section", "[BATCH_OLD]\na = 0\n",
     "[BATCH_OLD]\na = 0\n\n[BATCH]\na = 1\nb = 2\n"),
    # Raster Vision reads section names without regard to case: update [batch], keep its name.
    ("the section in another case is the same section", "[batch]\na = 0\n\n[Y]\n",
     "[batch]\na = 1\nb = 2\n\n[Y]\n"),
])
def test_merge_section(name, text, expected):
    assert merge_section(text, "BATCH", {"a": "1", "b": "2"}) == expected


@pytest.mark.parametrize("name, text, expected", [
    # configparser reads a line indented deeper than its key's line as more of the value, across
    # blank lines and comments; the whole value goes, the comment stays.
    ("a continued value",
     "[BATCH]\na = old\n  old-continued\n\n  # a note\n  more\nkeep = yes\n",
     "[BATCH]\na = 1\n  # a note\nkeep = yes\nb = 2\n"),
    # An indented key keeps its indentation: at the margin, `  keep` below would become part of
    # a's value.
    ("an indented key", "[BATCH]\n    a = old\n  keep = yes\n",
     "[BATCH]\n    a = 1\n  keep = yes\nb = 2\n"),
    ("an indented line that looks like a header is part of the value",
     "[BATCH]\na = old\n  [X]\nkeep = yes\n", "[BATCH]\na = 1\nkeep = yes\nb = 2\n"),
    ("a line ending in CR keeps it", "[BATCH]\r\na = old\r\n", "[BATCH]\r\na = 1\r\nb = 2\n"),
])
def test_merge_section_replaces_a_whole_value(name, text, expected):
    merged = merge_section(text, "BATCH", {"a": "1", "b": "2"})
    assert merged == expected
    assert dict(parse(merged)["BATCH"]) == {"a": "1", "b": "2",
                                           **({"keep": "yes"} if "keep" in text else {})}


CONTINUED = """\
[BATCH]
gpu_job_queue = OldQueue
    OldQueue-continued
cpu_job_queue = OldCpu

[AWS_S3]
requester_pays = True
"""


def test_write_replaces_a_continued_value_whole(emulator, stack, tmp_path):
    target = tmp_path / "default"
    target.write_text(CONTINUED)
    result = run_cli(emulator, "rv-config", "--stack", stack, "--write",
                     env={"RV_CONFIG": str(target)})
    assert result.returncode == 0, result.stderr
    written = target.read_text()
    names = api_names(emulator, stack)
    parser = parse(written)
    # The queue Raster Vision reads is the stack's, on one line: the old continuation is gone.
    assert parser["BATCH"]["gpu_job_queue"] == names["gpu_queue"]
    assert parser["BATCH"]["cpu_job_queue"] == names["cpu_queue"]
    assert "OldQueue-continued" not in written
    assert parser.sections() == ["BATCH", "AWS_S3"]
    assert dict(parser["AWS_S3"]) == {"requester_pays": "True"}
    # One line per change: the old two-line value is shown with its line break escaped.
    assert f"  gpu_job_queue: OldQueue\\nOldQueue-continued -> {names['gpu_queue']}\n" in (
        result.stderr)


# ---- errors a user meets: one clear message, exit code 2, never a traceback


def assert_error(result, *fragments: str) -> None:
    assert result.returncode == 2, (result.stdout, result.stderr)
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("rv-batch-cfn rv-config: error: "), lines
    for fragment in fragments:
        assert fragment in lines[0]


def test_no_credentials(emulator):
    result = run_cli(emulator, "rv-config", "--stack", "rv",
                     env={"AWS_ACCESS_KEY_ID": "", "AWS_SECRET_ACCESS_KEY": ""})
    assert_error(result, "no AWS credentials found", "AWS_PROFILE", "aws configure")


def test_unknown_profile(emulator):
    result = run_cli(emulator, "rv-config", "--stack", "rv", "--profile", "nosuch")
    assert_error(result, "nosuch", "could not be found", "known profiles: none")


def test_stack_not_found(emulator):
    result = run_cli(emulator, "rv-config", "--stack", "nope")
    assert_error(result, "stack 'nope' not found in region us-east-1", "--region")


def test_stack_not_complete(emulator):
    # A change set created and never executed leaves the stack in REVIEW_IN_PROGRESS.
    net = make_network(emulator)
    text = TEMPLATE.read_text()
    emulator.client("cloudformation").create_change_set(
        StackName="rv", ChangeSetName="pending", ChangeSetType="CREATE", TemplateBody=text,
        Parameters=console_parameters(text, net), Capabilities=["CAPABILITY_IAM"])
    result = run_cli(emulator, "rv-config", "--stack", "rv")
    assert_error(result, "stack 'rv' is REVIEW_IN_PROGRESS", "never executed")


def test_stack_from_another_template(emulator):
    other = "Resources:\n  Logs:\n    Type: AWS::Logs::LogGroup\n"
    emulator.client("cloudformation").create_stack(StackName="other", TemplateBody=other)
    result = run_cli(emulator, "rv-config", "--stack", "other")
    assert_error(result, "stack 'other' has no output GpuJobQueueName", "template.yml")


def test_unwritable_config_file(emulator, stack, tmp_path):
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("")
    result = run_cli(emulator, "rv-config", "--stack", stack, "--write",
                     env={"RV_CONFIG": str(blocker / "default")})
    assert_error(result, f"cannot write {blocker / 'default'}", "not a directory")

    result = run_cli(emulator, "rv-config", "--stack", stack, "--write",
                     env={"RV_CONFIG": str(tmp_path)})
    assert_error(result, f"cannot write {tmp_path}: it is a directory, not a regular file")


@pytest.mark.parametrize("name, text, expected", [
    ("no section header", "gpu_job_queue = Old\n",
     "line 1: 'gpu_job_queue = Old': a key before the first [section] header"),
    ("a duplicate section", "[BATCH]\nattempts = 1\n\n[AWS_S3]\n\n[BATCH]\ndebug = 1\n",
     "line 6: '[BATCH]': section [BATCH] is already in the file"),
    ("a duplicate key", "[AWS_S3]\nregion = a\nregion = b\n",
     "line 3: 'region = b': key 'region' is already in section [AWS_S3]"),
    ("a line that is not INI", "[BATCH]\nattempts = 1\njust words\n",
     "line 3: 'just words': neither a [section] header, a key = value line nor a comment"),
    ("the section twice, in two cases", "[BATCH]\nattempts = 1\n[batch]\ndebug = 1\n",
     "it has sections [BATCH], [batch], which Raster Vision reads as one"),
])
def test_write_refuses_a_file_that_is_not_ini(emulator, stack, tmp_path, name, text, expected):
    target = tmp_path / "default"
    target.write_text(text)
    result = run_cli(emulator, "rv-config", "--stack", stack, "--write",
                     env={"RV_CONFIG": str(target)})
    assert_error(result, f"cannot merge into the Raster Vision config {target}", expected,
                 "The file was left unchanged")
    assert target.read_text() == text
    assert sorted(p.name for p in tmp_path.iterdir()) == ["default"]  # no backup, no temp file


def test_write_and_env_together(emulator):
    result = run_cli(emulator, "rv-config", "--stack", "rv", "--env", "--write")
    assert_error(result, "--write", "--env", "one or the other")


def test_make_rv_config(emulator, stack):
    cli = ROOT / ".venv" / "bin" / "rv-batch-cfn"
    if not (cli.exists() and shutil.which("make")):
        pytest.skip("make rv-config needs make and the project's .venv")
    env = aws_env(emulator)
    result = subprocess.run(["make", "-s", "-o", ".venv/bin/.installed", "rv-config",
                             f"STACK={stack}"], cwd=ROOT, env=env, capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    section = parse(result.stdout)[out.BATCH_SECTION]
    assert section["gpu_job_queue"] == api_names(emulator, stack)["gpu_queue"]
    missing = subprocess.run(["make", "-s", "-o", ".venv/bin/.installed", "rv-config"],
                             cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert missing.returncode != 0 and "usage: make rv-config STACK=" in missing.stderr


def test_attempts_follow_the_stack_parameter(emulator, stack):
    values = parameter_values(emulator.client("cloudformation").describe_stacks(
        StackName=stack)["Stacks"][0]["Parameters"])
    result = run_cli(emulator, "rv-config", "--stack", stack)
    assert parse(result.stdout)[out.BATCH_SECTION][out.ATTEMPTS_KEY] == values[p.JOB_ATTEMPTS]
