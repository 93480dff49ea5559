"""Every command that calls AWS turns an unreachable endpoint into one clear message."""

from __future__ import annotations

import pytest

from tests.account.conftest import assert_one_clean_error
from tests.emulator import TEMPLATE

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
