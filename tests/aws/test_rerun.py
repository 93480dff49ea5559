"""`rv-batch-cfn rerun` against a stack deployed in the emulator, with the on-demand GPU queue.

A run is submitted as the `batch_retry` runner submits one, then put in the states Batch leaves
a dead run in (tests/aws/pipeline_runs.py says how, and what it makes up for): the commands
before `train` SUCCEEDED, `train` FAILED after a spot reclaim on every attempt, the commands
after it FAILED because a job they depend on failed. What moto does not keep of a SubmitJob is
read with moto's request recorder.

One stack serves the module; each test submits a run of its own name.
"""

from __future__ import annotations

import json

import pytest

from rv_batch_cfn.aws.jobs import listing
from rv_batch_cfn.aws.jobs import rerun
from rv_batch_cfn.template import outputs as out
from tests.aws.batch_jobs import RECLAIMED
from tests.aws.pipeline_runs import (
    ATTEMPTS, BUCKET, DEPENDENT_FAILED, dead_run, plugin, rv_command, set_state, submit_run,
)
from tests.emulator import aws_env, deploy, make_network, outputs, recording, run_cli, set_job_state

pytestmark = pytest.mark.xdist_group("rerun")

STACK, PLAIN = "rv", "plain"
NO_CAPACITY = ("CAPACITY:INSUFFICIENT_INSTANCE_CAPACITY - Service cannot fulfill the capacity "
               "requested for instance type [g5.2xlarge]")
CANCELLED = ("Canceled by JobStateTimeLimit action due to reason: "
             "CAPACITY:INSUFFICIENT_INSTANCE_CAPACITY")


@pytest.fixture(scope="module")
def names(emu) -> dict[str, str]:
    return outputs(deploy(emu, STACK, make_network(emu), GpuOnDemandMaximumVCPUs="16",
                          S3Buckets=BUCKET, CapacityWaitTimeout="60"))


@pytest.fixture(scope="module")
def plain(emu) -> dict[str, str]:
    """A stack without the on-demand GPU queue."""
    return outputs(deploy(emu, PLAIN, make_network(emu), Prefix="plain"))


def rerun_json(emu, run: str, *args: str) -> dict:
    result = run_cli(emu, "rerun", run, "--stack", STACK, "--output", "json", *args)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def new_jobs(emu, plan: dict) -> dict[str, dict]:
    """command -> DescribeJobs of the job the rerun submitted for it."""
    ids = [s["job_id"] for s in plan["steps"]]
    described = emu.client("batch").describe_jobs(jobs=ids)["jobs"]
    by_id = {j["jobId"]: j for j in described}
    return {s["command"]: by_id[s["job_id"]] for s in plan["steps"]}


def test_rerun_submits_train_and_the_commands_after_it_in_order(emu, names, tmp_path):
    old = dead_run(emu, names, "nightly")
    with recording(emu, tmp_path / "requests.jsonl") as recorded:
        plan = rerun_json(emu, "nightly")
    assert plan["attempt"] == 2
    assert [s["command"] for s in plan["skipped_succeeded"]] == ["analyze", "chip"]
    assert [(s["command"], s["after"], s["replaces"]) for s in plan["steps"]] == [
        ("train", [], old["train"]),  # chip succeeded: its output is there, no dependency
        ("predict", ["train"], old["predict"]),
        ("eval", ["predict"], old["eval"]),
        ("bundle", ["eval"], old["bundle"])]
    jobs = new_jobs(emu, plan)
    # dependsOn rebuilt among the new jobs, in the original order
    assert jobs["train"].get("dependsOn") in (None, [])
    for command, parent in (("predict", "train"), ("eval", "predict"), ("bundle", "eval")):
        assert [d["jobId"] for d in jobs[command]["dependsOn"]] == [jobs[parent]["jobId"]]
    # spot queues as first submitted, the same job definition revision and command
    assert jobs["train"]["jobQueue"].endswith("/" + names[out.GPU_JOB_QUEUE])
    assert jobs["eval"]["jobQueue"].endswith("/" + names[out.CPU_JOB_QUEUE])
    original = emu.client("batch").describe_jobs(jobs=[old["predict"]])["jobs"][0]
    assert jobs["predict"]["jobDefinition"] == original["jobDefinition"]
    assert jobs["predict"]["container"]["command"] == rv_command("nightly", "predict", 2)
    # the run's tags, the attempt, the job replaced
    assert {k: jobs["train"]["tags"][k] for k in (listing.RUN_TAG, listing.COMMAND_TAG,
                                                  rerun.ATTEMPT_TAG, rerun.REPLACES_TAG)} == {
        listing.RUN_TAG: "nightly", listing.COMMAND_TAG: "train",
        rerun.ATTEMPT_TAG: "2", rerun.REPLACES_TAG: old["train"]}
    # what moto does not keep: the retry strategy and array size sent with each job
    sent = {r["tags"][listing.COMMAND_TAG]: r for r in recorded.submitted_jobs()}
    assert list(sent) == ["train", "predict", "eval", "bundle"]
    assert all(r["retryStrategy"] == plugin().retry_strategy(ATTEMPTS) for r in sent.values())
    assert sent["predict"]["arrayProperties"] == {"size": 2}
    assert "arrayProperties" not in sent["train"]
    assert sent["train"]["propagateTags"] is True


