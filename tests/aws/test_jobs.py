"""`rv-batch-cfn jobs` against a stack deployed in the emulator, with jobs in several states.

The jobs are submitted the way Raster Vision's runners name (and `batch_retry` tags) them, then
put in the states a real queue has (moto's Batch without Docker completes every job at once:
tests/emulator.py `set_job_state` says how). One stack and one set of jobs serve the module;
the tests only read them, except the --watch test, which has a stack of its own.
"""

from __future__ import annotations

import json
import re
from datetime import datetime, timedelta, timezone

import pytest
from botocore.stub import Stubber

from rv_batch_cfn.aws.jobs import listing as account_jobs
from rv_batch_cfn.aws.clients.session import make_session
from tests.aws.batch_jobs import RECLAIMED, run_make, rv_name, submit
from tests.emulator import (
    aws_env, deploy, make_network, outputs, run_cli,
    set_job_state,
)

# One stack for the module: its tests run together on one worker (setup.cfg: --dist loadgroup).
pytestmark = pytest.mark.xdist_group("jobs")

STACK, EMPTY = "rv", "rv-empty"
NO_CAPACITY = ("CAPACITY:INSUFFICIENT_INSTANCE_CAPACITY - Service cannot fulfill the capacity "
               "requested for instance type [g5.2xlarge]")
EXITED = "Essential container in task exited"
MINUTE, HOUR, DAY = 60, 3600, 86400


@pytest.fixture(scope="module")
def ids(emu) -> dict[str, str]:
    """A stack whose queues hold: run `nightly` (tagged) with a finished array job, a GPU job
    running its second attempt after a spot reclaim, and a GPU job stuck RUNNABLE; run
    `adhoc` (named only) with a failed job; a job of no run; and a run three days old."""
    network = make_network(emu)
    names = outputs(deploy(emu, STACK, network))
    deploy(emu, EMPTY, network, Prefix="empty")
    ids = {
        "save": submit(emu, names, "cpu", rv_name("nightly", "save_messages"), True, size=2),
        "train": submit(emu, names, "gpu", rv_name("nightly", "train"), True),
        "predict": submit(emu, names, "gpu", rv_name("nightly", "predict"), True),
        "chip": submit(emu, names, "cpu", rv_name("adhoc", "chip")),
        "hello": submit(emu, names, "cpu", "hello"),
        "old": submit(emu, names, "gpu", rv_name("old", "train")),
    }
    set_job_state(emu, ids["save"], "SUCCEEDED", created_ago=40 * MINUTE, ran_for=5 * MINUTE)
    set_job_state(emu, ids["train"], "RUNNING", created_ago=39 * MINUTE, ran_for=20 * MINUTE,
                  attempts=[{"container": {"logStreamName": "first-attempt"},
                             "statusReason": RECLAIMED}])
    set_job_state(emu, ids["predict"], "RUNNABLE", NO_CAPACITY, created_ago=38 * MINUTE)
    set_job_state(emu, ids["chip"], "FAILED", EXITED, created_ago=2 * HOUR, ran_for=MINUTE,
                  attempts=[{"container": {"logStreamName": "chip-stream", "exitCode": 1}}])
    set_job_state(emu, ids["hello"], "SUCCEEDED", created_ago=3 * HOUR, ran_for=7)
    set_job_state(emu, ids["old"], "SUCCEEDED", created_ago=3 * DAY, ran_for=HOUR)
    return ids


@pytest.fixture
def jobs_json(emu, ids):
    """`rv-batch-cfn jobs --stack rv --json ARGS`, as data."""
    def run(*args: str) -> dict:
        result = run_cli(emu, "jobs", "--stack", STACK, "--json", *args)
        assert result.returncode == 0, result.stderr
        return json.loads(result.stdout)
    return run


def table(emu, *args: str) -> list[str]:
    result = run_cli(emu, "jobs", "--stack", STACK, *args)
    assert result.returncode == 0, result.stderr
    return result.stdout.splitlines()


