"""Shared fixtures: the AWS emulator, and tools that CI must have."""

from __future__ import annotations

import logging
import os
import shutil
import signal

import pytest
from hypothesis import HealthCheck, settings

from tests import unpatched_moto
from tests.emulator import Emulator, make_offerings_owned
from tests.moto_like_aws import make_moto_like_aws
from tests.moto_speed import make_moto_faster


# Hypothesis (the property tests, tests/**/test_properties.py): a fixed seed (derandomize) and a
# budget of examples keep the suite's time bounded and its results the same run after run;
# `make fuzz` (HYPOTHESIS_PROFILE=fuzz) runs ten times the examples from a random seed.
# No example database: a failure prints its example, and nothing is written to the tree.
settings.register_profile("suite", max_examples=50, derandomize=True, deadline=None,
                          database=None, print_blob=False,
                          suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("fuzz", max_examples=500, derandomize=False, deadline=None,
                          database=None, print_blob=True,
                          suppress_health_check=[HealthCheck.too_slow])
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "suite"))


def require_tool(name: str) -> str:
    """The path of command `name`. Missing: skip on a developer's machine, fail in CI."""
    path = shutil.which(name)
    if path:
        return path
    message = f"{name} is not installed (scripts/install-test-tools installs it)"
    if os.environ.get("CI"):
        pytest.fail(message + "; CI must have it", pytrace=False)
    pytest.skip(message)


@pytest.fixture(scope="session", autouse=True)
def interrupts_reach_commands():
    """The tests that press Ctrl-C (SIGINT to a command they started) need the command to take
    it. A shell that starts the suite in the background (`make test &` in a script) ignores
    SIGINT, and an ignored signal stays ignored in every program started from it: the commands
    would shrug the Ctrl-C off and the tests wait for their timeouts. A handler set here is reset
    to the default in the commands this process starts, as when they run from a terminal."""
    if signal.getsignal(signal.SIGINT) == signal.SIG_IGN:
        signal.signal(signal.SIGINT, signal.default_int_handler)


@pytest.fixture(scope="session", autouse=True)
def lint_cache(tmp_path_factory):
    """The test session's own lint cache (rv_batch_cfn/lint.py), in this process and in the
    subprocesses it starts: a developer's cache neither helps nor is touched. The xdist workers
    of one run share it (each entry is written atomically), so a text is linted once per run."""
    if os.environ.get("PYTEST_XDIST_WORKER"):
        path = tmp_path_factory.getbasetemp().parent / "lint-cache"
        path.mkdir(exist_ok=True)
    else:
        path = tmp_path_factory.mktemp("lint-cache")
    saved = os.environ.get("RV_BATCH_CFN_CACHE_DIR")
    os.environ["RV_BATCH_CFN_CACHE_DIR"] = str(path)
    yield path
    if saved is None:
        os.environ.pop("RV_BATCH_CFN_CACHE_DIR", None)
    else:
        os.environ["RV_BATCH_CFN_CACHE_DIR"] = saved


@pytest.fixture(scope="session")
def moto_server():
    """moto in server mode on 127.0.0.1 and a free port, for the whole test session, patched
    where it falls short of AWS (see tests/moto_like_aws.py)."""
    from moto.server import ThreadedMotoServer

    make_moto_like_aws()
    make_offerings_owned()  # instance type offerings are the tests' data (tests/emulator.py)
    make_moto_faster()  # the same results, sooner (tests/moto_speed.py)
    # moto loads its catalogue of public AMIs again on the first EC2 call after every reset
    # (about 0.3 s a test); no test uses them: the AMIs a test needs, it registers.
    os.environ["MOTO_EC2_LOAD_DEFAULT_AMIS"] = "false"
    # One log line per request would bury a failing test's own output.
    logging.getLogger("werkzeug").setLevel(logging.WARNING)

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    # Not stopped: its thread is a daemon and ends with the process, and stopping it waits up to
    # half a second for its poll loop (werkzeug's serve_forever) at the end of every run.


@pytest.fixture
def emulator(moto_server, monkeypatch) -> Emulator:
    """A clean emulator account for one test; boto3 in this process is pointed at it too."""
    emu = Emulator(moto_server)
    emu.reset()
    for key in list(os.environ):
        if key.startswith("AWS_"):
            monkeypatch.delenv(key)
    monkeypatch.setenv("AWS_ENDPOINT_URL", emu.endpoint)
    monkeypatch.setenv("AWS_REGION", emu.region)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_CONFIG_FILE", os.devnull)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", os.devnull)
    return emu


@pytest.fixture(scope="module")
def emu(moto_server) -> Emulator:
    """A clean emulator for a module whose tests share one deployed stack (mark the module with
    pytest.mark.xdist_group, so that no other module's reset runs between them on its worker),
    with Batch finishing jobs without Docker."""
    from tests.emulator import batch_without_docker

    emu = Emulator(moto_server)
    emu.reset()
    batch_without_docker(emu)
    return emu


@pytest.fixture(scope="session")
def unpatched_server(tmp_path_factory) -> unpatched_moto.Unpatched:
    """moto as it comes, in a process of its own, for the canaries (tests/unpatched_moto.py).
    Defined here, once: both canary modules share it."""
    servers = unpatched_moto.start(tmp_path_factory.mktemp("unpatched-moto") / "server.log")
    try:
        server = next(servers)
    except unpatched_moto.NotStarted as e:
        pytest.fail(str(e), pytrace=False)
    yield server
    servers.close()


@pytest.fixture
def aws(unpatched_server) -> unpatched_moto.Unpatched:
    """The unpatched server, reset: each canary starts from an empty account."""
    unpatched_server.reset()
    return unpatched_server