def test_on_demand_sends_the_gpu_commands_to_the_on_demand_queue(emu, names):
    dead_run(emu, names, "weekly")
    plan = rerun_json(emu, "weekly", "--on-demand")
    queues = {s["command"]: s["queue"] for s in plan["steps"]}
    assert queues == {"train": names[out.GPU_ON_DEMAND_JOB_QUEUE],
                      "predict": names[out.GPU_ON_DEMAND_JOB_QUEUE],
                      "eval": names[out.CPU_JOB_QUEUE], "bundle": names[out.CPU_JOB_QUEUE]}
    jobs = new_jobs(emu, plan)
    assert jobs["train"]["jobQueue"].endswith("/" + names[out.GPU_ON_DEMAND_JOB_QUEUE])


def test_jobs_shows_the_rerun_as_one_run(emu, names):
    old = dead_run(emu, names, "daily")
    plan = rerun_json(emu, "daily", "--on-demand")
    result = run_cli(emu, "jobs", "--stack", STACK, "--run", "daily", "--json", "--no-cost")
    assert result.returncode == 0, result.stderr
    runs = json.loads(result.stdout)["runs"]
    assert [r["run"] for r in runs] == ["daily"]
    ids = [j["job_id"] for j in runs[0]["jobs"]]
    assert set(ids) == set(old.values()) | {s["job_id"] for s in plan["steps"]}
    # the on-demand queue's jobs are listed with the others
    kinds = {j["job_id"]: j["kind"] for j in runs[0]["jobs"]}
    assert {kinds[s["job_id"]] for s in plan["steps"] if s["command"] == "train"} == {
        "gpu-on-demand"}


def test_train_says_whether_it_resumes_from_its_checkpoint(emu, names):
    dead_run(emu, names, "resumed")
    result = run_cli(emu, "rerun", "resumed", "--stack", STACK, "--dry-run")
    assert result.returncode == 0, result.stderr
    note = next(line for line in result.stdout.splitlines() if "train resumes" in line)
    assert f"root_uri is in s3://{BUCKET}, which S3Buckets lets jobs write" in note


def test_dry_run_submits_nothing(emu, names):
    old = dead_run(emu, names, "dry")
    before = emu.client("batch").list_jobs(jobQueue=names[out.GPU_JOB_QUEUE],
                                           jobStatus="SUCCEEDED")["jobSummaryList"]
    result = run_cli(emu, "rerun", "dry", "--stack", STACK, "--dry-run")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].startswith("rerun dry on stack rv (us-east-1): attempt 2")
    assert [line.split()[:3] for line in lines if line.startswith("  would")] == [
        ["would", "submit", "train"], ["would", "submit", "predict"],
        ["would", "submit", "eval"], ["would", "submit", "bundle"]]
    assert f"replaces {old['train']} (FAILED: {RECLAIMED})" in result.stdout
    assert lines[-1] == "Dry run: nothing submitted."
    after = emu.client("batch").list_jobs(jobQueue=names[out.GPU_JOB_QUEUE],
                                          jobStatus="SUCCEEDED")["jobSummaryList"]
    assert after == before
    again = rerun_json(emu, "dry", "--dry-run")
    assert again["attempt"] == 2 and all(s["job_id"] is None for s in again["steps"])


