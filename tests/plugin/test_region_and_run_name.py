"""The batch_retry runner's seams with the user's AWS settings and Raster Vision's defaults, run
as a user runs it (`rastervision run batch_retry ...` on Raster Vision's example pipeline)
against a stack deployed in the emulator, configured by `rv-batch-cfn rv-config --write`:

- jobs are submitted in the stack's region whatever the environment and the profile say
  (Raster Vision's own runner makes its client with no region: botocore reads
  AWS_DEFAULT_REGION or the profile, never AWS_REGION);
- a run left with Raster Vision's default name (`raster-vision`) gets a unique one, which
  `rv-batch-cfn jobs` shows.

Where a request went is read from the requests the emulator received: the region each SubmitJob
was signed for (moto, like AWS, keeps each region's queues apart, so a job sent elsewhere fails).
"""

from __future__ import annotations

import hashlib
import json
import re
from datetime import datetime, timedelta, timezone

import pytest

from rv_batch_cfn.template import outputs as out
from tests.emulator import deploy, make_network, outputs, recording, run_cli
from tests.plugin.raster_vision import EXAMPLE, STACK, RasterVision, job_ids

pytestmark = pytest.mark.xdist_group("batch-retry-region")

ELSEWHERE = "eu-west-3"  # a region where the stack is not
# A shell set up as the docs once said: AWS_REGION alone, no default region, no profile.
AWS_REGION_ALONE = {"AWS_DEFAULT_REGION": None}


@pytest.fixture(scope="module")
def names(emu) -> dict[str, str]:
    return outputs(deploy(emu, STACK, make_network(emu)))


@pytest.fixture(scope="module")
def rv(emu, names, tmp_path_factory) -> RasterVision:
    home = tmp_path_factory.mktemp("home")
    written = run_cli(emu, "rv-config", "--stack", STACK, "--write", env={"HOME": str(home)})
    assert written.returncode == 0, written.stderr
    return RasterVision(emu, home, tmp_path_factory.mktemp("rv"))


def run_example(rv: RasterVision, tmp_path, *extra: str, runner: str = "batch_retry", **env):
    """The example pipeline run; its result, and the requests it sent."""
    tmp_path.mkdir(exist_ok=True)
    with recording(rv.emu, tmp_path / "requests.jsonl") as recorded:
        result = rv.run(runner, EXAMPLE, "-a", "root_uri", str(tmp_path / "out"), *extra, **env)
    return result, recorded


def without_region(rv: RasterVision, tmp_path, replace: dict[str, str] = {}) -> str:
    """A copy of the [BATCH] config rv-config wrote, as written before the region key existed
    (and with `replace`d values); its path, for RV_CONFIG."""
    lines = (rv.home / ".rastervision" / "default").read_text().splitlines()
    kept = [line for line in lines if not line.startswith(f"{out.REGION_KEY} ")]
    for key, value in replace.items():
        kept = [f"{key} = {value}" if line.startswith(f"{key} ") else line for line in kept]
    path = tmp_path / "rv-config"
    path.write_text("\n".join(kept) + "\n")
    return str(path)


def test_with_aws_region_alone_the_runner_submits_in_the_stack_region(rv, names, tmp_path):
    result, recorded = run_example(rv, tmp_path, "--pipeline-run-name", "alone",
                                   **AWS_REGION_ALONE)
    assert result.returncode == 0, result.stderr
    assert recorded.submitted_regions() == [rv.emu.region] * 2
    assert {s["jobQueue"] for s in recorded.submitted_jobs()} == {names[out.CPU_JOB_QUEUE]}
    submitted = job_ids(rv.emu, names[out.CPU_JOB_QUEUE])
    assert all(s["jobName"] in submitted for s in recorded.submitted_jobs())
    assert f"submitting in {rv.emu.region} (from [BATCH] region)" in result.stderr
    # Raster Vision's own runner, in the same shell, has no region to make its client in.
    stock, recorded = run_example(rv, tmp_path / "stock", runner="batch", **AWS_REGION_ALONE)
    assert stock.returncode != 0
    assert "NoRegionError" in stock.stderr and recorded.submitted_jobs() == []


