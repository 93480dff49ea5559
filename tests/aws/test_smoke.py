"""`rv-batch-cfn smoke-test` run as a user runs it, against a stack deployed on the emulator.

moto runs the jobs without Docker (`{"batch": {"use_docker": false}}` on the server); the
fixture's stand-in (tests/moto_like_aws_alerts.py) moves each job through Batch's statuses, one
per DescribeJobs,
writes what its container would print to the job definition's log group, and, when a test asks,
fails the job as a container exiting with status 1 does, or keeps it RUNNABLE (no instance
comes) until it is terminated.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import urllib.request

import pytest

from rv_batch_cfn.aws.smoke import CANCEL_REASON
from tests import cli_runner
from tests import moto_like_aws_alerts as stand_in
from tests.cli_runner import assert_one_clean_error
from tests.emulator import ROOT, aws_env, deploy, make_network, outputs

STACK = "rv"
FAST = ("--interval", "0.02")  # the stand-in moves a job one status per look


def configure_batch(endpoint: str, use_docker: bool) -> None:
    request = urllib.request.Request(
        f"{endpoint}/moto-api/config", method="POST",
        data=json.dumps({"batch": {"use_docker": use_docker}}).encode())
    urllib.request.urlopen(request).read()


@pytest.fixture
def cli(emulator, home, tmp_path):
    """`rv-batch-cfn ARGS` as a user runs it, in the test process (tests/cli_runner.py): what
    smoke-test prints as the jobs go, and its exit code. Ctrl-C, which needs a process of its own
    to reach as a signal, has its own test below."""
    def run(*args: str) -> subprocess.CompletedProcess:
        return cli_runner.run(args, env=aws_env(emulator, HOME=str(home)), cwd=tmp_path)
    return run


@pytest.fixture
def jobs(emulator):
    """Jobs run without Docker and succeed, unless the test says otherwise."""
    configure_batch(emulator.endpoint, use_docker=False)
    stand_in.BATCH.outcome = stand_in.SUCCEED
    yield stand_in.BATCH
    stand_in.BATCH.outcome = None
    configure_batch(emulator.endpoint, use_docker=True)


def statuses(stdout: str, label: str) -> list[str]:
    return re.findall(rf"^\[\s*\d+s\] {label} ([A-Z]+)", stdout, re.MULTILINE)


def submitted_jobs(emulator) -> dict[str, dict]:
    """Every job of the account, by kind label, as Batch describes it."""
    batch = emulator.client("batch")
    ids = [j["jobId"] for q in batch.describe_job_queues()["jobQueues"]
           for j in batch.list_jobs(jobQueue=q["jobQueueName"],
                                    filters=[{"name": "JOB_NAME", "values": ["rv-smoke-test-*"]}]
                                    )["jobSummaryList"]]
    found = batch.describe_jobs(jobs=ids)["jobs"] if ids else []
    return {j["jobName"].split("-")[3].upper(): j for j in found}


@pytest.mark.parametrize("buckets,cpu_command,listed", [
    ({"S3Buckets": "rv-data,rv-results", "S3ReadOnlyBuckets": "public-data"},
     "python -c import sys, boto3;", "rv-data"),
    ({"S3ReadOnlyBuckets": "public-data"}, "python -c import sys, boto3;", "public-data"),
    ({}, "sh -c echo 'no bucket named in S3Buckets or S3ReadOnlyBuckets", None),
], ids=["the first bucket jobs write", "else the first they read",
        "no bucket named (every bucket readable): nothing to list"])
def test_both_jobs_succeed_with_live_statuses_and_logs(emulator, cli, jobs, buckets,
                                                       cpu_command, listed):
    stack = deploy(emulator, STACK, make_network(emulator), **buckets)
    names = outputs(stack)

    result = cli("smoke-test", "--stack", STACK, *FAST)

    assert result.returncode == 0, result.stdout + result.stderr
    for label in ("GPU", "CPU"):
        assert statuses(result.stdout, label) == ["SUBMITTED", "PENDING", "RUNNABLE", "STARTING",
                                                  "RUNNING", "SUCCEEDED"], result.stdout
    assert "[emulator stand-in for the container] nvidia-smi" in result.stdout
    assert f"[emulator stand-in for the container] {cpu_command}" in result.stdout
    if listed:
        assert result.stdout.split("CPU log", 1)[1].splitlines()[1].endswith(f" {listed}")
    assert result.stdout.rstrip().splitlines()[-1].startswith("smoke-test: the stack works")
    # Each job ran on the stack's own queue and job definition, with the command replaced.
    found = submitted_jobs(emulator)
    for label, kind in (("GPU", "Gpu"), ("CPU", "Cpu")):
        job = found[label]
        assert job["jobQueue"].endswith(f"/{names[f'{kind}JobQueueName']}")
        assert f"/{names[f'{kind}JobDefinitionName']}:" in job["jobDefinition"]
    assert found["GPU"]["container"]["command"] == ["nvidia-smi"]


def test_a_failing_job_exits_1_with_its_reason_and_log(emulator, cli, jobs):
    deploy(emulator, STACK, make_network(emulator))
    jobs.outcome = stand_in.FAIL

    result = cli("smoke-test", "--stack", STACK, "--kind", "gpu", *FAST)

    assert result.returncode == 1, result.stdout + result.stderr
    assert statuses(result.stdout, "GPU")[-1] == "FAILED"
    assert f"GPU FAILED: {stand_in.CONTAINER_EXITED}" in result.stdout
    assert "the command exited with status 1" in result.stdout  # the log
    assert "CPU" not in result.stdout
    assert "1 of 1 jobs did not succeed: GPU FAILED" in result.stdout


def test_a_stack_that_does_not_exist_exits_2_before_submitting(emulator, cli, jobs):
    result = cli("smoke-test", "--stack", "nope", *FAST)

    assert_one_clean_error(result, "stack 'nope' not found")
    assert emulator.client("batch").describe_job_queues()["jobQueues"] == []


def test_a_job_stuck_in_runnable_is_explained_and_ctrl_c_terminates_it(emulator, jobs, home,
                                                                        tmp_path):
    # A CPU job larger than every CPU instance type: Batch keeps it RUNNABLE for ever (the
    # stand-in holds it), and doctor names the cause.
    deploy(emulator, STACK, make_network(emulator), CPUInstanceMemory=100000)
    jobs.outcome = stand_in.HOLD
    process = subprocess.Popen(
        [sys.executable, "-m", "rv_batch_cfn", "smoke-test", "--stack", STACK, "--kind", "cpu",
         *FAST, "--explain-after", "0.2"],
        env=aws_env(emulator, HOME=str(home)), cwd=tmp_path, text=True,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    seen = _read_until(process, "fits no instance type")  # the causes, then doctor's findings
    process.send_signal(signal.SIGINT)
    stdout, stderr = process.communicate(timeout=60)
    stdout = seen + stdout

    assert process.returncode == 130, stdout + stderr
    assert re.search(r"CPU RUNNABLE for \d+s", stdout) and "vCPU quota" in stdout
    # The quota is checked first, and found not to be the cause (an established account).
    assert re.search(r"vCPU quota: 'All Standard \(A, C, D, H, I, M, R, T, Z\) Spot Instance "
                     r"Requests' \(L-34B43A08, us-east-1\) is 1024 vCPUs, enough for one "
                     r"m\w+\.xlarge \(4 vCPUs\): not the cause\.", stdout)
    assert "PROBLEM job fit: CPU job definition RasterVisionCpuJobDefinition (4 vCPUs, " \
           "100000 MiB) fits no instance type" in stdout
    # Findings about the GPU alone are left out; those about both kinds stay.
    assert not re.search(r": GPU (?!and CPU)", stdout.split("doctor, on the CPU setup:")[1])
    assert "Traceback" not in stderr
    job_id = submitted_jobs(emulator)["CPU"]["jobId"]
    assert "interrupted; terminating CPU job " + job_id in stderr
    job = _wait_for_status(emulator, job_id, "FAILED")
    assert (job["status"], job["statusReason"]) == ("FAILED", CANCEL_REASON)


def _read_until(process: subprocess.Popen, text: str, timeout: float = 60) -> str:
    """The child's output up to the line containing `text` (it keeps running)."""
    os.set_blocking(process.stdout.fileno(), True)
    seen, deadline = "", time.monotonic() + timeout
    while text not in seen:
        assert time.monotonic() < deadline and process.poll() is None, seen
        seen += process.stdout.readline()
    return seen


