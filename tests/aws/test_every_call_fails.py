"""A fault at every AWS call: each command that changes AWS in several steps is run once to
record its calls, then once per call with that call failing, then again with nothing failing.

Each failed run must exit as documented (2: an error the user can fix, here by running again),
with one message naming the step that failed and the state it left, no traceback, and nothing
written locally; the run after it must complete the work. The faults take turns: throttling
(what a call that kept being throttled raises once botocore's retries are spent), AccessDenied,
and a connection reset; botocore's `before-call` event hands the command the failure instead of
sending the request, so the emulator never sees the failed call.

Adding a command is one entry in COMMANDS: how to set the account up (and, when the runs share
one setup, how to bring it back), its arguments, and how to tell the work is done. Run with -s
to see each call, its fault and the message it gave.
"""

from __future__ import annotations

import json
import os
import re
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Optional

import pytest

from rv_batch_cfn.aws.jobs import listing
from rv_batch_cfn.aws.jobs import rerun
from tests import cli_runner
from tests import moto_like_aws_alerts as stand_in
from tests import moto_like_aws_quotas as quota_stand_in
from tests.aws import fake_docker, pipeline_runs
from tests.aws.aws_calls import Calls
from tests.emulator import Emulator, aws_env, deploy, make_network, outputs
from tests.hostile import snapshot

SMALL_TEMPLATE = "Resources:\n  Logs:\n    Type: AWS::Logs::LogGroup\n"
ERROR = ": error: "
# What a message says of the state a failure left.
STATE = re.compile(r"[Nn]othing was|was executed|may have|went through|is deleted|goes on in AWS"
                   r"|disabled|terminated|had ended|still|left")


# ---- the faults

def throttled(operation: str):
    return _error(400, "ThrottlingException", "Rate exceeded")


def denied(operation: str):
    return _error(403, "AccessDenied", f"User: arn:aws:iam::123456789012:user/dev is not "
                                       f"authorized to perform: {operation}")


def reset(operation: str):
    import botocore.exceptions

    raise botocore.exceptions.ConnectionClosedError(
        endpoint_url="https://aws.example/", error="Connection reset by peer")


def _error(status: int, code: str, message: str):
    from botocore.awsrequest import AWSResponse

    return (AWSResponse("https://aws.example/", status, {}, None),
            {"Error": {"Code": code, "Message": message},
             "ResponseMetadata": {"HTTPStatusCode": status}})


FAULTS = [throttled, denied, reset]


# ---- the commands

@dataclass
class Command:
    """How to run one command against a prepared account, and how to tell its work is done."""

    name: str
    # Sets the account up; returns the arguments. Called before every faulty run, on an empty
    # account, unless `restore` is given: then once, and `restore` undoes the work before each
    # faulty run (for a setup that takes long, such as a stack of the whole template).
    prepare: Callable[[Emulator, Path], list[str]]
    done: Callable[[Emulator, Path], None]
    restore: Optional[Callable[[Emulator, Path], None]] = None
    env: Callable[[Path], dict[str, str]] = field(default=lambda folder: {})
    exit_codes: tuple[int, ...] = (2,)


def prepare_deploy(emu: Emulator, folder: Path) -> list[str]:
    (folder / "small.yml").write_text(SMALL_TEMPLATE)
    return ["deploy", "--stack", "rv", "--yes", "--template", "small.yml"]


def deployed(emu: Emulator, folder: Path) -> None:
    # After a cut-off ExecuteChangeSet the stack is REVIEW_IN_PROGRESS, and the next deploy
    # makes a CREATE change set on it. AWS creates that same stack; moto makes a second stack
    # of the name beside it. So: some stack rv is complete.
    statuses = [s["StackStatus"] for s in
                emu.client("cloudformation").list_stacks()["StackSummaries"]
                if s["StackName"] == "rv"]
    assert "CREATE_COMPLETE" in statuses or "UPDATE_COMPLETE" in statuses, statuses


def prepare_teardown(emu: Emulator, folder: Path) -> list[str]:
    emu.client("cloudformation").create_stack(StackName="rv", TemplateBody=SMALL_TEMPLATE)
    return ["teardown", "--stack", "rv", "--yes"]


def torn_down(emu: Emulator, folder: Path) -> None:
    cfn = emu.client("cloudformation")
    live = [s for s in cfn.list_stacks()["StackSummaries"]
            if s["StackName"] == "rv" and s["StackStatus"] != "DELETE_COMPLETE"]
    assert live == []


def prepare_publish(emu: Emulator, folder: Path) -> list[str]:
    fake_docker.install(folder / "bin")
    stack = deploy(emu, "rv", make_network(emu), GpuRepositoryName="rv-gpu",
                   CpuRepositoryName="rv-cpu")
    assert outputs(stack)
    return ["publish-container", "--stack", "rv", "--kind", "all",
            "--cpu-image", "rv-local-cpu:dev", "--gpu-image", "rv-local-gpu:dev",
            "--tag", "v7"]


