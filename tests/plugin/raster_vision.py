"""What the batch_retry runner's tests share (tests/plugin/test_batch_retry_runner.py for the
Raster Vision of the test extra, tests/plugin/test_lowest_raster_vision.py for the lowest version
supported): Raster Vision run as a user runs it, against the emulator, and what it submitted."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Optional

from rv_batch_cfn.template import job_queues
from tests.emulator import Emulator, aws_env, recording

STACK = "rv"
ATTEMPTS = 4  # the stack's JobAttempts, not the template's default, so its origin shows
EXAMPLE = "rastervision.pipeline_example_plugin1.config1"
# The stack's train size: the 4 GPUs of a g5.12xlarge, listed beside the default single-GPU
# type (rv-config writes it as [BATCH] train_gpus, train_vcpus, train_memory).
TRAIN = {"TrainGPUs": 4, "TrainVCPUs": 48, "TrainMemory": 180000,
         "GpuInstanceTypes": "g5.2xlarge,g5.12xlarge"}
TRAIN_SIZE = [{"type": "GPU", "value": "4"}, {"type": "VCPU", "value": "48"},
              {"type": "MEMORY", "value": "180000"}]
HERE = Path(__file__).resolve().parent
UUID = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
# The job definitions' own rules, as the SubmitJob API spells them.
HOST_FAILURES_ONLY = [{k[0].lower() + k[1:]: v for k, v in rule.to_dict().items()}
                      for rule in job_queues.RETRY_ON_HOST_LOSS]
# What the environment must not bring in: a developer's own Raster Vision settings.
RV_VARIABLES = ("RV_CONFIG", "RV_CONFIG_DIR", "RV_PROFILE", "BATCH_GPU_JOB_QUEUE",
                "BATCH_GPU_JOB_DEF", "BATCH_CPU_JOB_QUEUE", "BATCH_CPU_JOB_DEF", "BATCH_ATTEMPTS",
                "BATCH_REGION", "BATCH_TRAIN_GPUS", "BATCH_TRAIN_VCPUS", "BATCH_TRAIN_MEMORY")


class RasterVision:
    """`rastervision` (rastervision_pipeline's CLI) run in a subprocess, pointed at the emulator,
    with its own home directory (so ~/.rastervision/default is the one rv-config wrote)."""

    def __init__(self, emu: Emulator, home: Path, work: Path, python: str = sys.executable,
                 plugin_path: str = ""):
        # `python`: the interpreter whose Raster Vision runs (another version's environment
        # finds the plugin through `plugin_path`, this checkout, on PYTHONPATH).
        self.emu, self.home, self.work = emu, home, work
        self.python_path, self.plugin_path = python, plugin_path

    def env(self, **extra: Optional[str]) -> dict[str, str]:
        """The environment of a run; a variable given as None is unset."""
        env = {k: v for k, v in aws_env(self.emu, HOME=str(self.home)).items()
               if k not in RV_VARIABLES}
        if self.plugin_path:
            env["PYTHONPATH"] = self.plugin_path
        # Raster Vision's stock runner calls boto3.client('batch') with no region: botocore
        # reads the region from AWS_DEFAULT_REGION (or a profile), not AWS_REGION. A user of the
        # stock runner sets it; the region tests unset it.
        env["AWS_DEFAULT_REGION"] = self.emu.region
        # Raster Vision's temporary directory is /opt/data/tmp unless TMPDIR says otherwise.
        env.update(TMPDIR=str(self.work), AWS_EC2_METADATA_DISABLED="true", **extra)
        return {k: v for k, v in env.items() if v is not None}

    def run(self, runner: str, *args: str, **env: Optional[str]) -> subprocess.CompletedProcess:
        return subprocess.run(
            [self.python_path, "-m", "rastervision.pipeline.cli", "run", runner, *args],
            env=self.env(**env), cwd=self.work, capture_output=True, text=True, timeout=120)

    def python(self, code: str, **env: Optional[str]) -> subprocess.CompletedProcess:
        return subprocess.run([self.python_path, "-c", code], env=self.env(**env), cwd=self.work,
                              capture_output=True, text=True, timeout=120)


def submit(rv: RasterVision, tmp_path: Path, runner: str, *args: str,
           **env: str) -> list[dict]:
    """Run the example pipeline with `runner`; the SubmitJob requests it sent, in order."""
    with recording(rv.emu, tmp_path / "requests.jsonl") as recorded:
        result = rv.run(runner, *args, **env)
    assert result.returncode == 0, result.stdout + result.stderr
    return recorded.submitted_jobs()


def example(rv: RasterVision, tmp_path: Path, runner: str = "batch_retry", *extra: str,
            **env: str) -> list[dict]:
    return submit(rv, tmp_path, runner, EXAMPLE, "-a", "root_uri", str(tmp_path / "out"),
                  *extra, **env)


def train_pipeline(rv: RasterVision, tmp_path: Path, runner: str = "batch_retry", *extra: str,
                   **env: str) -> dict[str, dict]:
    """Run train_pipeline.py (chip, train, predict, eval); each command's SubmitJob request."""
    submitted = submit(rv, tmp_path, runner, str(HERE / "train_pipeline.py"),
                       "-a", "root_uri", str(tmp_path / "out"), *extra, **env)
    by_command = {}
    for request in submitted:
        cmd = request["containerOverrides"]["command"]
        by_command[cmd[cmd.index("run_command") + 2]] = request
    assert list(by_command) == ["chip", "train", "predict", "eval"], list(by_command)
    return by_command


def job_ids(emu: Emulator, queue: str) -> dict[str, str]:
    """Job name -> job id of every job in the queue (array parents, not their children, which
    moto lists by queue too where AWS lists them only by array job id)."""
    batch = emu.client("batch")
    found = {}
    for status in ("SUBMITTED", "PENDING", "RUNNABLE", "STARTING", "RUNNING", "SUCCEEDED",
                   "FAILED"):
        for job in batch.list_jobs(jobQueue=queue, jobStatus=status)["jobSummaryList"]:
            if ":" not in job["jobId"]:
                found[job["jobName"]] = job["jobId"]
    return found
