"""`rv-batch-cfn logs` against a stack deployed in the emulator: jobs in several states, and log
events the tests write into the streams DescribeJobs names (moto's Batch without Docker gives
a job a stream name but writes nothing to CloudWatch Logs). One stack serves the module."""

from __future__ import annotations

import json
from datetime import datetime

import pytest

from rv_batch_cfn.aws.jobs import logs as job_logs
from rv_batch_cfn.template import outputs as out
from tests.aws.batch_jobs import (
    RECLAIMED, run_make, rv_name, stream_of, submit, write_events,
)
from tests.emulator import (
    deploy, make_network, outputs, run_cli, set_job_state,
)

# One stack for the module: its tests run together on one worker (setup.cfg: --dist loadgroup).
pytestmark = pytest.mark.xdist_group("logs")

STACK = "rv"


@pytest.fixture(scope="module")
def group(emu) -> str:
    return outputs(deploy(emu, STACK, make_network(emu)))[out.JOB_LOG_GROUP]


@pytest.fixture(scope="module")
def names(emu, group) -> dict[str, str]:
    return outputs(emu.client("cloudformation").describe_stacks(StackName=STACK)["Stacks"][0])


@pytest.fixture(scope="module")
def ids(emu, group, names) -> dict[str, str]:
    """A finished job that printed two lines; a job on its second attempt after a spot reclaim
    (each attempt printed); an array job of two; a job waiting RUNNABLE; a job that started
    and wrote nothing yet."""
    ids = {
        "done": submit(emu, names, "cpu", rv_name("nightly", "chip")),
        "train": submit(emu, names, "gpu", rv_name("nightly", "train")),
        "split": submit(emu, names, "cpu", rv_name("nightly", "save_messages"), size=2),
        "waiting": submit(emu, names, "gpu", rv_name("nightly", "predict")),
        "silent": submit(emu, names, "cpu", rv_name("nightly", "eval")),
    }
    write_events(emu, group, stream_of(emu, ids["done"]), "Running chip command...",
                 "wrote 12 chips")
    set_job_state(emu, ids["train"], "RUNNING", ran_for=60,
                  attempts=[{"container": {"logStreamName": "raster-vision/default/first"},
                             "statusReason": RECLAIMED}])
    write_events(emu, group, "raster-vision/default/first", "epoch 1", "epoch 2")
    write_events(emu, group, stream_of(emu, ids["train"]), "epoch 1 (again)")
    write_events(emu, group, stream_of(emu, f"{ids['split']}:1"), "Saved message to bob.txt")
    set_job_state(emu, ids["waiting"], "RUNNABLE", "MISCONFIGURATION:JOB_RESOURCE_REQUIREMENT - "
                                                   "the job needs more than any instance offers")
    set_job_state(emu, ids["silent"], "RUNNING", ran_for=3)
    return ids


def test_a_job_output_from_the_stack_log_group(emu, group, ids):
    result = run_cli(emu, "logs", ids["done"])
    assert result.returncode == 0, result.stderr
    assert result.stdout == "Running chip command...\nwrote 12 chips\n"
    assert result.stderr.strip() == (
        f"job {ids['done']} (SUCCEEDED), attempt 1 of 1: log group {group}, stream "
        f"{stream_of(emu, ids['done'])}")
    stamped = run_cli(emu, "logs", ids["done"], "--timestamps")
    assert [line.split(" ", 2)[2] for line in stamped.stdout.splitlines()] == [
        "Running chip command...", "wrote 12 chips"]


def test_output_json_is_the_source_and_the_events(emu, group, ids):
    result = run_cli(emu, "--output", "json", "logs", ids["done"])
    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)
    assert {k: document[k] for k in ("job_id", "status", "attempt", "log_group")} == {
        "job_id": ids["done"], "status": "SUCCEEDED", "attempt": 1, "log_group": group}
    assert [e["message"] for e in document["events"]] == ["Running chip command...",
                                                           "wrote 12 chips"]
    assert all(datetime.fromisoformat(e["timestamp"]) for e in document["events"])
    # With --follow: one object per line, as they come.
    followed = run_cli(emu, "logs", ids["done"], "--follow", "--output", "json")
    assert followed.returncode == 0, followed.stderr
    assert [json.loads(line)["message"] for line in followed.stdout.splitlines()] == [
        "Running chip command...", "wrote 12 chips"]


def test_every_attempt_has_its_own_output(emu, ids):
    latest = run_cli(emu, "logs", ids["train"])
    assert (latest.returncode, latest.stdout) == (0, "epoch 1 (again)\n")
    assert "attempt 2 of 2" in latest.stderr
    first = run_cli(emu, "logs", ids["train"], "--attempt", "1")
    assert (first.returncode, first.stdout) == (0, "epoch 1\nepoch 2\n")
    beyond = run_cli(emu, "logs", ids["train"], "--attempt", "3")
    assert beyond.returncode == 2
    assert (f"--attempt: got 3; allowed: 1 to 2 (job {ids['train']} has made 2 attempt(s) so "
            "far)") in beyond.stderr