def published(emu: Emulator, folder: Path) -> None:
    ecr = emu.client("ecr")
    for repository in ("rv-gpu", "rv-cpu"):
        ecr.describe_images(repositoryName=repository, imageIds=[{"imageTag": "v7"}])


def unpublish(emu: Emulator, folder: Path) -> None:
    # moto refuses a second PutImage of the same tag and manifest (ECR accepts it as a no-op).
    ecr = emu.client("ecr")
    for repository in ("rv-gpu", "rv-cpu"):
        ecr.batch_delete_image(repositoryName=repository, imageIds=[{"imageTag": "v7"}])


def docker_env(folder: Path) -> dict[str, str]:
    return {"PATH": f"{folder / 'bin'}{os.pathsep}{os.environ['PATH']}",
            "FAKE_DOCKER_LOG": str(folder / "docker-calls.jsonl"),
            "FAKE_DOCKER_IMAGES": "rv-local-cpu:dev,rv-local-gpu:dev"}


def prepare_smoke_test(emu: Emulator, folder: Path) -> list[str]:
    # Batch ends the jobs without Docker (the stand-in moves each a status per look, and writes
    # its log): tests/moto_like_aws_alerts.py.
    configure_batch(emu.endpoint, use_docker=False)
    stand_in.BATCH.outcome = stand_in.SUCCEED
    deploy(emu, "rv", make_network(emu))
    return ["smoke-test", "--stack", "rv", "--interval", "0.02"]


def smoke_tested(emu: Emulator, folder: Path) -> None:
    batch = emu.client("batch")
    jobs = [j for q in batch.describe_job_queues()["jobQueues"]
            for j in batch.list_jobs(jobQueue=q["jobQueueName"], jobStatus="SUCCEEDED",
                                     filters=[{"name": "JOB_NAME",
                                               "values": ["rv-smoke-test-*"]}]
                                     )["jobSummaryList"]]
    assert {j["jobName"].split("-")[3] for j in jobs} >= {"gpu", "cpu"}, jobs


def prepare_request_quota(emu: Emulator, folder: Path) -> list[str]:
    # A new account (tests/moto_like_aws_quotas.py): 0 vCPUs of G and VT spot and 5 of Standard
    # spot, both short of the stack's MaximumVCPUs, so two requests are to be filed.
    deploy(emu, "rv", make_network(emu))
    quota_stand_in.new_account(quota_stand_in.quotas(emu))
    return ["request-quota", "--stack", "rv", "--kind", "all", "--yes"]


def quotas_requested(emu: Emulator, folder: Path) -> None:
    filed = [r["QuotaCode"] for r in quota_stand_in.quotas(emu).quota_requests]
    assert sorted(filed) == ["L-34B43A08", "L-3819A6DF"], filed  # each once, none twice


def withdraw_requests(emu: Emulator, folder: Path) -> None:
    backend = quota_stand_in.quotas(emu)
    backend.quota_requests.clear()
    backend.quota_request_calls.clear()


def prepare_rerun(emu: Emulator, folder: Path) -> list[str]:
    # A dead run (tests/aws/pipeline_runs.py): train reclaimed on every attempt, the commands
    # after it failed on it; rerun submits four jobs.
    configure_batch(emu.endpoint, use_docker=False)
    names = outputs(deploy(emu, "rv", make_network(emu), GpuOnDemandMaximumVCPUs="16"))
    pipeline_runs.dead_run(emu, names, "nightly")
    return ["rerun", "nightly", "--stack", "rv", "--on-demand"]


def reran(emu: Emulator, folder: Path) -> None:
    # Each command of the plan submitted once for attempt 2, none twice, after the right job.
    jobs = rerun_jobs(emu)
    commands = [j["tags"][listing.COMMAND_TAG] for j in jobs]
    assert sorted(commands) == ["bundle", "eval", "predict", "train"], commands
    ids = {j["tags"][listing.COMMAND_TAG]: j["jobId"] for j in jobs}
    for job in jobs:
        parents = [d["jobId"] for d in job.get("dependsOn") or ()]
        command = job["tags"][listing.COMMAND_TAG]
        expected = {"train": [], "predict": [ids["train"]], "eval": [ids["predict"]],
                    "bundle": [ids["eval"]]}[command]
        assert parents == expected, (command, parents)


