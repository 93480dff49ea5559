"""The AWS CLI's conventions, for every command: global options before or after the command
name, --output json, --version, --debug on standard error, one set of exit codes listed in
--help. In-process through rv_batch_cfn.cli.main; subprocesses only where the process itself is
the point (a closed pipe)."""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys

import pytest

import rv_batch_cfn
from rv_batch_cfn import cli
from rv_batch_cfn.aws.clients.session import aws_error
from rv_batch_cfn.cli import global_options
from rv_batch_cfn.errors import EXIT_BROKEN_PIPE, EXIT_ERROR, EXIT_INTERRUPTED
from tests.emulator import ROOT, deploy, make_network

# (flag, value, where argparse stores it)
GLOBALS = [("--profile", "p1", "profile"), ("--region", "r1", "region"),
           ("--endpoint-url", "http://e1", "endpoint_url"), ("--output", "json", "output_format"),
           ("--debug", None, "debug")]


def global_argv(options) -> list[str]:
    return [x for flag, value, _ in options for x in ((flag,) if value is None else (flag, value))]


def expected(options) -> dict:
    return {dest: True if value is None else value for _, value, dest in options}


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = cli.main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def commands() -> dict[str, argparse.ArgumentParser]:
    parser = cli.build_parser()
    [sub] = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    return dict(sub.choices)


def minimal_arguments(parser: argparse.ArgumentParser) -> list[str]:
    """Values for a command's required arguments, read from its parser, so commands added
    later are covered without a change here."""
    argv: list[str] = []
    for action in parser._actions:
        value = str(action.choices[0]) if action.choices else "x"
        if action.option_strings and action.required:
            argv += [action.option_strings[0], value]
        elif not action.option_strings and action.nargs not in ("?", "*", argparse.SUPPRESS):
            argv.append(value)
    return argv


@pytest.mark.parametrize("name", sorted(commands()))
def test_global_options_before_or_after_the_command(name):
    parser, command = cli.build_parser(), commands()[name]
    required = minimal_arguments(command)
    before = vars(parser.parse_args([*global_argv(GLOBALS), name, *required]))
    assert {dest: before[dest] for _, _, dest in GLOBALS} == expected(GLOBALS)

    # After the name too, except where the command keeps an option of its own under a global
    # name (template -o/--output FILE, lint --region to check against): the global one then
    # goes before the name.
    own = command._option_string_actions
    usable = [g for g in GLOBALS if g[0] not in own or own[g[0]].dest == g[2]]
    assert len(usable) >= len(GLOBALS) - 1, name
    after = vars(parser.parse_args([name, *required, *global_argv(usable)]))
    assert {dest: after[dest] for _, _, dest in usable} == expected(usable)


@pytest.mark.parametrize("name", sorted(commands()))
def test_every_command_lists_the_exit_codes_and_the_global_options(name, capsys):
    code, out, _ = run(capsys, name, "--help")
    assert code == 0
    text = " ".join(out.split())
    assert "Exit status, the same for every command: 0 done; 1 the command worked and found " \
           "problems" in text
    assert "2 an error to fix" in text and "130 interrupted" in text
    assert "--endpoint-url URL" in out and "--debug" in out and "--profile NAME" in out


def test_a_value_given_before_is_not_overwritten_by_the_commands_default():
    args = cli.build_parser().parse_args(["--region", "eu-west-1", "--json", "doctor",
                                          "--stack", "s"])
    assert (args.region, args.output_format, args.profile) == ("eu-west-1", "json", None)
    args = cli.build_parser().parse_args(["doctor", "--stack", "s"])
    assert (args.region, args.output_format, args.debug) == (None, None, False)


def test_version_before_or_after(capsys):
    for argv in (["--version"], ["doctor", "--version"]):
        code, out, _ = run(capsys, *argv)
        assert code == 0
        assert out.startswith(f"rv-batch-cfn {rv_batch_cfn.__version__} Python/")


def small_template(tmp_path) -> str:
    """A template cfn-lint reads in a fraction of the time of the real one."""
    path = tmp_path / "small.yml"
    path.write_text("Resources:\n  Logs:\n    Type: AWS::Logs::LogGroup\n"
                    "    DeletionPolicy: Delete\n    UpdateReplacePolicy: Delete\n"
                    "    Properties:\n      RetentionInDays: 7\n")
    return str(path)


def test_output_json_for_lint(capsys, tmp_path):
    template = small_template(tmp_path)
    for argv in (["--output", "json", "lint", template], ["lint", template, "--json"]):
        code, out, err = run(capsys, *argv)
        assert code == 0, err
        assert json.loads(out) == []
    code, out, _ = run(capsys, "lint", template, "--output", "text")
    assert code == 0 and out == ""