def test_a_run_still_running_is_refused(emu, names):
    ids = dead_run(emu, names, "busy")
    set_job_state(emu, ids["eval"], "RUNNING", ran_for=60)
    result = run_cli(emu, "rerun", "busy", "--stack", STACK)
    assert result.returncode == 2
    assert f"run 'busy' is still running: eval ({ids['eval']}, RUNNING)" in result.stderr
    assert "Nothing was submitted" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_second_rerun_is_the_next_attempt_and_a_finished_run_has_nothing_to_do(emu, names):
    dead_run(emu, names, "twice")
    first = rerun_json(emu, "twice")
    # the rerun's train is reclaimed again; its followers fail on it
    jobs = new_jobs(emu, first)
    set_job_state(emu, jobs["train"]["jobId"], "FAILED", RECLAIMED)
    for command in ("predict", "eval", "bundle"):
        set_state(emu, jobs[command]["jobId"], command, "FAILED", DEPENDENT_FAILED)
    second = rerun_json(emu, "twice")
    assert second["attempt"] == 3
    assert [(s["command"], s["replaces"]) for s in second["steps"]] == [
        (c, jobs[c]["jobId"]) for c in ("train", "predict", "eval", "bundle")]
    for command, job in new_jobs(emu, second).items():
        set_state(emu, job["jobId"], command, "SUCCEEDED")
    done = rerun_json(emu, "twice")
    assert done["steps"] == [] and done["attempt"] == 4
    result = run_cli(emu, "rerun", "twice", "--stack", STACK)
    assert "nothing to submit: every command of the run succeeded" in result.stdout


def test_a_rerun_stopped_part_way_is_finished_without_submitting_a_command_twice(
        emu, names, monkeypatch):
    dead_run(emu, names, "partial")
    session = _session(emu, monkeypatch)
    from datetime import datetime, timedelta, timezone
    since = datetime.now(timezone.utc) - timedelta(days=1)
    plan = rerun.plan(session, STACK, "partial", since)
    plan.steps = plan.steps[:2]  # as if the third SubmitJob had failed
    rerun.submit(session, plan)
    submitted = {s.command: s.job_id for s in plan.steps}
    finish = rerun_json(emu, "partial")
    assert finish["attempt"] == 2 and finish["resumed"] is True
    assert finish["already_submitted"] == submitted
    assert [(s["command"], s["after"]) for s in finish["steps"]] == [
        ("eval", ["predict"]), ("bundle", ["eval"])]
    eval_job = new_jobs(emu, finish)["eval"]
    assert [d["jobId"] for d in eval_job["dependsOn"]] == [submitted["predict"]]


def test_unknown_run_and_on_demand_without_the_queue_are_refused(emu, names, plain):
    result = run_cli(emu, "rerun", "nosuchrun", "--stack", STACK)
    assert result.returncode == 2
    assert "no jobs of run 'nosuchrun' in the queues of stack 'rv'" in result.stderr
    result = run_cli(emu, "rerun", "nightly", "--stack", "plain", "--on-demand")
    assert result.returncode == 2
    assert "has no on-demand GPU queue (its parameter GpuOnDemandMaximumVCPUs is 0)" in \
        result.stderr


def _session(emu, monkeypatch):
    """A session of the library's own, reaching the emulator as the CLI would."""
    from rv_batch_cfn.aws.clients.session import make_session

    for key, value in aws_env(emu).items():
        if key.startswith("AWS_"):
            monkeypatch.setenv(key, value)
    return make_session(None, emu.region, emu.endpoint)


