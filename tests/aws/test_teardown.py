"""`rv-batch-cfn teardown` against the emulator, in-process: the plan, the refusal while a
per-project stack imports the exports, the queues disabled, the jobs cancelled or terminated,
the stack deleted, and what is left listed with the commands that remove it."""

from __future__ import annotations

import json
import shutil
import subprocess
import urllib.request

import pytest

from rv_batch_cfn import cli
from rv_batch_cfn.cli import common
from tests.aws.fake_docker import manifest_for
from tests.emulator import ROOT, deploy, deploy_project, make_network, outputs

REASON = "rv-batch-cfn teardown of stack rv"


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = cli.main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def moto_config(emulator, use_docker: bool) -> None:
    urllib.request.urlopen(urllib.request.Request(
        f"{emulator.endpoint}/moto-api/config", method="POST",
        data=json.dumps({"batch": {"use_docker": use_docker}}).encode(),
        headers={"Content-Type": "application/json"})).read()


@pytest.fixture
def batch_without_docker(emulator):
    moto_config(emulator, False)
    yield emulator
    moto_config(emulator, True)


def jobs_in_states(emulator, queue: str, states: list[str], monkeypatch) -> list[str]:
    """Jobs of `queue` in these states. moto's Batch without Docker ends every job as it is
    submitted, where AWS keeps it RUNNABLE until an instance takes it: put each back into the
    state a busy queue shows (moto's own record, in this process). With no job thread, moto's
    CancelJob and TerminateJob would then only set a flag; AWS moves such a job to FAILED, so
    the test's moto does too."""
    from moto.batch.models import Job, batch_backends

    original = Job.terminate

    def terminate(self, reason: str) -> None:
        original(self, reason)
        if not self.is_alive() and not self.job_stopped:
            self._mark_stopped(success=False)

    monkeypatch.setattr(Job, "terminate", terminate)

    batch = emulator.client("batch")
    definition = batch.describe_job_definitions(status="ACTIVE")["jobDefinitions"][0]
    backend = batch_backends["123456789012"][emulator.region]
    ids = []
    for i, state in enumerate(states):
        job_id = batch.submit_job(jobName=f"job-{i}-{state.lower()}", jobQueue=queue,
                                  jobDefinition=definition["jobDefinitionArn"])["jobId"]
        job = backend._jobs[job_id]
        job.status, job.job_stopped, job.job_stopped_reason = state, False, None
        ids.append(job_id)
    return ids


def recorded_ami(emulator, tmp_path) -> tuple[str, str]:
    """An AMI with a snapshot, recorded in packer/last-ami as create-ami records it."""
    ec2 = emulator.client("ec2")
    volume = ec2.create_volume(AvailabilityZone=f"{emulator.region}a", Size=30)["VolumeId"]
    snapshot = ec2.create_snapshot(VolumeId=volume)["SnapshotId"]
    ami = ec2.register_image(Name="rv-batch-gpu-test", RootDeviceName="/dev/xvda",
                             BlockDeviceMappings=[{"DeviceName": "/dev/xvda",
                                                   "Ebs": {"SnapshotId": snapshot}}])["ImageId"]
    # moto gives the image a snapshot of its own: the one to remove is the image's.
    [image] = ec2.describe_images(ImageIds=[ami])["Images"]
    [snapshot] = [m["Ebs"]["SnapshotId"] for m in image["BlockDeviceMappings"]]
    (tmp_path / "packer").mkdir()
    (tmp_path / "packer" / "last-ami").write_text(ami + "\n")
    return ami, snapshot


def test_teardown_ends_the_jobs_deletes_the_stack_and_lists_what_is_left(
        batch_without_docker, capsys, tmp_path, monkeypatch):
    emulator = batch_without_docker
    monkeypatch.chdir(tmp_path)  # where packer/last-ami is
    stack = deploy(emulator, "rv", make_network(emulator), GpuRepositoryName="raster-vision",
                   CpuRepositoryName="raster-vision")
    queue = outputs(stack)["GpuJobQueueName"]
    queued, running, done = jobs_in_states(emulator, queue, ["RUNNABLE", "RUNNING", "SUCCEEDED"],
                                           monkeypatch)
    emulator.client("ecr").put_image(repositoryName="raster-vision", imageTag="latest",
                                     imageManifest=json.dumps(manifest_for("rv:dev")))
    ami, snapshot = recorded_ami(emulator, tmp_path)

    code, out, err = run(capsys, "teardown", "--stack", "rv", "--yes")

    assert code == 0, err
    assert "Teardown of stack rv (CREATE_COMPLETE, us-east-1):" in out
    assert "  1. disable job queues: RasterVisionGpuJobQueue, RasterVisionCpuJobQueue" in out
    assert "  2. cancel 1 queued job(s) and terminate 1 running job(s)" in out
    assert "kept by their DeletionPolicy: GpuRepository" in out
    assert "disabled job queue RasterVisionGpuJobQueue" in out
    batch = emulator.client("batch")
    jobs = {j["jobId"]: j for j in batch.describe_jobs(jobs=[queued, running, done])["jobs"]}
    assert (jobs[queued]["status"], jobs[queued]["statusReason"]) == ("FAILED", REASON)
    assert (jobs[running]["status"], jobs[running]["statusReason"]) == ("FAILED", REASON)
    assert jobs[done]["status"] == "SUCCEEDED"  # an ended job is left alone
    assert out.index(f"cancelled job job-0-runnable ({queued}, RUNNABLE)") \
        < out.index("deleting stack rv; events:")

    cfn = emulator.client("cloudformation")
    assert cfn.describe_stacks(StackName=stack["StackId"])["Stacks"][0]["StackStatus"] == \
        "DELETE_COMPLETE"
    assert "DELETE_COMPLETE" in out and "stack rv is DELETE_COMPLETE" in out
    assert batch.describe_job_queues()["jobQueues"] == []

    left = out[out.index("Left behind"):]
    assert "  ECR repository raster-vision: 1 image(s)" in left
    assert ("    aws ecr delete-repository --region us-east-1 --repository-name raster-vision "
            "--force") in left
    assert f"  AMI {ami}: built by create-ami (recorded in packer/last-ami), with snapshot(s) " \
           f"{snapshot}" in left
    assert f"    aws ec2 deregister-image --region us-east-1 --image-id {ami}" in left
    assert f"    aws ec2 delete-snapshot --region us-east-1 --snapshot-id {snapshot}" in left
    assert "log group" not in left  # deleted with the stack (DeletionPolicy Delete)