def test_the_stack_region_wins_over_the_environment_and_the_profile(rv, tmp_path):
    profile = tmp_path / "aws-config"
    profile.write_text("[default]\nregion = ap-south-1\n")
    # botocore would take AWS_DEFAULT_REGION; with it unset, the profile's region; the AWS CLI
    # AWS_REGION first. Each names a region without the stack's queues.
    shells = {"default region": {"AWS_DEFAULT_REGION": ELSEWHERE, "AWS_REGION": ELSEWHERE},
              "profile": {"AWS_DEFAULT_REGION": None, "AWS_CONFIG_FILE": str(profile)}}
    for name, env in shells.items():
        result, recorded = run_example(rv, tmp_path / name.replace(" ", "-"), **env)
        assert result.returncode == 0, (name, result.stderr)
        assert recorded.submitted_regions() == [rv.emu.region] * 2, name
    # The stock runner submits where the environment says: AWS would answer that the queue
    # does not exist there, and so does the emulator.
    stock, recorded = run_example(rv, tmp_path / "stock", runner="batch",
                                  **shells["default region"])
    assert stock.returncode != 0
    assert recorded.submitted_regions() == [ELSEWHERE]


def test_the_region_is_set_for_the_runner_submissions_only(rv, tmp_path):
    # Other clients the process makes from boto3's default session, afterwards, keep the
    # environment's region.
    code = ("import boto3\n"
            "from rastervision.pipeline import registry_\n"
            "runner = registry_.get_runner('batch_retry')()\n"
            "runner.run_command(['true'], job_name='first')\n"
            "print(boto3.client('batch').meta.region_name)\n")
    with recording(rv.emu, tmp_path / "requests.jsonl") as recorded:
        result = rv.python(code, AWS_DEFAULT_REGION=ELSEWHERE)
    assert result.returncode == 0, result.stderr
    assert recorded.submitted_regions() == [rv.emu.region]
    assert result.stdout.split() == [ELSEWHERE]


def test_a_queue_and_definition_given_as_arns_name_their_region(rv, names, tmp_path):
    batch = rv.emu.client("batch")
    queue, = batch.describe_job_queues(jobQueues=[names[out.CPU_JOB_QUEUE]])["jobQueues"]
    definition = batch.describe_job_definitions(
        jobDefinitionName=names[out.CPU_JOB_DEFINITION], status="ACTIVE")["jobDefinitions"][-1]
    config = without_region(rv, tmp_path, {"cpu_job_queue": queue["jobQueueArn"],
                                           "cpu_job_def": definition["jobDefinitionArn"]})
    result, recorded = run_example(rv, tmp_path, RV_CONFIG=config,
                                   AWS_DEFAULT_REGION=ELSEWHERE, AWS_REGION=ELSEWHERE)
    assert result.returncode == 0, result.stderr
    assert recorded.submitted_regions() == [rv.emu.region] * 2
    assert {s["jobQueue"] for s in recorded.submitted_jobs()} == {queue["jobQueueArn"]}
    assert f"submitting in {rv.emu.region} (from the job queue's ARN)" in result.stderr
    assert "[BATCH] region is not set" not in result.stderr


def test_a_config_without_the_region_key_still_works_and_says_how_to_add_it(rv, tmp_path):
    # A config rv-config wrote before it wrote the region; a shell with AWS_REGION alone.
    config = without_region(rv, tmp_path)
    result, recorded = run_example(rv, tmp_path, RV_CONFIG=config, **AWS_REGION_ALONE)
    assert result.returncode == 0, result.stderr
    assert recorded.submitted_regions() == [rv.emu.region] * 2
    warning = (f"[BATCH] region is not set: submitting in {rv.emu.region} (from AWS_REGION); "
               "`rv-batch-cfn rv-config --stack NAME --write` sets the stack's region")
    assert result.stderr.count(warning) == 1
    # No region anywhere: refused before anything is submitted, saying what to set.
    nowhere, recorded = run_example(rv, tmp_path / "nowhere", RV_CONFIG=config,
                                    AWS_DEFAULT_REGION=None, AWS_REGION=None)
    assert nowhere.returncode != 0
    assert ("no region to submit AWS Batch jobs in: set [BATCH] region (`rv-batch-cfn "
            "rv-config --stack NAME --write` writes the stack's)") in nowhere.stderr
    assert recorded.submitted_jobs() == []