def test_template_output_is_a_file_and_not_a_format(capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code, out, err = run(capsys, "template", "--output", "json", "--no-lint")
    assert code == EXIT_ERROR
    assert "-o/--output names the file to write here (got 'json')" in err
    assert not (tmp_path / "json").exists()


def test_lint_checks_the_region_given_before_the_command(capsys, tmp_path):
    # The global --region before `lint` is the region to check against: a type that region
    # does not offer is a finding there only.
    path = tmp_path / "t.yml"
    path.write_text("Resources:\n  Box:\n    Type: AWS::EC2::Instance\n    Properties:\n"
                    "      ImageId: ami-0123456789abcdef0\n      InstanceType: g6e.48xlarge\n")
    code, out, err = run(capsys, "--region", "us-east-1", "--json", "lint", str(path))
    east = json.loads(out)
    code, out, err = run(capsys, "--region", "sa-east-1", "--json", "lint", str(path))
    south = json.loads(out)
    assert [f["rule_id"] for f in south] != [f["rule_id"] for f in east], (east, south)


@pytest.fixture
def stack(emulator):
    net = make_network(emulator)
    deploy(emulator, "rv", net)
    return net


def test_output_json_of_the_commands_reading_a_stack(emulator, stack, capsys, tmp_path,
                                                     monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))
    for key in ("RV_CONFIG", "RV_CONFIG_DIR", "RV_PROFILE"):
        monkeypatch.delenv(key, raising=False)
    code, out, err = run(capsys, "doctor", "--stack", "rv", "--output", "json")
    assert code in (0, 1), err
    assert json.loads(out)["stack"] == "rv"

    code, out, err = run(capsys, "--output", "json", "rv-config", "--stack", "rv")
    assert code == 0, err
    data = json.loads(out)
    assert data["section"] == "BATCH"
    assert data["values"]["gpu_job_queue"] == "RasterVisionGpuJobQueue"
    assert data["environment"]["BATCH_GPU_JOB_QUEUE"] == "RasterVisionGpuJobQueue"

    code, out, err = run(capsys, "choose-subnets", "--vpc", stack.vpc_id, "--json",
                         "--instance-types", "g5.2xlarge,m6i.xlarge")
    assert code in (0, 1), err
    assert sorted(s["subnet"] for s in json.loads(out)["subnets"]) == sorted(stack.subnet_ids)


def test_debug_logs_the_requests_on_standard_error(emulator, stack, capsys):
    code, out, err = run(capsys, "--debug", "rv-config", "--stack", "rv")
    assert code == 0
    assert "botocore" in err and "DescribeStacks" in err
    assert out.startswith("[BATCH]\n") and "botocore" not in out
    # Nothing stays attached once the command is over.
    code, _, err = run(capsys, "rv-config", "--stack", "rv")
    assert code == 0 and "botocore" not in err


def test_endpoint_url_reaches_the_emulator_for_this_command_only(emulator, stack, capsys,
                                                                  monkeypatch):
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")  # nothing listens there
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")
    code, out, err = run(capsys, "rv-config", "--stack", "rv", "--endpoint-url",
                         emulator.endpoint)
    assert code == 0, err
    assert "RasterVisionGpuJobQueue" in out
    assert os.environ["AWS_ENDPOINT_URL"] == "http://127.0.0.1:9"


def test_exit_codes(emulator, capsys, monkeypatch, tmp_path):
    assert run(capsys, "lint", small_template(tmp_path))[0] == 0
    assert run(capsys, "doctor")[0] == EXIT_ERROR  # a usage error: --stack missing
    code, _, err = run(capsys, "doctor", "--stack", "nothing-here")
    assert code == EXIT_ERROR
    assert "Traceback" not in err and err.count("error:") == 1

    def interrupted(args):
        raise KeyboardInterrupt

    monkeypatch.setattr(cli.generate, "cmd_lint", interrupted)
    code, _, err = run(capsys, "lint", small_template(tmp_path))
    assert (code, err) == (EXIT_INTERRUPTED, "rv-batch-cfn lint: interrupted\n")


def test_an_error_from_aws_keeps_awss_own_message():
    import botocore.exceptions

    refused = botocore.exceptions.ClientError(
        {"Error": {"Code": "AccessDenied", "Message": "User: arn:aws:iam::1:user/u is not "
                   "authorized to perform: batch:DescribeJobQueues"}}, "DescribeJobQueues")
    message = str(aws_error("describe the job queues", refused))
    assert message == ("cannot describe the job queues: AccessDenied: User: "
                       "arn:aws:iam::1:user/u is not authorized to perform: "
                       "batch:DescribeJobQueues")


def test_missing_stack_keeps_awss_words(emulator, capsys):
    code, _, err = run(capsys, "rv-config", "--stack", "nothing-here")
    assert code == EXIT_ERROR
    assert "stack 'nothing-here' not found in region us-east-1" in err
    assert "AWS: Stack with id nothing-here does not exist" in err


def test_a_closed_pipe_ends_quietly():
    # The reader is gone before the command writes: a real pipe, so a real process.
    process = subprocess.Popen([sys.executable, "-m", "rv_batch_cfn", "packer-template", "-o",
                                "-"], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    process.stdout.close()
    _, err = process.communicate(timeout=60)
    assert process.returncode == EXIT_BROKEN_PIPE
    assert err == b""


def test_the_exit_status_text_names_every_code():
    for code in ("0 done", "1 the command worked", "2 an error", "130 interrupted", "141 "):
        assert code in global_options.EXIT_STATUS


def test_a_command_added_later_gets_the_global_options(monkeypatch, capsys):
    # A new command module registers as the others do (nothing for the AWS options, maybe a
    # --json of its own), and still gets every global option in both places.
    seen = []

    def register(sub):
        p = sub.add_parser("example", help="an example")
        p.add_argument("--json", action="store_true", help="its own --json")
        p.set_defaults(func=lambda args: seen.append(args) or 0)

    monkeypatch.setattr(cli, "REGISTRARS", [*cli.REGISTRARS, register])
    assert run(capsys, "--region", "eu-west-1", "example", "--profile", "p", "--json")[0] == 0
    assert run(capsys, "example", "--output", "json", "--endpoint-url", "http://e")[0] == 0
    first, second = seen
    assert (first.region, first.profile, first.json) == ("eu-west-1", "p", True)
    assert (second.output_format, second.json, second.endpoint_url) == ("json", True, "http://e")
    code, out, _ = run(capsys, "example", "--help")
    assert "Exit status, the same for every command" in " ".join(out.split())