def test_jobs_are_grouped_by_run_most_recent_first(jobs_json, ids):
    report = jobs_json()
    assert [(r["run"], [j["command"] for j in r["jobs"]]) for r in report["runs"]] == [
        ("nightly", ["save_messages", "train", "predict"]),  # tags, in submission order
        ("adhoc", ["chip"]),  # the job name
        ("", ["hello"]),  # neither
    ]
    by_id = {j["job_id"]: j for r in report["runs"] for j in r["jobs"]}
    assert ids["old"] not in by_id  # three days old; --since defaults to one day
    assert {k: by_id[ids["train"]][k] for k in ("kind", "status", "attempts", "stuck")} == {
        "kind": "gpu", "status": "RUNNING", "attempts": 2, "stuck": False}
    assert by_id[ids["train"]]["duration_seconds"] == pytest.approx(20 * MINUTE, abs=30)
    assert by_id[ids["save"]]["array_size"] == 2
    assert by_id[ids["save"]]["array_states"] == {"SUCCEEDED": 2}
    assert by_id[ids["save"]]["queue"] == report["queues"]["cpu"]
    predict = by_id[ids["predict"]]
    assert (predict["status"], predict["reason"], predict["stuck"], predict["started"]) == (
        "RUNNABLE", NO_CAPACITY, True, None)
    chip = by_id[ids["chip"]]
    assert (chip["status"], chip["reason"]) == ("FAILED", f"{EXITED}; exit code 1")
    assert chip["duration_seconds"] == pytest.approx(MINUTE, abs=30)
    assert set(report["queues"]) == {"gpu", "cpu"}


def test_the_table_shows_each_run_with_its_jobs_and_points_stuck_jobs_to_doctor(emu, ids):
    lines = table(emu)
    assert lines[0].startswith(f"stack {STACK} (us-east-1), queues RasterVisionGpuJobQueue (gpu), "
                               "RasterVisionCpuJobQueue (cpu): jobs created since ")
    titles = [line for line in lines
              if line and not line.startswith(("  ", "stack", "note", "cost:", "spend rate now:"))]
    # Each title ends with the run's estimated cost, and the rate of its jobs running now when
    # one runs (tests/aws/test_costs.py checks them).
    assert all(re.search(r", estimated cost \$\d+\.\d+(, \$\d+\.\d+/h now)?$", title)
               for title in titles), titles
    assert [title.endswith("/h now") for title in titles] == [True, False, False]
    titles = [title.rsplit(", estimated cost ", 1)[0] for title in titles]
    assert titles == ["run nightly: 3 jobs (1 RUNNABLE, 1 RUNNING, 1 SUCCEEDED)",
                      "run adhoc: 1 job (1 FAILED)", "jobs of no pipeline run: 1 job (1 SUCCEEDED)"]
    header = lines[[line.startswith(titles[0]) for line in lines].index(True) + 1].split()
    assert header[:4] == ["COMMAND", "QUEUE", "STATUS", "ATTEMPTS"]
    rows = {line.split()[0]: line.split() for line in lines if line.startswith("  ")
            and not line.startswith("  COMMAND")}
    assert rows["train"][1:4] == ["gpu", "RUNNING", "2"]
    assert " ".join(rows["save_messages"]).endswith("[array of 2: 2 SUCCEEDED]")
    assert rows["chip"][1:4] == ["cpu", "FAILED", "1"]
    assert ids["predict"] in rows["predict"] and rows["predict"][4:6] == ["-", "-"]
    assert " ".join(rows["chip"]).endswith(f"{ids['chip']} {EXITED}; exit code 1")
    notes = [line for line in lines if line.startswith("note:")]
    assert notes[0].startswith(f"note: predict ({ids['predict']}) is RUNNABLE, created ")
    assert notes[0].endswith(f"UTC; Batch says: {NO_CAPACITY}")
    assert f"`rv-batch-cfn doctor --stack {STACK}`" in notes[1]


def test_run_status_and_since_narrow_the_jobs(emu, ids, jobs_json):
    nightly = jobs_json("--run", "nightly", "--status", "running,runnable")
    assert [j["job_id"] for r in nightly["runs"] for j in r["jobs"]] == [ids["train"],
                                                                         ids["predict"]]
    assert (nightly["run"], nightly["statuses"]) == ("nightly", ["RUNNING", "RUNNABLE"])
    failed = jobs_json("--status", "FAILED")
    assert [j["job_id"] for r in failed["runs"] for j in r["jobs"]] == [ids["chip"]]
    recent = jobs_json("--since", "90m")
    assert [r["run"] for r in recent["runs"]] == ["nightly"]
    week = jobs_json("--since", "4d")
    assert [r["run"] for r in week["runs"]][-1] == "old"
    since = (datetime.now(timezone.utc) - timedelta(days=4)).strftime("%Y-%m-%d")
    by_date = jobs_json("--since", since)
    assert [[j["job_id"] for j in r["jobs"]] for r in by_date["runs"]] == [
        [j["job_id"] for j in r["jobs"]] for r in week["runs"]]
    none = table(emu, "--run", "weekly", "--status", "FAILED")
    assert none[-1] == "no jobs of run weekly in state FAILED in that time"


def test_an_empty_queue_is_no_jobs_not_an_error(emu, ids):
    result = run_cli(emu, "jobs", "--stack", EMPTY)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[1:] == ["no jobs in that time"]
    assert "emptyRasterVisionGpuJobQueue (gpu)" in result.stdout
    report = json.loads(run_cli(emu, "jobs", "--stack", EMPTY, "--json").stdout)
    assert report["runs"] == []


