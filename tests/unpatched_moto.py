"""moto as it comes, in a process of its own, for the canaries (tests/test_moto_like_aws.py and
tests/test_moto_like_aws_alerts.py): the emulator fixture patches moto in the test process, so
an unpatched moto cannot run there.

`start(log)` runs the server and gives its clients; tests/conftest.py holds the one
session fixture that does, so both canary modules (one xdist group, one worker) share one server.
A fixture imported into a second test module is a second fixture there, with its own server:
that cost a second start (about 2 s) per run.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import urllib.request
from pathlib import Path
from typing import Any, Iterator

REGION = "us-east-1"
ROOT = Path(__file__).resolve().parents[1]
SERVER = textwrap.dedent("""
    import logging, sys
    from moto.server import ThreadedMotoServer
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    print("http://%s:%d" % server.get_host_and_port(), flush=True)
    sys.stdin.read()  # serve until the test process closes stdin or exits
    server.stop()
""")
FASTER = ("import sys; sys.path.insert(0, %r)\n"
          "from tests.moto_speed import make_moto_faster; make_moto_faster()\n")
PATCHED = ("import sys; sys.path.insert(0, %r)\n"
           "from tests.moto_like_aws import make_moto_like_aws; make_moto_like_aws()\n")


class Unpatched:
    """boto3 clients of the unpatched moto server (no retries: a 500 fails at once)."""

    def __init__(self, endpoint: str) -> None:
        self.endpoint = endpoint
        self._clients: dict[str, Any] = {}

    def __call__(self, service: str) -> Any:
        if service not in self._clients:
            import boto3
            from botocore.config import Config

            self._clients[service] = boto3.client(
                service, region_name=REGION, endpoint_url=self.endpoint,
                aws_access_key_id="testing", aws_secret_access_key="testing",
                config=Config(retries={"total_max_attempts": 1}))
        return self._clients[service]

    def client(self, service: str) -> Any:
        """As tests.emulator.Emulator.client, for the helpers there."""
        return self(service)

    def reset(self) -> None:
        urllib.request.urlopen(urllib.request.Request(
            f"{self.endpoint}/moto-api/reset", method="POST")).read()


class NotStarted(Exception):
    """The server printed no endpoint; the message holds its log."""


def start(log: Path) -> Iterator[Unpatched]:
    """Run the unpatched server until the generator is closed; its log goes to `log`. With
    RV_CANARIES_AGAINST_PATCHED set, the server gets make_moto_like_aws() as the emulator does
    (to check the canaries themselves: each must then fail)."""
    # moto's catalogue of public images would cost each reset a second and no canary uses it.
    env = {**os.environ, "MOTO_EC2_LOAD_DEFAULT_AMIS": "false"}
    # The same results, sooner (tests/moto_speed.py): no difference from moto to hide.
    script = FASTER % str(ROOT) + SERVER
    if os.environ.get("RV_CANARIES_AGAINST_PATCHED"):
        script = PATCHED % str(ROOT) + script
    with open(log, "w") as err:
        process = subprocess.Popen([sys.executable, "-c", script], stdin=subprocess.PIPE,
                                   stdout=subprocess.PIPE, stderr=err, text=True, env=env)
    endpoint = process.stdout.readline().strip()
    if not endpoint:
        process.wait(timeout=10)
        raise NotStarted(f"the unpatched moto server did not start:\n{log.read_text()}")
    try:
        yield Unpatched(endpoint)
    finally:
        process.stdin.close()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
