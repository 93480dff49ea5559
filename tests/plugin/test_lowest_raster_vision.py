"""The batch_retry runner under the lowest Raster Vision it supports, 0.30.0: the release whose
stock `batch` runner builds each SubmitJob itself with `retryStrategy={'attempts': 1}` and
passes extra keyword arguments on, which the runner relies on (0.31.1, the highest, is the test
extra's and runs the whole of test_batch_retry_runner.py).

Raster Vision 0.30.0 lives in an environment of its own, `.venv-rv030`, which `make test`
creates (the Makefile's RV_LOWEST); the plugin is found there through PYTHONPATH, as Raster
Vision finds any portion of its `rastervision` namespace package. Missing: the tests skip on a
developer's machine and fail in CI.
"""

from __future__ import annotations

import os
import re

import pytest

from rv_batch_cfn.template import outputs as out
from tests.emulator import ROOT, deploy, make_network, outputs, recording, run_cli
from tests.plugin.raster_vision import HERE
from tests.plugin.raster_vision import (
    ATTEMPTS, EXAMPLE, HOST_FAILURES_ONLY, STACK, TRAIN, TRAIN_SIZE, UUID, RasterVision,
    example, job_ids, train_pipeline,
)

pytestmark = pytest.mark.xdist_group("batch-retry-runner-lowest")

LOWEST = "0.30.0"
PYTHON = ROOT / ".venv-rv030" / "bin" / "python"


@pytest.fixture(scope="module")
def names(emu) -> dict[str, str]:
    return outputs(deploy(emu, STACK, make_network(emu), JobAttempts=ATTEMPTS, **TRAIN))


@pytest.fixture(scope="module")
def rv(emu, names, tmp_path_factory) -> RasterVision:
    if not PYTHON.exists():
        message = f"{PYTHON} is missing (make test creates it)"
        if os.environ.get("CI"):
            pytest.fail(message + "; CI must have it", pytrace=False)
        pytest.skip(message)
    home = tmp_path_factory.mktemp("home")
    written = run_cli(emu, "rv-config", "--stack", STACK, "--write", env={"HOME": str(home)})
    assert written.returncode == 0, written.stderr
    return RasterVision(emu, home, tmp_path_factory.mktemp("rv"), python=str(PYTHON),
                        plugin_path=str(ROOT))


def test_the_environment_has_the_lowest_release(rv):
    result = rv.python("from importlib.metadata import version\n"
                       "print(version('rastervision_pipeline'), "
                       "version('rastervision_aws_batch'))")
    assert result.stdout.split() == [LOWEST, LOWEST], result.stderr


def test_the_runner_retries_tags_and_chains_under_the_lowest_release(rv, names, tmp_path):
    save, show = example(rv, tmp_path, "batch_retry", "--pipeline-run-name", "lowest")
    assert [s["retryStrategy"] for s in (save, show)] == [
        {"attempts": ATTEMPTS, "evaluateOnExit": HOST_FAILURES_ONLY}] * 2
    assert [s["tags"]["rastervision:command"] for s in (save, show)] == ["save_messages",
                                                                       "print_messages"]
    assert re.fullmatch(rf"lowest-save_messages-{UUID}", save["jobName"])
    ids = job_ids(rv.emu, names[out.CPU_JOB_QUEUE])
    assert show["dependsOn"] == [{"jobId": ids[save["jobName"]]}]
    assert save["containerOverrides"]["command"][-3:] == ["save_messages", "--runner", "batch"]


def test_the_stock_runner_of_the_lowest_release_submits_attempts_1(rv, tmp_path):
    # Where the runner's support starts: from 0.30.0 the stock runner replaces the job
    # definition's retries with one attempt.
    submitted = example(rv, tmp_path, "batch")
    assert [s["retryStrategy"] for s in submitted] == [{"attempts": 1}] * 2


def test_an_unnamed_run_with_aws_region_alone_under_the_lowest_release(rv, names, tmp_path):
    # AWS_REGION alone (no default region, no profile): the runner submits in the stack's
    # region, from [BATCH] region; the run gets a unique name in place of `raster-vision`.
    with recording(rv.emu, tmp_path / "requests.jsonl") as recorded:
        result = rv.run("batch_retry", EXAMPLE, "-a", "root_uri", str(tmp_path / "out"),
                        AWS_DEFAULT_REGION=None)
    assert result.returncode == 0, result.stderr
    assert recorded.submitted_regions() == [rv.emu.region] * 2
    name = re.search(r"pipeline run name: (raster-vision-\d{8}-\d{6}-[0-9a-f]{6}) ",
                     result.stderr).group(1)
    assert [s["tags"]["rastervision:pipeline-run"] for s in recorded.submitted_jobs()] == [
        name, name]


def test_train_gets_the_train_size_under_the_lowest_release(rv, names, tmp_path):
    submitted = train_pipeline(rv, tmp_path, "batch_retry")
    assert submitted["train"]["containerOverrides"]["resourceRequirements"] == TRAIN_SIZE
    assert submitted["train"]["jobQueue"] == names[out.GPU_JOB_QUEUE]
    assert all("resourceRequirements" not in submitted[c]["containerOverrides"]
               for c in ("chip", "predict", "eval"))
    assert submitted["predict"]["jobDefinition"] == names[out.GPU_JOB_DEFINITION]


def test_a_size_no_type_holds_is_refused_under_the_lowest_release(rv, names, tmp_path):
    with recording(rv.emu, tmp_path / "requests.jsonl") as recorded:
        result = rv.run("batch_retry", str(HERE / "train_pipeline.py"),
                        "-a", "root_uri", str(tmp_path / "out"), BATCH_TRAIN_VCPUS="4096")
    assert result.returncode != 0
    assert (f"train asks for 4 GPUs, 4096 vCPUs, 180000 MiB ([BATCH] train_gpus, train_vcpus, "
            f"train_memory), which no instance type of job queue {names[out.GPU_JOB_QUEUE]} "
            "holds") in " ".join(result.stderr.split())
    assert recorded.submitted_jobs() == []
