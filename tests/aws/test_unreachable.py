"""Every command that calls AWS turns an unreachable endpoint, or one that is not AWS, into one
clear message."""

from __future__ import annotations

import functools
import http.server
import pytest

from tests.cli_runner import assert_one_clean_error
from tests import local_http
from tests.emulator import TEMPLATE
from tests.local_http import serving

UNREACHABLE = "http://127.0.0.1:1"  # nothing listens on port 1: the connection is refused
VPC = "vpc-0123456789abcdef0"


@pytest.mark.parametrize("args", [
    ["doctor", "--stack", "rv"],
    ["rv-config", "--stack", "rv"],
    ["deploy", "--stack", "rv", "--yes", "--template", str(TEMPLATE), "--param", f"VPC={VPC}",
     "--param", "SubnetIds=subnet-0123456789abcdef0"],
    ["choose-subnets", "--vpc", VPC, "--instance-types", "g5.2xlarge,m6i.xlarge"],
], ids=lambda args: args[0])
def test_unreachable_endpoint(cli, args):
    done = cli(*args, AWS_ENDPOINT_URL=UNREACHABLE, AWS_MAX_ATTEMPTS="1")
    assert_one_clean_error(done, f"rv-batch-cfn {args[0]}: error:",
                           f'Could not connect to the endpoint URL: "{UNREACHABLE}/')


class _WebPage(local_http.Handler):
    """A web server that is not AWS: every request gets a 200 and a small HTML page (a
    captive portal, a proxy's notice), which is well-formed XML of the wrong shape."""

    def do_POST(self) -> None:
        self.request_body()
        body = b"<html><body><p>Welcome</p></body></html>"
        self.reply(200, body, "text/html")

    do_GET = do_POST


class _FileServer(http.server.SimpleHTTPRequestHandler):
    """What `python -m http.server` runs: a POST gets an HTML 501 page."""

    def log_message(self, *args) -> None:
        pass


@pytest.fixture(params=[_FileServer, _WebPage], ids=["http.server", "html-200"])
def not_aws(request, tmp_path):
    """The URL of a local HTTP server on 127.0.0.1 that answers, but not like AWS."""
    handler = functools.partial(request.param, directory=str(tmp_path)) \
        if request.param is _FileServer else request.param
    with serving(http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)) as url:
        yield url


@pytest.mark.parametrize("args", [
    ["rv-config", "--stack", "rv"],
    ["deploy", "--stack", "rv", "--yes", "--template", str(TEMPLATE), "--param", f"VPC={VPC}",
     "--param", "SubnetIds=subnet-0123456789abcdef0"],
], ids=lambda args: args[0])
def test_endpoint_that_is_not_aws(cli, not_aws, args):
    done = cli(*args, AWS_ENDPOINT_URL=not_aws)
    assert_one_clean_error(done, f"rv-batch-cfn {args[0]}: error: cannot check the credentials: "
                                 f"the endpoint {not_aws} did not answer like AWS",
                           "check AWS_ENDPOINT_URL")
    assert len(done.stderr.strip().splitlines()) == 1, done.stderr


def test_service_endpoint_that_is_not_aws(cli, not_aws):
    # STS (the credentials check) is the emulator; only CloudFormation's endpoint is not AWS.
    done = cli("rv-config", "--stack", "rv", AWS_ENDPOINT_URL_CLOUDFORMATION=not_aws)
    assert_one_clean_error(done, "rv-batch-cfn rv-config: error: cannot describe stack 'rv': "
                                 f"the endpoint {not_aws} did not answer like AWS",
                           "AWS_ENDPOINT_URL_<SERVICE>")
    assert len(done.stderr.strip().splitlines()) == 1, done.stderr