def test_rv_config_writes_the_on_demand_queue(emu, names, tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    result = run_cli(emu, "rv-config", "--stack", STACK, "--write", env={"HOME": str(home)})
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[lines.index("cpu_job_def = RasterVisionCpuJobDefinition") + 1:] == [
        f"{out.GPU_ON_DEMAND_KEY} = RasterVisionGpuOnDemandJobQueue", "attempts = 3",
        f"region = {emu.region}", "train_gpus = 1", "train_vcpus = 8", "train_memory = 28000"]
    written = (home / ".rastervision" / "default").read_text()
    assert f"{out.GPU_ON_DEMAND_KEY} = {names[out.GPU_ON_DEMAND_JOB_QUEUE]}" in written
    env = run_cli(emu, "rv-config", "--stack", STACK, "--format", "env")
    assert (f"export BATCH_GPU_ON_DEMAND_JOB_QUEUE={names[out.GPU_ON_DEMAND_JOB_QUEUE]}"
            in env.stdout.splitlines())


def capacity_run(emu, names: dict, run: str) -> dict[str, str]:
    """A run whose train waits for spot capacity, and one whose train its queue cancelled."""
    ids = submit_run(emu, names, run)
    for command in ("analyze", "chip"):
        set_state(emu, ids[command], command, "SUCCEEDED")
    set_job_state(emu, ids["train"], "RUNNABLE", NO_CAPACITY)
    for command in ("predict", "eval", "bundle"):
        set_state(emu, ids[command], command, "PENDING")
    return ids


def test_jobs_names_capacity_and_suggests_rerun_on_demand(emu, names):
    waiting = capacity_run(emu, names, "starved")
    cancelled = dead_run(emu, names, "cancelled")
    set_job_state(emu, cancelled["train"], "FAILED", CANCELLED)
    result = run_cli(emu, "jobs", "--stack", STACK, "--no-cost")
    assert result.returncode == 0, result.stderr
    notes = [line for line in result.stdout.splitlines() if line.startswith("note: train")]
    assert f"note: train ({waiting['train']}) waits for instance capacity " \
           "(CAPACITY:INSUFFICIENT_INSTANCE_CAPACITY); its queue cancels it after 60 minutes " \
           "(CapacityWaitTimeout): once it has ended (terminate it, or let the time limit " \
           "cancel it), `rv-batch-cfn rerun starved --stack rv --on-demand` submits it on the " \
           "on-demand GPU queue" in notes
    assert f"note: train ({cancelled['train']}) was cancelled by its queue after waiting 60 " \
           "minutes for instance capacity (CapacityWaitTimeout): `rv-batch-cfn rerun " \
           "cancelled --stack rv --on-demand` submits it on the on-demand GPU queue" in notes
    data = json.loads(run_cli(emu, "jobs", "--stack", STACK, "--no-cost", "--json").stdout)
    assert {(c["run"], c["command"], c["state"]) for c in data["capacity"]} >= {
        ("starved", "train", "waiting"), ("cancelled", "train", "cancelled")}
    # and the suggestion works: the cancelled run goes on demand
    plan = rerun_json(emu, "cancelled", "--on-demand")
    assert plan["steps"][0]["queue"] == names[out.GPU_ON_DEMAND_JOB_QUEUE]


def test_without_the_on_demand_queue_jobs_says_how_to_add_it(emu, plain):
    ids = capacity_run(emu, plain, "plainrun")
    result = run_cli(emu, "jobs", "--stack", PLAIN, "--no-cost")
    assert result.returncode == 0, result.stderr
    assert f"note: train ({ids['train']}) waits for instance capacity " \
           "(CAPACITY:INSUFFICIENT_INSTANCE_CAPACITY); its queue never cancels it " \
           "(CapacityWaitTimeout): the stack has no on-demand GPU queue; set " \
           "GpuOnDemandMaximumVCPUs above 0" in result.stdout


def test_the_on_demand_gpu_queue_is_its_own_on_demand_environment_scaling_from_zero(
        emu, names, plain):
    batch = emu.client("batch")
    queue, = batch.describe_job_queues(jobQueues=[names[out.GPU_ON_DEMAND_JOB_QUEUE]])[
        "jobQueues"]
    order, = queue["computeEnvironmentOrder"]
    spot_queue, = batch.describe_job_queues(jobQueues=[names[out.GPU_JOB_QUEUE]])["jobQueues"]
    environments = batch.describe_compute_environments(computeEnvironments=[
        order["computeEnvironment"], spot_queue["computeEnvironmentOrder"][0][
            "computeEnvironment"]])["computeEnvironments"]
    on_demand, spot = sorted(environments, key=lambda e: e["computeEnvironmentArn"] !=
                             order["computeEnvironment"])
    resources, spot_resources = on_demand["computeResources"], spot["computeResources"]
    assert (resources["type"], resources["minvCpus"], resources["maxvCpus"]) == ("EC2", 0, 16)
    assert spot_resources["type"] == "SPOT"
    assert resources["instanceTypes"] == spot_resources["instanceTypes"]
    assert resources["launchTemplate"] == spot_resources["launchTemplate"]
    # Without GpuOnDemandMaximumVCPUs (0 by default) there is no such queue.
    assert out.GPU_ON_DEMAND_JOB_QUEUE not in plain
    queues = [q["jobQueueName"] for q in batch.describe_job_queues()["jobQueues"]]
    assert "plainRasterVisionGpuOnDemandJobQueue" not in queues


def test_doctor_checks_the_on_demand_queue_and_its_quota(emu, names, tmp_path):
    result = run_cli(emu, "doctor", "--stack", STACK, "--json", env={"HOME": str(tmp_path)})
    assert result.returncode in (0, 1), result.stderr
    messages = [f["message"] for f in json.loads(result.stdout)["findings"]]
    assert any(m.startswith("on-demand GPU compute environment ") and
               m.endswith(" is ENABLED and VALID") for m in messages), messages
    # an established account's quota (tests/moto_like_aws_quotas.py) holds the queue
    assert any(m.startswith("on-demand GPU queue on-demand vCPU quota 'Running On-Demand G and "
                            "VT instances' (L-DB2E81BA, us-east-1)") for m in messages), messages


@pytest.mark.parametrize("run", ["", "a b", "x" * 129, "run/1"])
def test_a_run_name_batch_would_not_allow_is_refused_naming_the_argument(run):
    result = run_cli(None, "rerun", run, "--stack", STACK)
    assert result.returncode == 2
    assert "argument RUN: got " in result.stderr and "letters, digits, - and _" in result.stderr


def test_a_job_described_as_aws_describes_it_is_submitted_with_all_its_overrides():
    # DescribeJobs' JobDetail as AWS documents it, with what moto leaves out (the container's
    # resourceRequirements, Batch's own AWS_BATCH_* variables, aws: tags).
    detail = {
        "jobId": "11111111-2222-4333-8444-555555555555", "jobName": "nightly-train-x",
        "jobDefinition": "arn:aws:batch:us-east-1:123456789012:job-definition/RasterVisionGpu"
                         "JobDefinition:7",
        "arrayProperties": {"size": 4, "statusSummary": {"FAILED": 4}},
        "retryStrategy": {"attempts": 3, "evaluateOnExit": [
            {"onStatusReason": "Host EC2*", "action": "RETRY"}]},
        "timeout": {"attemptDurationSeconds": 86400}, "propagateTags": True,
        "parameters": {"p": "v"},
        "tags": {listing.RUN_TAG: "nightly", listing.COMMAND_TAG: "train",
                 "team": "geo", "aws:batch:job": "x"},
        "container": {"command": rv_command("nightly", "train", 0),
                      "environment": [{"name": "RV_PROFILE", "value": "team"},
                                      {"name": "AWS_BATCH_JOB_ID", "value": "1111"}],
                      "resourceRequirements": [{"type": "GPU", "value": "4"},
                                               {"type": "VCPU", "value": "48"},
                                               {"type": "MEMORY", "value": "190000"}]}}
    job = rerun.RunJob(detail["jobId"], detail["jobName"], "train", "gpu", "q", "FAILED", "",
                       1, 0, (), detail)
    request = rerun.submit_request(job, "nightly", 2)
    assert request == {
        "jobDefinition": detail["jobDefinition"],
        "containerOverrides": {"command": detail["container"]["command"],
                               "environment": [{"name": "RV_PROFILE", "value": "team"}],
                               "resourceRequirements": detail["container"][
                                   "resourceRequirements"]},
        "arrayProperties": {"size": 4}, "retryStrategy": detail["retryStrategy"],
        "timeout": detail["timeout"], "parameters": {"p": "v"}, "propagateTags": True,
        "tags": {listing.RUN_TAG: "nightly", listing.COMMAND_TAG: "train",
                 "team": "geo", rerun.ATTEMPT_TAG: "2", rerun.REPLACES_TAG: detail["jobId"]}}
    # the same replaced job and attempt always give the same new job name
    assert rerun.job_name(job, "nightly", 2) == rerun.job_name(job, "nightly", 2) != \
        rerun.job_name(job, "nightly", 3)


def test_a_run_name_used_again_is_rerun_from_each_command_latest_job(emu, names):
    # Raster Vision run again under the same name after a rerun (its default name,
    # raster-vision, is shared by every run that keeps it): the newest jobs count.
    dead_run(emu, names, "reused")
    first = new_jobs(emu, rerun_json(emu, "reused"))
    for command, job in first.items():
        set_state(emu, job["jobId"], command, "SUCCEEDED")
    again = submit_run(emu, names, "reused")
    for command in ("analyze", "chip", "train"):
        set_state(emu, again[command], command, "SUCCEEDED")
    for command in ("predict", "eval", "bundle"):
        set_state(emu, again[command], command, "FAILED", DEPENDENT_FAILED if command != "predict"
                  else "Essential container in task exited")
    plan = rerun_json(emu, "reused", "--dry-run")
    assert plan["attempt"] == 3 and not plan["resumed"]
    assert [(s["command"], s["replaces"], s["after"]) for s in plan["steps"]] == [
        ("predict", again["predict"], []), ("eval", again["eval"], ["predict"]),
        ("bundle", again["bundle"], ["eval"])]
