"""Faults, asserted through the CLI: an endpoint that never answers (bounded waits, and a line
while waiting), a connection lost after the change set was executed, and Ctrl-C at the prompt
and while following events.

The emulator executes change sets at once, so "after the execution" is made by a proxy in front
of it (tests/account/faulty_endpoints.py): it forwards every request until ExecuteChangeSet has
gone through, then drops or holds the later ones, as a network that fails at that moment would.
Ctrl-C needs a real signal, so those tests run the CLI in a subprocess; the others run in this
process.
"""

from __future__ import annotations

import os
import pty
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from rv_batch_cfn.account import waits
from tests.account.faulty_endpoints import CutOffProxy, SilentEndpoint, closing
from tests.emulator import Emulator, aws_env
from tests.hostile import assert_refused, run

SMALL_TEMPLATE = "Resources:\n  Logs:\n    Type: AWS::Logs::LogGroup\n"
CHANGED_TEMPLATE = ("Resources:\n  Logs:\n    Type: AWS::Logs::LogGroup\n"
                    "    Properties:\n      RetentionInDays: 7\n")


@pytest.fixture
def silent():
    yield from closing(SilentEndpoint())


@pytest.fixture
def template(tmp_path, monkeypatch) -> Path:
    monkeypatch.chdir(tmp_path)
    path = tmp_path / "small.yml"
    path.write_text(SMALL_TEMPLATE)
    return path


# ---- waiting: bounded, and said

def test_clients_get_bounded_timeouts_and_standard_retries(emulator, monkeypatch):
    from rv_batch_cfn.account.session import make_session

    config = make_session().client("cloudformation").meta.config
    assert (config.connect_timeout, config.read_timeout) == (waits.CONNECT_TIMEOUT,
                                                             waits.READ_TIMEOUT)
    assert config.retries["mode"] == "standard"
    monkeypatch.setenv("RV_BATCH_CFN_READ_TIMEOUT", "2.5")
    monkeypatch.setenv("RV_BATCH_CFN_CONNECT_TIMEOUT", "4")
    monkeypatch.setenv("AWS_RETRY_MODE", "adaptive")
    config = make_session().client("cloudformation").meta.config
    assert (config.connect_timeout, config.read_timeout) == (4.0, 2.5)
    assert config.retries["mode"] == "adaptive"


def test_an_endpoint_that_never_answers(emulator, silent, capsys, monkeypatch):
    monkeypatch.setenv("AWS_ENDPOINT_URL", silent.url)
    monkeypatch.setenv("RV_BATCH_CFN_READ_TIMEOUT", "0.25")
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "2")
    monkeypatch.setattr(waits, "PROGRESS_INTERVAL", 0.1)
    err = assert_refused(run(capsys, "rv-config", "--stack", "rv"),
                         "rv-batch-cfn rv-config: error: cannot reach AWS: Read timeout on "
                         f'endpoint URL: "{silent.url}/"')
    # Both attempts reached it and each timed out (no bound on the time taken: a loaded machine
    # would fail it for no fault of the code).
    assert silent.accepted == 2
    waiting = [line for line in err.splitlines() if line.startswith("still waiting for AWS")]
    assert waiting and waiting[0].startswith("still waiting for AWS: STS GetCallerIdentity, ")
    assert any("attempt 1 failed: Read timeout" in line for line in waiting), err


def test_slow_calls_are_reported_every_interval():
    # The reporter on its own, with botocore's events replayed: a line per interval while the
    # call lasts, none after it ended.
    lines: list[str] = []
    watcher = waits.SlowCalls(lines.append, interval=0.1)
    model = type("Model", (), {"name": "DescribeStacks",
                               "service_model": type("S", (), {"service_id": "CloudFormation"})})
    watcher._started(model=model)
    time.sleep(0.35)
    watcher._attempted(attempts=1, caught_exception=TimeoutError("Read timeout"))
    time.sleep(0.15)
    watcher._ended()
    count = len(lines)
    time.sleep(0.25)
    assert len(lines) == count >= 3
    assert lines[0].startswith("still waiting for AWS: CloudFormation DescribeStacks, 0 s")
    assert "attempt 1 failed: Read timeout; now attempt 2" in lines[-1]


# ---- after the change set was executed

