"""A Raster Vision pipeline run in the emulator, as the `batch_retry` runner submits it, and
the state Batch leaves a dead run in (`rerun`'s tests and its fault test).

The run is submitted with the runner's own `job_tags` and `retry_strategy`, Raster Vision's
container command, a `dependsOn` chain and array jobs for split commands. moto's Batch without
Docker completes every job at once and never fails one; the server runs in this process, so the
states are set on moto's own jobs (tests/emulator.py, `set_job_state`), with the status reasons
AWS gives.
"""

from __future__ import annotations

from rv_batch_cfn.template import outputs as out
from tests.aws.batch_jobs import RECLAIMED
from tests.emulator import set_job_state

DEPENDENT_FAILED = "Dependent Job failed"  # Batch's status reason for a job whose parent failed
ATTEMPTS = 3
BUCKET = "rv-experiments"
# Raster Vision's commands of a semantic segmentation run, GPU commands on the GPU queue, and
# the split commands (chip, predict) as arrays.
COMMANDS = (("analyze", "cpu", 0), ("chip", "cpu", 2), ("train", "gpu", 0),
            ("predict", "gpu", 2), ("eval", "cpu", 0), ("bundle", "cpu", 0))


def rv_command(run: str, command: str, splits: int) -> list[str]:
    """The container command the stock runner builds (AWSBatchRunner.build_cmd)."""
    cmd = ["python", "-m", "rastervision.pipeline.cli", "run_command",
           f"s3://{BUCKET}/{run}/pipeline-config.json", command, "--runner", "batch"]
    return cmd + (["--num-splits", str(splits)] if splits else [])


def plugin():
    """The batch_retry runner's module (Raster Vision loads its plugins first, this one too)."""
    import rastervision.pipeline  # noqa: F401
    from rastervision.batch_retry import runner

    return runner


def submit_run(emu, names: dict, run: str) -> dict[str, str]:
    """The run as `rastervision run batch_retry` submits it: command -> job id."""
    job_tags, retry_strategy = plugin().job_tags, plugin().retry_strategy

    batch = emu.client("batch")
    ids: dict[str, str] = {}
    parent: list[str] = []
    for command, kind, splits in COMMANDS:
        queue, definition = (names[o] for o in out.KIND_OUTPUTS[kind])
        request = dict(jobName=f"{run}-{command}-{'0' * 8}-0000-4000-8000-{len(ids):012d}",
                       jobQueue=queue, jobDefinition=definition,
                       containerOverrides={"command": rv_command(run, command, splits)},
                       retryStrategy=retry_strategy(ATTEMPTS), tags=job_tags(run, command),
                       propagateTags=True)
        if parent:
            request["dependsOn"] = [{"jobId": job_id} for job_id in parent]
        if splits:
            request["arrayProperties"] = {"size": splits}
        ids[command] = batch.submit_job(**request)["jobId"]
        parent = [ids[command]]
    return ids


SPLITS = {command: splits for command, _, splits in COMMANDS}


def set_state(emu, job_id: str, command: str, status: str, reason: str = None, **when) -> None:
    """set_job_state, for an array job's children too (Batch fails them with their parent; moto
    reports an array job by its children)."""
    for index in range(SPLITS[command]):
        set_job_state(emu, f"{job_id}:{index}", status, reason)
    set_job_state(emu, job_id, status, reason, **when)


def dead_run(emu, names: dict, run: str) -> dict[str, str]:
    """A run whose train was reclaimed on every attempt, and whose later commands failed on it."""
    ids = submit_run(emu, names, run)
    minutes = iter(range(60, 0, -5))
    for command in ("analyze", "chip"):
        set_job_state(emu, ids[command], "SUCCEEDED", created_ago=60 * next(minutes), ran_for=60)
    reclaims = [{"container": {"logStreamName": f"train-{i}"}, "statusReason": RECLAIMED}
                for i in range(ATTEMPTS)]
    set_job_state(emu, ids["train"], "FAILED", RECLAIMED, created_ago=60 * next(minutes),
                  ran_for=600, attempts=reclaims)
    for command in ("predict", "eval", "bundle"):
        set_state(emu, ids[command], command, "FAILED", DEPENDENT_FAILED,
                  created_ago=60 * next(minutes))
    return ids
