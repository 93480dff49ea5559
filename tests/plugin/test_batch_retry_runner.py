"""The `batch_retry` runner plugin, run as a user runs it: `rastervision run batch_retry ...` on
Raster Vision's own example pipeline (rastervision.pipeline_example_plugin1, two commands, the
first splittable), against a stack deployed in the emulator, with the [BATCH] section that
`rv-batch-cfn rv-config --write` wrote.

What is checked is what reached the emulator: the SubmitJob requests, captured with moto's
request recorder (tests/emulator.py, `recording`), because moto does not keep a submit-time
retry strategy in describe_jobs. AWS would keep and apply it; the product follows AWS.

One stack serves the whole module: every test submits its own jobs and reads only its own
requests.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from rv_batch_cfn.config import limits
from rv_batch_cfn.aws.jobs import listing as account_jobs
from rv_batch_cfn.config import StackConfig
from rv_batch_cfn.template import outputs as out
from tests.emulator import ROOT, deploy, make_network, outputs, recording, run_cli
from tests.plugin.raster_vision import (
    ATTEMPTS, EXAMPLE, HERE, HOST_FAILURES_ONLY, RV_VARIABLES, STACK, UUID, RasterVision,
    example, job_ids, submit,
)

# One stack for the module: its tests run together on one worker (setup.cfg: --dist loadgroup).
pytestmark = pytest.mark.xdist_group("batch-retry-runner")

@pytest.fixture(scope="module")
def names(emu) -> dict[str, str]:
    """The stack's queue and job definition names (its outputs)."""
    return outputs(deploy(emu, STACK, make_network(emu), JobAttempts=ATTEMPTS))


@pytest.fixture(scope="module")
def rv(emu, names, tmp_path_factory) -> RasterVision:
    """Raster Vision configured by `rv-batch-cfn rv-config --write`, as the README says."""
    home = tmp_path_factory.mktemp("home")
    written = run_cli(emu, "rv-config", "--stack", STACK, "--write", env={"HOME": str(home)})
    assert written.returncode == 0, written.stderr
    assert (home / ".rastervision" / "default").is_file()
    return RasterVision(emu, home, tmp_path_factory.mktemp("rv"))


@dataclass(frozen=True)
class Run:
    """One `rastervision run batch_retry` of the example pipeline, and what it submitted."""

    save: dict
    show: dict
    root_uri: Path


@pytest.fixture(scope="module")
def nightly(rv, tmp_path_factory) -> Run:
    """The example pipeline, run "nightly", its split command in three parts; shared by the
    tests that read different parts of the same requests."""
    work = tmp_path_factory.mktemp("nightly")
    save, show = example(rv, work, "batch_retry", "--splits", "3",
                         "--pipeline-run-name", "nightly")
    return Run(save, show, work / "out")


def test_every_job_retries_host_failures_up_to_the_configured_attempts(nightly):
    assert [s["retryStrategy"] for s in (nightly.save, nightly.show)] == [
        {"attempts": ATTEMPTS, "evaluateOnExit": HOST_FAILURES_ONLY}] * 2
    # Spot reclaims are retried, anything else ends the job at once.
    assert HOST_FAILURES_ONLY == [{"onStatusReason": "Host EC2*", "action": "RETRY"},
                                  {"onReason": "*", "action": "EXIT"}]


def test_jobs_are_tagged_with_their_pipeline_run_and_command(nightly):
    submitted = (nightly.save, nightly.show)
    assert [(s["tags"], s["propagateTags"]) for s in submitted] == [
        ({"rastervision:pipeline-run": "nightly", "rastervision:command": command}, True)
        for command in ("save_messages", "print_messages")]
    # The tags `rv-batch-cfn jobs` groups by.
    assert (account_jobs.RUN_TAG, account_jobs.COMMAND_TAG) == (
        "rastervision:pipeline-run", "rastervision:command")
    assert [re.fullmatch(rf"nightly-(\w+)-{UUID}", s["jobName"]).group(1)
            for s in submitted] == ["save_messages", "print_messages"]