def test_a_connection_lost_after_the_execution(emulator, moto_server, template, capsys,
                                               monkeypatch):
    proxy = CutOffProxy(moto_server, mode="drop")
    try:
        monkeypatch.setenv("AWS_ENDPOINT_URL", proxy.url)
        monkeypatch.setenv("AWS_MAX_ATTEMPTS", "2")
        code, out, err = run(capsys, "deploy", "--stack", "rv", "--yes", "--template",
                             str(template))
    finally:
        proxy.close()
    assert proxy.executed.is_set() and proxy.refused >= 1
    message = assert_refused((code, out, err), "rv-batch-cfn deploy: error: cannot follow "
                             "stack 'rv'", "the stack operation continues in AWS whatever "
                             "happens here",
                             "aws cloudformation describe-stack-events --stack-name rv",
                             "aws cloudformation wait stack-create-complete --stack-name rv")
    assert "was executed" in message
    # The operation went on without the command: the emulator has the stack.
    stack, = emulator.client("cloudformation").describe_stacks(StackName="rv")["Stacks"]
    assert stack["StackStatus"] == "CREATE_COMPLETE"


# ---- Ctrl-C, in a subprocess that receives a real SIGINT

class Running:
    """`rv-batch-cfn ARGS` in a subprocess whose output is collected as it comes."""

    def __init__(self, emulator: Emulator, cwd: Path, *args: str, **env: str):
        # Standard input is a pseudo-terminal: deploy asks its question only on a terminal
        # (from a pipe it refuses without --yes).
        self._terminal, terminal = pty.openpty()
        self.process = subprocess.Popen(
            [sys.executable, "-m", "rv_batch_cfn", *args], cwd=cwd,
            env=aws_env(emulator, HOME=str(cwd), **env), stdin=terminal,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        os.close(terminal)
        self.out = bytearray()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        while True:
            chunk = os.read(self.process.stdout.fileno(), 4096)
            if not chunk:
                return
            self.out += chunk

    def wait_for(self, text: str, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while text.encode() not in self.out:
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"never printed {text!r}:\n{self.out.decode()}\n"
                                     f"{self.process.stderr.read().decode()}")
            time.sleep(0.05)

    def interrupt(self) -> tuple[int, str, str]:
        self.process.send_signal(signal.SIGINT)
        code = self.process.wait(timeout=60)
        self._reader.join(timeout=10)
        os.close(self._terminal)
        return code, self.out.decode(), self.process.stderr.read().decode()


def assert_interrupted(code: int, err: str, *fragments: str) -> None:
    assert code == 130, err
    assert "Traceback" not in err, err
    assert err.count("rv-batch-cfn deploy: interrupted: ") == 1, err
    for fragment in fragments:
        assert fragment in err, err


def test_ctrl_c_at_the_prompt_of_a_first_deploy(emulator, template):
    running = Running(emulator, template.parent, "deploy", "--stack", "rv", "--template",
                      str(template))
    running.wait_for("Execute this change set on stack rv? [y/N] ")
    code, _, err = running.interrupt()
    assert_interrupted(code, err, "nothing was changed: change set rv-batch-cfn-",
                       "and the empty stack it made were deleted, as answering no does")
    cfn = emulator.client("cloudformation")
    alive = [s["StackName"] for s in cfn.list_stacks()["StackSummaries"]
             if s["StackStatus"] != "DELETE_COMPLETE"]
    assert alive == []  # no REVIEW_IN_PROGRESS stack left behind


def test_ctrl_c_at_the_prompt_of_an_update(emulator, template):
    cfn = emulator.client("cloudformation")
    cfn.create_stack(StackName="rv", TemplateBody=SMALL_TEMPLATE)
    template.write_text(CHANGED_TEMPLATE)
    running = Running(emulator, template.parent, "deploy", "--stack", "rv", "--template",
                      str(template))
    running.wait_for("Execute this change set on stack rv? [y/N] ")
    code, _, err = running.interrupt()
    assert_interrupted(code, err, "nothing was changed: change set rv-batch-cfn-",
                       "was deleted, as answering no does")
    assert "empty stack" not in err
    assert cfn.list_change_sets(StackName="rv")["Summaries"] == []
    stack, = cfn.describe_stacks(StackName="rv")["Stacks"]
    assert stack["StackStatus"] == "CREATE_COMPLETE"


def test_ctrl_c_while_following_events(emulator, moto_server, template):
    proxy = CutOffProxy(moto_server, mode="hold")  # every call after the execution hangs
    try:
        running = Running(emulator, template.parent, "deploy", "--stack", "rv", "--yes",
                          "--template", str(template), AWS_ENDPOINT_URL=proxy.url)
        running.wait_for("Events:")
        deadline = time.monotonic() + 30
        while not proxy.refused and time.monotonic() < deadline:
            time.sleep(0.05)  # until it waits on a call the proxy holds
        code, _, err = running.interrupt()
    finally:
        proxy.close()
    assert_interrupted(code, err, "stopped following stack rv. Change set rv-batch-cfn-",
                       "was executed: the stack operation continues in AWS",
                       "aws cloudformation describe-stack-events --stack-name rv")
    stack, = emulator.client("cloudformation").describe_stacks(StackName="rv")["Stacks"]
    assert stack["StackStatus"] == "CREATE_COMPLETE"