def test_an_array_job_needs_the_index_of_a_child(emu, ids):
    parent = run_cli(emu, "logs", ids["split"])
    assert parent.returncode == 2
    assert (f"job {ids['split']} is an array job of 2 children, each with its own log: pass "
            "--index 0 to --index 1") in parent.stderr
    child = run_cli(emu, "logs", ids["split"], "--index", "1")
    assert (child.returncode, child.stdout) == (0, "Saved message to bob.txt\n")
    beyond = run_cli(emu, "logs", ids["split"], "--index", "2")
    assert beyond.returncode == 2
    assert "--index: got 2; allowed: 0 to 1" in beyond.stderr
    plain = run_cli(emu, "logs", ids["done"], "--index", "0")
    assert plain.returncode == 2 and "is not an array job: leave --index out" in plain.stderr


def test_a_job_that_has_not_started_says_why_it_has_no_output(emu, ids):
    result = run_cli(emu, "logs", ids["waiting"])
    assert result.returncode == 1, result.stderr
    assert result.stdout == ""
    assert result.stderr.strip() == (
        f"rv-batch-cfn logs: job {ids['waiting']} is RUNNABLE (Batch says: "
        "MISCONFIGURATION:JOB_RESOURCE_REQUIREMENT - the job needs more than any instance "
        "offers): its container has not started, so it has no log stream yet; --follow waits "
        "for it")


def test_a_started_job_that_wrote_nothing_yet(emu, group, ids):
    result = run_cli(emu, "logs", ids["silent"])
    assert result.returncode == 1, result.stderr
    assert (f"log stream {stream_of(emu, ids['silent'])} is not in log group {group} (yet): "
            "the container has written nothing so far") in result.stderr


def test_an_unknown_job_is_one_clear_error(emu, ids):
    result = run_cli(emu, "logs", "00000000-0000-0000-0000-000000000000")
    assert result.returncode == 2
    assert "Traceback" not in result.stderr and result.stderr.count("error:") == 1
    assert ("no job with id '00000000-0000-0000-0000-000000000000' in region us-east-1"
            in result.stderr)


def test_follow_of_an_ended_job_prints_everything_and_stops(emu, ids):
    result = run_cli(emu, "logs", ids["done"], "--follow", "--interval", "0.1")
    assert result.returncode == 0, result.stderr
    assert result.stdout == "Running chip command...\nwrote 12 chips\n"
    assert result.stderr.strip().endswith(f"job {ids['done']} SUCCEEDED")


def test_follow_waits_for_the_start_and_follows_a_retried_attempt(emu, group, names):
    # In process: each pause moves the job on as Batch would, and the container prints.
    job = submit(emu, names, "gpu", rv_name("follow", "train"))
    current = stream_of(emu, job)
    set_job_state(emu, job, "RUNNABLE")
    first = "raster-vision/default/follow-first"

    def start():
        set_job_state(emu, job, "RUNNING", ran_for=1, attempts=[], stream=first)
        write_events(emu, group, first, "epoch 1")

    def reclaim():
        set_job_state(emu, job, "RUNNING", ran_for=1, attempts=[
            {"container": {"logStreamName": first}, "statusReason": RECLAIMED}], stream=current)
        write_events(emu, group, current, "epoch 1 (again)", "epoch 2")

    def finish():
        set_job_state(emu, job, "SUCCEEDED", ran_for=2, attempts=[
            {"container": {"logStreamName": first}, "statusReason": RECLAIMED},
            {"container": {"logStreamName": current}}])

    moves = iter([start, lambda: None, reclaim, finish, lambda: None])
    batch, logs = emu.client("batch"), emu.client("logs")
    seen = [e.text if isinstance(e, job_logs.Note) else e.message
            for e in job_logs.follow(batch, logs, job, interval=0,
                                     sleep=lambda _: next(moves)())]
    assert seen == [
        f"waiting: job {job} is RUNNABLE: its container has not started, so it has no log "
        "stream yet; --follow waits for it",
        "epoch 1",
        f"attempt 2 started: log stream {current}",
        "epoch 1 (again)", "epoch 2",
        f"job {job} SUCCEEDED",
    ]



def test_make_logs(emu, ids):
    result = run_make(emu, "logs", f"JOB={ids['train']}", "ATTEMPT=1")
    assert (result.returncode, result.stdout) == (0, "epoch 1\nepoch 2\n"), result.stderr
    child = run_make(emu, "logs", f"JOB={ids['split']}", "INDEX=1")
    assert (child.returncode, child.stdout) == (0, "Saved message to bob.txt\n"), child.stderr
    missing = run_make(emu, "logs")
    assert missing.returncode != 0 and "usage: make logs JOB=" in missing.stderr