def test_make_smoke_test(emulator, jobs):
    cli = ROOT / ".venv" / "bin" / "rv-batch-cfn"
    if not (cli.exists() and shutil.which("make")):
        pytest.skip("make smoke-test needs make and the project's .venv")
    deploy(emulator, STACK, make_network(emulator))
    make = ["make", "-s", "-o", ".venv/bin/.installed", "smoke-test"]
    result = subprocess.run([*make, f"STACK={STACK}", "KIND=cpu", "TIMEOUT=2", "INTERVAL=0.02"],
                            cwd=ROOT, env=aws_env(emulator), capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "up to 2 minutes" in result.stdout and "CPU SUCCEEDED" in result.stdout
    assert "GPU" not in result.stdout
    missing = subprocess.run(make, cwd=ROOT, env=aws_env(emulator), capture_output=True,
                             text=True, timeout=60)
    assert missing.returncode != 0 and "usage: make smoke-test STACK=" in missing.stderr


# -- The library, as a Python caller uses it


def test_follow_terminates_what_is_not_done_when_the_time_runs_out(emulator, jobs):
    from rv_batch_cfn.aws import smoke
    from rv_batch_cfn.aws.clients.session import make_session

    deploy(emulator, STACK, make_network(emulator))
    jobs.outcome = stand_in.HOLD
    session = make_session()
    submitted = smoke.submit(session, smoke.plan(session, STACK, ["gpu"]), timeout_minutes=1)

    events = list(smoke.follow(session, submitted, timeout_seconds=0.6, poll_seconds=0.05,
                               explain_after=0.2))

    assert [e.kind for e in events if e.kind != "status"] == ["stuck", "timeout"]
    assert events[-1].status == "RUNNABLE"
    job = _wait_for_status(emulator, submitted[0].job_id, "FAILED")
    assert job["statusReason"] == f"{smoke.CANCEL_REASON}: not done within the time given"


def test_a_refused_submission_leaves_nothing_running(emulator, jobs):
    import dataclasses

    from rv_batch_cfn.aws import smoke
    from rv_batch_cfn.aws.clients.session import make_session
    from rv_batch_cfn.errors import AwsError

    deploy(emulator, STACK, make_network(emulator))
    jobs.outcome = stand_in.HOLD
    session = make_session()
    plan = smoke.plan(session, STACK)
    gpu, cpu = plan.jobs
    broken = dataclasses.replace(plan, jobs=(gpu, dataclasses.replace(cpu, queue="NoSuchQueue")))

    with pytest.raises(AwsError, match="submit a CPU job to queue NoSuchQueue"):
        smoke.submit(session, broken, timeout_minutes=1)

    gpu_job = submitted_jobs(emulator)["GPU"]
    assert _wait_for_status(emulator, gpu_job["jobId"], "FAILED")["statusReason"] == \
        smoke.CANCEL_REASON


def _wait_for_status(emulator, job_id: str, status: str, timeout: float = 10) -> dict:
    batch, deadline = emulator.client("batch"), time.monotonic() + timeout
    while True:
        job, = batch.describe_jobs(jobs=[job_id])["jobs"]
        if job["status"] == status or time.monotonic() > deadline:
            return job
        time.sleep(0.1)


def test_a_gpu_job_stuck_in_runnable_on_a_zero_quota_names_the_quota(emulator, jobs, home,
                                                                     tmp_path):
    # A new account: 0 vCPUs of G and VT spot (tests/moto_like_aws_quotas.py). The stand-in
    # holds the job RUNNABLE, as Batch does when no instance may start.
    from tests import moto_like_aws_quotas as quotas

    deploy(emulator, STACK, make_network(emulator))
    quotas.new_account(quotas.quotas(emulator))
    jobs.outcome = stand_in.HOLD
    process = subprocess.Popen(
        [sys.executable, "-m", "rv_batch_cfn", "smoke-test", "--stack", STACK, "--kind", "gpu",
         *FAST, "--explain-after", "0.2"],
        env=aws_env(emulator, HOME=str(home)), cwd=tmp_path, text=True,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    seen = _read_until(process, "fix: Request at least 8 vCPUs")
    process.send_signal(signal.SIGINT)
    stdout, stderr = process.communicate(timeout=60)
    stdout = seen + stdout

    assert process.returncode == 130, stdout + stderr
    assert ("vCPU quota: GPU spot vCPU quota 'All G and VT Spot Instance Requests' (L-3819A6DF, "
            "us-east-1) is 0 vCPUs, fewer than the 8 of one g4dn.2xlarge") in stdout
    assert "rv-batch-cfn request-quota --stack rv --region us-east-1 --kind gpu" in stdout
    # Shown once, first: doctor's part leaves the quota out.
    assert stdout.count("L-3819A6DF") == 1