@pytest.mark.parametrize("args, fragments", [
    (["--stack", "nope"], ["stack 'nope' not found in region us-east-1"]),
    (["--stack", STACK, "--status", "DONE,running"],
     ["--status: got 'DONE'; allowed: SUBMITTED, PENDING, RUNNABLE"]),
    (["--stack", STACK, "--since", "yesterday"],
     ["--since: got 'yesterday'; allowed: a duration such as 30m"]),
])
def test_bad_input_is_one_clear_error(emu, ids, args, fragments):
    result = run_cli(emu, "jobs", *args)
    assert result.returncode == 2, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    assert result.stderr.count("error:") == 1, result.stderr
    for fragment in fragments:
        assert fragment in result.stderr


def test_watch_ends_at_once_when_every_shown_job_has_ended(emu, ids):
    failed = run_cli(emu, "jobs", "--stack", STACK, "--run", "adhoc", "--watch")
    assert failed.returncode == 1, failed.stderr  # a failed job: 1, for scripts that wait
    assert "run adhoc: 1 job (1 FAILED)" in failed.stdout
    assert failed.stderr.strip() == "every job shown has ended"
    done = run_cli(emu, "jobs", "--stack", STACK, "--status", "SUCCEEDED", "--watch", "--json")
    assert done.returncode == 0, done.stderr
    assert [json.loads(line)["runs"][0]["run"] for line in done.stdout.splitlines()] == [
        "nightly"]


def test_watch_refreshes_until_the_running_jobs_end(emu, ids, monkeypatch):
    # A stack of its own: the jobs change state here. In process, so that the pause between
    # refreshes can move the jobs on as Batch would.
    names = outputs(deploy(emu, "rv-watch", make_network(emu), Prefix="watch"))
    first = submit(emu, names, "cpu", rv_name("w", "chip"), True)
    second = submit(emu, names, "gpu", rv_name("w", "train"), True)
    set_job_state(emu, first, "RUNNING", ran_for=10)
    set_job_state(emu, second, "RUNNABLE")
    for key, value in aws_env(emu).items():
        monkeypatch.setenv(key, value)
    session = make_session()
    since = datetime.now(timezone.utc) - timedelta(hours=1)
    moves = iter([lambda: set_job_state(emu, first, "SUCCEEDED", ran_for=20),
                  lambda: set_job_state(emu, second, "FAILED", "Essential container in task "
                                                               "exited", ran_for=5)])
    pauses = []

    def pause(seconds):
        pauses.append(seconds)
        next(moves)()

    reports = list(account_jobs.watch(
        lambda: account_jobs.read_jobs(session, "rv-watch", since), 7, sleep=pause))
    assert [[j.status for j in r.jobs] for r in reports] == [
        ["RUNNING", "RUNNABLE"], ["SUCCEEDED", "RUNNABLE"], ["SUCCEEDED", "FAILED"]]
    assert pauses == [7, 7]


def test_every_page_of_list_jobs_is_read():
    # moto returns ListJobs in one page; AWS pages it (nextToken). A real client with botocore's
    # Stubber serves two pages, and each request must carry the creation-time filter.
    import boto3

    batch = boto3.client("batch", region_name="us-east-1", aws_access_key_id="x",
                         aws_secret_access_key="x")
    since = datetime(2025, 1, 1, tzinfo=timezone.utc)
    ms = int(since.timestamp() * 1000)
    request = {"jobQueue": "q", "filters": [{"name": "AFTER_CREATED_AT", "values": [str(ms)]}]}

    def summary(job_id: str, created: int) -> dict:
        return {"jobId": job_id, "jobName": job_id, "createdAt": created, "status": "RUNNING"}

    with Stubber(batch) as stub:
        stub.add_response("list_jobs", {"jobSummaryList": [summary("a", ms + 1)],
                                        "nextToken": "page-2"}, request)
        stub.add_response("list_jobs", {"jobSummaryList": [summary("b", ms + 2),
                                                           summary("b:0", ms + 2)]},
                          {**request, "nextToken": "page-2"})
        found = account_jobs.list_queue(batch, "q", since)
    assert [s["jobId"] for s in found] == ["a", "b"]  # an array child is its parent's


def test_make_jobs(emu, ids):
    result = run_make(emu, "jobs", f"STACK={STACK}", "RUN=adhoc", "STATUS=failed", "JSON=1")
    assert result.returncode == 0, result.stderr
    assert [j["job_id"] for r in json.loads(result.stdout)["runs"] for j in r["jobs"]] == [
        ids["chip"]]
    missing = run_make(emu, "jobs")
    assert missing.returncode != 0 and "usage: make jobs STACK=" in missing.stderr
