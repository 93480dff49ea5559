"""doctor's note about Raster Vision's stock Batch runner: read from the installed
rastervision_aws_batch's source (the test extra installs 0.31.x), and from variants of it."""

from __future__ import annotations

import json
from importlib import metadata

import pytest

from rv_batch_cfn.aws import doctor
from rv_batch_cfn.aws.doctor import rv_runner
from tests.emulator import deploy, make_network

STACK = "rv"


def installed_source() -> str:
    dist = metadata.distribution(rv_runner.DISTRIBUTION)
    path = next(f for f in dist.files if f.as_posix().endswith(rv_runner.RUNNER_SOURCE))
    return dist.locate_file(path).read_text(encoding="utf-8")


def test_the_installed_runner_submits_one_attempt_and_never_reads_the_key():
    stock = rv_runner.inspect_stock_runner()
    assert stock == rv_runner.StockRunner(metadata.version(rv_runner.DISTRIBUTION),
                                          submits_retry_strategy=True, default_attempts=1,
                                          reads_attempts=False)


def test_doctor_notes_that_the_stock_runner_overrides_retries(emulator, cli):
    deploy(emulator, STACK, make_network(emulator))

    result = cli("doctor", "--stack", STACK, "--json")

    assert result.returncode == 0, result.stderr
    [note] = [f for f in json.loads(result.stdout)["findings"] if f["check"] == doctor.RUNNER]
    assert note["status"] == doctor.NOTE  # a note: healthy stacks stay healthy (exit 0)
    version = metadata.version(rv_runner.DISTRIBUTION)
    assert note["message"].startswith(
        f"Raster Vision's `batch` runner (rastervision_aws_batch {version}, installed here) "
        "submits every job with attempts 1 (it never reads [BATCH] attempts), so a spot "
        "reclaim fails the job and every job after it")
    assert "rastervision run batch_retry" in note["fix"]
    text = cli("doctor", "--stack", STACK)
    assert "note     Raster Vision runner" in text.stdout


def test_without_raster_vision_installed_doctor_says_nothing_of_it(emulator, monkeypatch):
    # Not installed in the environment doctor runs in (Raster Vision often lives in a Docker
    # image instead): no finding, rather than a guess.
    from rv_batch_cfn.aws.clients.session import connect

    deploy(emulator, STACK, make_network(emulator))

    def missing(name):
        raise metadata.PackageNotFoundError(name)

    monkeypatch.setattr(rv_runner.metadata, "distribution", missing)
    diagnosis = doctor.diagnose(connect(None, None), STACK)
    assert [f for f in diagnosis.findings if f.check == doctor.RUNNER] == []
    assert rv_runner.runner_findings(None) == []


@pytest.mark.parametrize("name, edit, expected", [
    ("a runner that reads [BATCH] attempts",
     ("'attempts': attempts", "'attempts': batch_config('attempts')"),
     "submits every job with [BATCH] attempts and no exit rule, so every failure is retried"),
    ("a runner whose default is 5",
     ("attempts: int = 1,", "attempts: int = 5,"),
     "submits every job with a retry strategy of its own that ignores [BATCH] attempts"),
])
def test_other_runner_sources_get_their_own_note(name, edit, expected):
    source = installed_source()
    assert edit[0] in source, "the installed source changed: update this test"
    stock = rv_runner.read_runner_source("9.9", source.replace(*edit))
    [note] = rv_runner.runner_findings(stock)
    assert expected in note.message, name


def test_a_runner_without_a_submit_time_retry_strategy_gets_no_note():
    source = installed_source()
    edited = source.replace("'retryStrategy': {", "'tags': {")
    assert edited != source
    assert rv_runner.runner_findings(rv_runner.read_runner_source("9.9", edited)) == []
    assert rv_runner.read_runner_source("9.9", "class Other: pass") is None
    assert rv_runner.read_runner_source("9.9", "def (") is None
