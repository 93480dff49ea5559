"""Jobs in the emulator as Raster Vision submits them, and what their containers would print."""

from __future__ import annotations

import time
import uuid
from typing import Optional

from rv_batch_cfn.aws.jobs import listing as account_jobs
from rv_batch_cfn.template import outputs as out
from tests.emulator import Emulator

# Batch's status reason for an attempt whose spot instance was reclaimed.
RECLAIMED = "Host EC2 (instance i-0123456789abcdef0) terminated."


def rv_name(run: str, command: str) -> str:
    """The name every Raster Vision runner gives a job: `<run>-<command>-<uuid>`."""
    return f"{run}-{command}-{uuid.uuid4()}"


def submit(emu: Emulator, names: dict, kind: str, name: str, tagged: bool = False,
           size: int = 0) -> str:
    """Submit to the stack's `kind` queue and job definition (`names`: the stack's outputs);
    `tagged` as the batch_retry runner tags; `size` children for an array job."""
    queue, definition = (names[o] for o in out.KIND_OUTPUTS[kind])
    extra: dict = {"arrayProperties": {"size": size}} if size else {}
    if tagged:
        run, command = name.split("-")[:2]
        extra.update(tags={account_jobs.RUN_TAG: run, account_jobs.COMMAND_TAG: command},
                     propagateTags=True)
    return emu.client("batch").submit_job(jobName=name, jobQueue=queue,
                                          jobDefinition=definition, **extra)["jobId"]


def stream_of(emu: Emulator, job_id: str) -> str:
    """The log stream DescribeJobs names for the job."""
    job, = emu.client("batch").describe_jobs(jobs=[job_id])["jobs"]
    return job["container"]["logStreamName"]


def write_events(emu: Emulator, group: str, stream: str, *lines: str) -> None:
    """What a container's awslogs driver would have written."""
    logs = emu.client("logs")
    try:
        logs.create_log_stream(logGroupName=group, logStreamName=stream)
    except logs.exceptions.ResourceAlreadyExistsException:
        pass
    start = int(time.time() * 1000)
    logs.put_log_events(logGroupName=group, logStreamName=stream,
                        logEvents=[{"timestamp": start + i, "message": line}
                                   for i, line in enumerate(lines)])


def run_make(emu: Emulator, *args: str, env: Optional[dict[str, str]] = None):
    """`make ARGS` in the project, pointed at the emulator; skipped without make or .venv.

    make is asked for its recipe (`make -n`) and the `rv-batch-cfn` command it names runs in
    this process (tests/cli_runner.py), returning that command's exit status and output: what
    is tested is that the target hands the settings on, and what the command then does. A
    recipe that names no command (a usage error: the target's own check refuses) runs for real.
    `env`: variables added to the emulator's.
    """
    import shlex
    import shutil
    import subprocess

    import pytest

    from tests import cli_runner
    from tests.emulator import ROOT, aws_env

    if not ((ROOT / ".venv" / "bin" / "rv-batch-cfn").exists() and shutil.which("make")):
        pytest.skip("the make targets need make and the project's .venv")
    make = ["make", "-s", "-o", ".venv/bin/.installed"]
    environment = aws_env(emu, **(env or {}))
    recipe = subprocess.run([*make, "-n", *args], cwd=ROOT, env=environment,
                            capture_output=True, text=True, timeout=60)
    commands = [line for line in recipe.stdout.splitlines()
                if line.startswith(".venv/bin/rv-batch-cfn ")]
    if recipe.returncode != 0 or len(commands) != 1 or "test -n \"\"" in recipe.stdout:
        return subprocess.run([*make, *args], cwd=ROOT, env=environment, capture_output=True,
                              text=True, timeout=60)
    return cli_runner.run(shlex.split(commands[0])[1:], env=environment, cwd=ROOT)