def test_commands_are_chained_split_into_array_jobs_and_run_by_the_stock_image(
        rv, names, nightly):
    save, show = nightly.save, nightly.show
    ids = job_ids(rv.emu, names[out.CPU_JOB_QUEUE])
    assert "dependsOn" not in save
    assert show["dependsOn"] == [{"jobId": ids[save["jobName"]]}]
    assert save["arrayProperties"] == {"size": 3}
    assert "arrayProperties" not in show
    # The container runs the stock runner's command line: the stock image needs no plugin.
    config = str(nightly.root_uri / "pipeline-config.json")
    assert save["containerOverrides"]["command"] == [
        "python", "-m", "rastervision.pipeline.cli", "run_command", config, "save_messages",
        "--runner", "batch", "--num-splits", "3"]
    assert show["containerOverrides"]["command"][-3:] == ["print_messages", "--runner", "batch"]


def test_jobs_use_the_stack_queue_and_definition_that_rv_config_wrote(rv, names, nightly):
    submitted = (nightly.save, nightly.show)
    assert {(s["jobQueue"], s["jobDefinition"]) for s in submitted} == {
        (names[out.CPU_JOB_QUEUE], names[out.CPU_JOB_DEFINITION])}
    ids = job_ids(rv.emu, names[out.CPU_JOB_QUEUE])
    assert all(s["jobName"] in ids for s in submitted)


def test_rv_batch_cfn_jobs_shows_the_run_the_runner_submitted(rv, nightly):
    result = run_cli(rv.emu, "jobs", "--stack", STACK, "--run", "nightly", "--json")
    assert result.returncode == 0, result.stderr
    run, = json.loads(result.stdout)["runs"]
    assert [(j["command"], j["name"], j["array_size"]) for j in run["jobs"]] == [
        ("save_messages", nightly.save["jobName"], 3),
        ("print_messages", nightly.show["jobName"], None)]


def test_gpu_commands_and_a_command_own_queue_and_definition_are_kept(rv, names, tmp_path):
    # save_messages is steered to the GPU queue and definition by its own attributes;
    # print_messages is a GPU command.
    submitted = submit(rv, tmp_path, "batch_retry", str(HERE / "overrides_pipeline.py"),
                       "-a", "root_uri", str(tmp_path / "out"),
                       "-a", "queue", names[out.GPU_JOB_QUEUE],
                       "-a", "job_def", names[out.GPU_JOB_DEFINITION])
    assert [(s["jobQueue"], s["jobDefinition"]) for s in submitted] == [
        (names[out.GPU_JOB_QUEUE], names[out.GPU_JOB_DEFINITION])] * 2
    assert all(s["retryStrategy"]["attempts"] == ATTEMPTS for s in submitted)


def test_stock_batch_runner_submits_attempts_1_which_replaces_the_job_definition_retries(
        rv, tmp_path):
    """Why the plugin exists: Raster Vision 0.31's own `batch` runner never reads
    [BATCH] attempts (here 4) and submits every job with a one-attempt retry strategy, which
    replaces the job definition's: a spot reclaim fails the job and every job after it."""
    submitted = example(rv, tmp_path, "batch")
    assert [s["retryStrategy"] for s in submitted] == [{"attempts": 1}] * 2
    assert all("tags" not in s for s in submitted)


def test_attempts_from_the_environment_override_the_config_file(rv, tmp_path):
    submitted = example(rv, tmp_path, BATCH_ATTEMPTS="7")
    assert {s["retryStrategy"]["attempts"] for s in submitted} == {7}


def test_without_attempts_in_the_config_the_template_default_applies(rv, tmp_path):
    config = tmp_path / "rv-config"
    original = (rv.home / ".rastervision" / "default").read_text()
    config.write_text("\n".join(line for line in original.splitlines()
                                if not line.startswith("attempts")) + "\n")
    with recording(rv.emu, tmp_path / "requests.jsonl") as recorded:
        result = rv.run("batch_retry", EXAMPLE, "-a", "root_uri", str(tmp_path / "out"),
                        RV_CONFIG=str(config))
    assert result.returncode == 0, result.stderr
    default = StackConfig().job_attempts
    assert {s["retryStrategy"]["attempts"] for s in recorded.submitted_jobs()} == {default}
    assert f"[BATCH] attempts is not set: retrying host failures up to {default} times" \
        in result.stderr
    assert result.stderr.count("[BATCH] attempts is not set") == 1