def rerun_jobs(emu: Emulator) -> list[dict]:
    """The jobs `rerun` submitted (tagged with a run attempt), in every queue of the stack."""
    batch = emu.client("batch")
    ids = [s["jobId"] for q in batch.describe_job_queues()["jobQueues"]
           for s in batch.list_jobs(jobQueue=q["jobQueueName"], filters=[
               {"name": "AFTER_CREATED_AT", "values": ["0"]}])["jobSummaryList"]
           if ":" not in s["jobId"]]
    found = batch.describe_jobs(jobs=ids)["jobs"] if ids else []
    return [j for j in found if rerun.ATTEMPT_TAG in (j.get("tags") or {})]


def forget_rerun(emu: Emulator, folder: Path) -> None:
    # AWS cannot delete a job; the emulator runs in this process, so the jobs a rerun submitted
    # are removed from moto's Batch, leaving the dead run as it was before.
    from moto.batch.models import batch_backends

    backend = batch_backends[emu.client("sts").get_caller_identity()["Account"]][emu.region]
    for job in rerun_jobs(emu):
        for job_id in [job["jobId"], *(f"{job['jobId']}:{i}" for i in range(8))]:
            gone = backend._jobs.pop(job_id, None)
            if gone is not None and gone in gone.job_queue.jobs:
                gone.job_queue.jobs.remove(gone)


def configure_batch(endpoint: str, use_docker: bool) -> None:
    request = urllib.request.Request(f"{endpoint}/moto-api/config", method="POST",
                                     data=json.dumps({"batch": {"use_docker": use_docker}})
                                     .encode())
    urllib.request.urlopen(request).read()


COMMANDS = [
    Command("deploy", prepare_deploy, deployed),
    Command("teardown", prepare_teardown, torn_down),
    Command("publish-container", prepare_publish, published, restore=unpublish, env=docker_env),
    # Runs after a fault start from where the last left the account: the jobs of earlier runs
    # are ended (succeeded, or terminated by smoke-test's own clean-up), and a new run submits
    # new ones.
    Command("smoke-test", prepare_smoke_test, smoke_tested, restore=lambda emu, folder: None),
    Command("request-quota", prepare_request_quota, quotas_requested,
            restore=withdraw_requests),
    Command("rerun", prepare_rerun, reran, restore=forget_rerun),
]


# ---- the test

def run(emu: Emulator, folder: Path, argv: list[str], command: Command):
    env = aws_env(emu, HOME=str(folder), AWS_EC2_METADATA_DISABLED="true",
                  **command.env(folder))
    # fds: what the command's children (docker) print is captured too.
    return cli_runner.run(argv, env=env, cwd=folder, fds=True)


def local_files(folder: Path) -> dict:
    """What the command could have written: the folder, less what the test itself keeps there
    (the stand-in docker and its log)."""
    return {name: data for name, data in snapshot(folder).items()
            if not name.startswith(("bin", "docker-calls"))}


@pytest.fixture
def batch_outcome(emulator):
    """What smoke-test's setup changes in the emulator, put back for the tests after it."""
    yield
    stand_in.BATCH.outcome = None
    configure_batch(emulator.endpoint, use_docker=True)


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: c.name)
def test_a_fault_at_every_call(emulator, tmp_path, monkeypatch, batch_outcome, command):
    calls = Calls(monkeypatch)
    folder = tmp_path / "work"
    folder.mkdir()
    argv = command.prepare(emulator, folder)
    calls.start()
    first = run(emulator, folder, argv, command)
    assert first.returncode == 0, first.stderr
    recorded = list(calls.made)
    assert recorded, "the command made no AWS call"

    report = []
    for index, name in enumerate(recorded):
        fault = FAULTS[index % len(FAULTS)]
        if command.restore:
            command.restore(emulator, folder)
        else:
            emulator.reset()
            argv = command.prepare(emulator, folder)
        before = local_files(folder)
        calls.start(fail_at=index, fault=fault)
        failed = run(emulator, folder, argv, command)
        assert calls.failed == name, (index, name, calls.made)
        where = f"{command.name}: call {index + 1} of {len(recorded)}, {name}, {fault.__name__}"
        assert failed.returncode in command.exit_codes, (where, failed.stdout, failed.stderr)
        assert "Traceback" not in failed.stderr, where
        assert failed.stderr.count(ERROR) == 1, (where, failed.stderr)
        message = failed.stderr[failed.stderr.index(ERROR) + len(ERROR):].strip()
        report.append(f"{index + 1}. {name} ({fault.__name__}): {message}")
        assert STATE.search(message), (where, message)
        assert local_files(folder) == before, where  # nothing written, nothing half-written

        calls.start()
        again = run(emulator, folder, argv, command)
        assert again.returncode == 0, (where, again.stderr)
        command.done(emulator, folder)
    print(f"\n{command.name}: {len(recorded)} calls, each failed in turn:\n" + "\n".join(report))
    assert len(report) == len(recorded) > 0, f"{command.name}: {len(report)} calls failed in turn"