def test_a_region_that_is_not_a_region_name_is_refused_before_submitting(rv, tmp_path):
    result, recorded = run_example(rv, tmp_path, BATCH_REGION="us east 1")
    assert result.returncode != 0
    assert ("[BATCH] region (or BATCH_REGION): got 'us east 1'; allowed: a region name such as "
            "us-east-1") in result.stderr
    assert recorded.submitted_jobs() == []


def test_the_runner_and_rv_batch_cfn_share_the_region_key():
    from rastervision.batch_retry import regions

    assert regions.REGION_KEY == out.REGION_KEY


def test_a_run_left_unnamed_gets_a_unique_name_shown_in_jobs(rv, names, tmp_path):
    root_uri = str(tmp_path / "out")
    before = datetime.now(timezone.utc).replace(microsecond=0)
    result, recorded = run_example(rv, tmp_path)
    after = datetime.now(timezone.utc)
    assert result.returncode == 0, result.stderr
    # Printed as the run is submitted: the time (UTC) and a hash of the root_uri.
    name = re.search(r"pipeline run name: (\S+) ", result.stderr).group(1)
    digest = hashlib.sha256(root_uri.encode()).hexdigest()[:6]
    stamp = re.fullmatch(rf"raster-vision-(\d{{8}}-\d{{6}})-{digest}", name).group(1)
    assert before <= datetime.strptime(stamp, "%Y%m%d-%H%M%S").replace(
        tzinfo=timezone.utc) <= after
    assert f"`rv-batch-cfn jobs --stack NAME --run {name}` lists its jobs" in result.stderr
    # Both commands' jobs carry it: one run, in their tags and names.
    submitted = recorded.submitted_jobs()
    assert [s["tags"]["rastervision:pipeline-run"] for s in submitted] == [name, name]
    assert all(s["jobName"].startswith(f"{name}-") for s in submitted)
    # `jobs` groups them under it; no run is called `raster-vision`.
    shown = run_cli(rv.emu, "jobs", "--stack", STACK, "--json")
    assert shown.returncode == 0, shown.stderr
    runs = {run["run"]: run for run in json.loads(shown.stdout)["runs"]}
    assert "raster-vision" not in runs
    assert [(j["command"], j["name"]) for j in runs[name]["jobs"]] == [
        ("save_messages", submitted[0]["jobName"]), ("print_messages", submitted[1]["jobName"])]
    text = run_cli(rv.emu, "jobs", "--stack", STACK, "--run", name)
    assert text.returncode == 0 and name in text.stdout


def test_unique_names_differ_by_time_and_by_root_uri():
    from rastervision.batch_retry import run_names

    one = datetime(2026, 12, 5, 8, 15, 0, tzinfo=timezone.utc)
    two = datetime(2026, 12, 5, 8, 15, 1, tzinfo=timezone.utc)
    names = {run_names.unique_run_name(uri, moment)
             for uri in ("s3://bucket/a", "s3://bucket/b") for moment in (one, two)}
    assert len(names) == 4
    assert run_names.unique_run_name("s3://bucket/a", one) == (
        "raster-vision-20261205-081500-"
        + hashlib.sha256(b"s3://bucket/a").hexdigest()[:6])
    # A time in another zone is written in UTC.
    paris = one.astimezone(timezone(timedelta(hours=1)))
    assert run_names.unique_run_name("s3://bucket/a", paris) == run_names.unique_run_name(
        "s3://bucket/a", one)