REFUSED_ATTEMPTS = ("0", "11", "three", "2.5")


def test_attempts_outside_what_batch_allows_are_refused_before_submitting(rv, tmp_path):
    low, high = limits.ATTEMPTS  # the stack's own limits, AWS Batch's

    def refusal(value: str) -> str:
        return (f"[BATCH] attempts (or BATCH_ATTEMPTS): got {value!r}; allowed: a whole number "
                f"from {low} to {high}")

    with recording(rv.emu, tmp_path / "requests.jsonl") as recorded:
        result = rv.run("batch_retry", EXAMPLE, "-a", "root_uri", str(tmp_path / "out"),
                        BATCH_ATTEMPTS=REFUSED_ATTEMPTS[0])
    assert result.returncode != 0
    assert refusal(REFUSED_ATTEMPTS[0]) in result.stderr
    assert recorded.submitted_jobs() == []
    # The runner reads every other refused value the same way (one process reads them all:
    # Raster Vision's configuration reads the environment at each lookup).
    code = ("import os, rastervision.pipeline\n"
            "from rastervision.batch_retry.runner import configured_attempts\n"
            f"for value in {REFUSED_ATTEMPTS[1:]!r}:\n"
            "    os.environ['BATCH_ATTEMPTS'] = value\n"
            "    try:\n"
            "        print('accepted', configured_attempts())\n"
            "    except ValueError as e:\n"
            "        print(e)\n")
    read = rv.python(code)
    assert read.returncode == 0, read.stderr
    assert [line.split(" (AWS")[0] for line in read.stdout.splitlines()] == [
        refusal(value) for value in REFUSED_ATTEMPTS[1:]]


def test_debug_mode_and_explicit_attempts_of_run_command_are_kept(rv, names, tmp_path):
    code = ("from rastervision.pipeline import registry_\n"
            "runner = registry_.get_runner('batch_retry')()\n"
            "print(runner.run_command(['echo', 'hi'], job_name='debugging', debug=True, "
            "attempts=2))\n")
    with recording(rv.emu, tmp_path / "requests.jsonl") as recorded:
        result = rv.python(code)
    assert result.returncode == 0, result.stderr
    submitted, = recorded.submitted_jobs()
    assert submitted["containerOverrides"]["command"] == [
        "python", "-m", "ptvsd", "--host", "0.0.0.0", "--port", "6006", "--wait", "-m",
        "echo", "hi"]
    assert submitted["retryStrategy"] == {"attempts": 2, "evaluateOnExit": HOST_FAILURES_ONLY}
    assert submitted["jobQueue"] == names[out.CPU_JOB_QUEUE]
    assert result.stdout.strip() == job_ids(rv.emu, names[out.CPU_JOB_QUEUE])["debugging"]


def test_the_retry_strategy_applies_only_to_the_runner_own_submissions(rv, names, tmp_path):
    # The handler that sets the retry strategy is registered for one run_command only: a
    # client made afterwards from the same default session submits what it is given.
    code = ("import boto3, json\n"
            "from rastervision.pipeline import registry_\n"
            "runner = registry_.get_runner('batch_retry')()\n"
            "runner.run_command(['true'], job_name='first')\n"
            "batch = boto3.client('batch')\n"
            "cfg = json.load(open('names.json'))\n"
            "batch.submit_job(jobName='second', jobQueue=cfg['q'], jobDefinition=cfg['d'],"
            " retryStrategy={'attempts': 1})\n")
    (rv.work / "names.json").write_text(json.dumps({
        "q": names[out.CPU_JOB_QUEUE], "d": names[out.CPU_JOB_DEFINITION]}))
    with recording(rv.emu, tmp_path / "requests.jsonl") as recorded:
        result = rv.python(code)
    assert result.returncode == 0, result.stderr
    first, second = recorded.submitted_jobs()
    assert first["retryStrategy"]["evaluateOnExit"] == HOST_FAILURES_ONLY
    assert second["retryStrategy"] == {"attempts": 1}