def test_stacks_importing_the_exports_are_named_first_and_nothing_changes(emulator, capsys):
    deploy(emulator, "rv", make_network(emulator))
    deploy_project(emulator, "rv-alice", MainStackName="rv", Namespace="alice",
                   RepositoryName="raster-vision")

    code, out, err = run(capsys, "teardown", "--stack", "rv", "--yes")

    assert code == 2
    assert out.splitlines()[1] == "  ! rv-alice imports its export rv-JobRoleArn: tear it down first"
    assert "CloudFormation refuses to delete stack 'rv' while rv-alice import its exports; tear " \
           "them down first: rv-batch-cfn teardown --stack rv-alice. Nothing was changed" in err
    cfn, batch = emulator.client("cloudformation"), emulator.client("batch")
    assert cfn.describe_stacks(StackName="rv")["Stacks"][0]["StackStatus"] == "CREATE_COMPLETE"
    assert {q["state"] for q in batch.describe_job_queues()["jobQueues"]} == {"ENABLED"}

    # In the order it says: the project stack, then the main one.
    assert run(capsys, "teardown", "--stack", "rv-alice", "--yes")[0] == 0
    code, out, err = run(capsys, "--output", "json", "teardown", "--stack", "rv", "--yes")
    assert code == 0, err
    data = json.loads(out)
    assert data["deleted"] is True and data["plan"]["importers"] == {}
    assert data["leftovers"] == []
    assert "stack rv is DELETE_COMPLETE" in err  # progress on standard error with JSON


def test_asks_and_refuses_without_a_terminal(emulator, capsys, monkeypatch):
    deploy(emulator, "rv", make_network(emulator))
    cfn = emulator.client("cloudformation")

    monkeypatch.setattr(common, "stdin_is_terminal", lambda: False)
    code, out, err = run(capsys, "teardown", "--stack", "rv")
    assert code == 2 and out == ""
    assert "standard input is not a terminal, so teardown cannot ask before deleting the stack" \
           in err and "--dry-run to only show what it would do" in err

    code, out, err = run(capsys, "teardown", "--stack", "rv", "--dry-run")
    assert code == 0 and "  3. delete the stack and its " in out
    assert out.rstrip().endswith("Dry run: nothing was changed.")

    monkeypatch.setattr(common, "stdin_is_terminal", lambda: True)
    monkeypatch.setattr("builtins.input", lambda question: print(question) or "n")
    code, out, err = run(capsys, "teardown", "--stack", "rv")
    assert code == 1
    assert "Delete stack rv as above? [y/N]" in out and "Cancelled: nothing was changed." in out
    assert cfn.describe_stacks(StackName="rv")["Stacks"][0]["StackStatus"] == "CREATE_COMPLETE"


def test_a_missing_stack_is_one_error(emulator, capsys):
    code, out, err = run(capsys, "teardown", "--stack", "nothing-here", "--yes")
    assert code == 2 and out == ""
    assert "stack 'nothing-here' not found in region us-east-1" in err


def test_make_teardown():
    make = shutil.which("make")
    if make is None:
        pytest.skip("make is not installed")
    done = subprocess.run([make, "-s", "-n", "-o", ".venv/bin/.installed", "teardown",
                           "STACK=rv", "YES=1", "SETTINGS_MK=/nonexistent"],
                          capture_output=True, text=True, cwd=ROOT)
    assert done.returncode == 0, done.stderr
    [command] = [line for line in done.stdout.splitlines() if " teardown --stack " in line]
    assert command.split()[1:] == ["teardown", "--stack", "'rv'", "--yes"]