def test_raster_vision_finds_the_runner_and_keeps_its_stock_batch_runner(rv):
    result = rv.python("from rastervision.pipeline import registry_\n"
                       "print(sorted(registry_.runners))\n"
                       "print(registry_.get_runner('batch_retry').__mro__[1].__module__)")
    assert result.returncode == 0, result.stderr
    runners, parent = result.stdout.splitlines()
    assert runners == str(["batch", "batch_retry", "inprocess", "local"])
    assert parent == "rastervision.aws_batch.aws_batch_runner"


def test_importing_rv_batch_cfn_imports_nothing_of_raster_vision():
    code = ("import sys, rv_batch_cfn, rv_batch_cfn.cli\n"
            "print([m for m in sys.modules if m.split('.')[0] == 'rastervision'])")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            cwd=ROOT, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


def test_without_rastervision_aws_batch_raster_vision_still_starts(rv, tmp_path):
    # A Raster Vision without its AWS Batch plugin: the package is neither listed in the
    # `rastervision` namespace nor importable (a meta path hook and a filtered pkgutil stand
    # in for its absence). Other runners still work; ours says what to install when chosen.
    code = ("import pkgutil, sys\n"
            "class Missing:\n"
            "    def find_spec(self, name, path=None, target=None):\n"
            "        if name.startswith('rastervision.aws_batch'):\n"
            "            raise ModuleNotFoundError(f'No module named {name!r}', name=name)\n"
            "sys.meta_path.insert(0, Missing())\n"
            "listed = pkgutil.iter_modules\n"
            "pkgutil.iter_modules = lambda *a: [m for m in listed(*a)\n"
            "                                   if m.name != 'rastervision.aws_batch']\n"
            "from rastervision.pipeline import registry_\n"
            "print(sorted(registry_.runners), flush=True)\n"
            "registry_.get_runner('batch_retry')()\n")
    result = rv.python(code)
    assert result.stdout.splitlines()[0] == str(["batch_retry", "inprocess", "local"])
    assert result.returncode != 0
    assert ("the batch_retry runner (from rv-batch-cfn) extends Raster Vision's AWS Batch "
            "runner, which is not installed") in result.stderr
    assert "pip install rastervision_aws_batch" in result.stderr


def test_the_built_package_ships_the_plugin_where_raster_vision_finds_it(tmp_path):
    # What a wheel holds: setuptools' build_py output (the wheel adds only metadata). The
    # plugin sits in rastervision/batch_retry/ beside Raster Vision's own packages, with no
    # rastervision/__init__.py that would hide theirs.
    build = tmp_path / "build"
    built = subprocess.run([sys.executable, "-c", "from setuptools import setup; setup()", "-q",
                            "build_py", "--build-lib", str(build)],
                           capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert built.returncode == 0, built.stderr
    assert (build / "rastervision" / "batch_retry" / "__init__.py").is_file()
    assert not (build / "rastervision" / "__init__.py").exists()
    # Only the built copy: the source tree (on the path through the editable install) is
    # taken off the path before Raster Vision looks for plugins.
    code = (f"import sys; sys.path[:] = [p for p in sys.path if p != {str(ROOT)!r}]\n"
            "from rastervision.pipeline import registry_\n"
            "import rastervision.batch_retry as plugin\n"
            "print(registry_.get_runner('batch_retry').__name__, plugin.__file__)")
    env = {k: v for k, v in os.environ.items() if k not in RV_VARIABLES}
    env.update(PYTHONPATH=str(build), TMPDIR=str(tmp_path))
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            env=env, cwd=tmp_path, timeout=60)
    assert result.returncode == 0, result.stderr
    name, path = result.stdout.split()
    assert name == "BatchRetryRunner"
    assert path.startswith(str(build))
