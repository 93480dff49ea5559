"""How Packer reaches the build instance: SSH admitted from one address only, found the way
Packer's own option finds it (checkip.amazonaws.com, here a local server standing in for it: this
machine has no internet), and a warning when the Packer in use cannot sign in to Amazon Linux 2023.
"""

from __future__ import annotations

from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest

from rv_batch_cfn.aws.ami import create as ami_module
from rv_batch_cfn.aws.ami import build_access
from rv_batch_cfn.aws.ami.settings import AmiSettings
from rv_batch_cfn.errors import ConfigError, PackerError
from rv_batch_cfn.template import packer as pt
from tests.aws.ami_helpers import DLAMI, PROFILE, TEMPLATE, day, make_images, run_cli
from tests.local_http import serving


def answering(text: bytes, status: int = 200):
    """A local HTTP server answering every GET with `text`, while the block runs; its URL."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 - the http.server API
            self.send_response(status)
            self.end_headers()
            self.wfile.write(text)

        def log_message(self, *args):
            pass

    return serving(HTTPServer(("127.0.0.1", 0), Handler))


@pytest.fixture
def checkip(monkeypatch):
    """checkip.amazonaws.com stood in for by a local server answering 203.0.113.9."""
    with answering(b"203.0.113.9\n") as url:
        monkeypatch.setattr(build_access, "CHECKIP_URL", url)
        yield url


def test_the_public_address_is_looked_up_as_packer_would(checkip):
    assert build_access.public_ip_cidr() == "203.0.113.9/32"


@pytest.mark.parametrize("answer", [b"<html>proxy login</html>", b"", b"2001:db8::1"])
def test_an_answer_that_is_not_an_ipv4_address_is_refused(answer):
    with answering(answer) as url:
        with pytest.raises(PackerError, match=r"not an IPv4 address: set AMI_BUILD_SSH_CIDR"):
            build_access.public_ip_cidr(url)


def test_no_answer_says_which_setting_to_give():
    with answering(b"") as url:
        pass  # nothing listens there any more
    with pytest.raises(PackerError) as raised:
        build_access.public_ip_cidr(url, timeout=2)
    message = str(raised.value)
    assert message.startswith(f"cannot find this machine's public address at {url}")
    assert "set AMI_BUILD_SSH_CIDR (--ssh-source-cidr) to the address Packer connects from" \
        in message


@pytest.mark.parametrize("given, connects, expected", [
    ("203.0.113.7", True, "203.0.113.7/32"),
    ("10.42.0.0/16", True, "10.42.0.0/16"),
    ("", False, build_access.NO_CONNECTION_CIDR),
    ("", True, "looked-up/32"),
])
def test_where_the_ssh_source_comes_from(given, connects, expected):
    cidr, why = build_access.ssh_source_cidr(given, connects, lookup=lambda: "looked-up/32")
    assert cidr == expected and why


@pytest.mark.parametrize("cidr", ["0.0.0.0/0", "203.0.113.7/33", "example.org", "10.0.0.1/8"])
def test_a_source_open_to_the_world_or_malformed_is_a_setting_problem(cidr):
    problems = AmiSettings(base_ami="ami-0123456789abcdef0", profile=PROFILE,
                           ssh_source_cidr=cidr).problems({})
    assert [p.field for p in problems] == [build_access.SETTING]
    assert "narrower than 0.0.0.0/0" in problems[0].allowed


@pytest.mark.parametrize("version, name, warned", [
    ((1, 6, 6), f"{DLAMI} 20250101", True),
    ((1, 7, 10), f"{DLAMI} 20250101", True),
    ((1, 8, 0), f"{DLAMI} 20250101", False),  # ed25519 key pair (amazon plugin 1.0.7)
    ((1, 11, 2), f"{DLAMI} 20250101", False),
    ((1, 6, 6), "Deep Learning Base OSS Nvidia Driver GPU AMI (Amazon Linux 2) 20250101", False),
    ((1, 6, 6), "my-own-gpu-image", True),  # unknown family: it may be Amazon Linux 2023
])
def test_packer_too_old_for_amazon_linux_2023_is_warned_about(version, name, warned):
    warnings = build_access.ssh_warnings(version, name, connects=True)
    assert bool(warnings) is warned
    if warned:
        assert "Amazon Linux 2023 refuses" in warnings[0] and "1.8.0 or later" in warnings[0]
    assert build_access.ssh_warnings(version, name, connects=False) == []


def stand_in(tmp_path, version: str):
    """A `packer` reporting `version` that logs its arguments; validate and build succeed, the
    build writing the manifest Packer's post-processor would (a real provisioned build needs SSH
    to a real instance)."""
    log = tmp_path / "packer.log"
    path = tmp_path / "bin" / "packer"
    path.parent.mkdir(exist_ok=True)
    path.write_text('#!/usr/bin/env bash\n'
                    f'printf "%s\\n" "$*" >> "{log}"\n'
                    f'if [ "$1" = version ]; then echo "Packer v{version}"; exit 0; fi\n'
                    'if [ "$1" != build ]; then exit 0; fi\n'
                    'for a in "$@"; do case $a in manifest=*) m=${a#manifest=};; '
                    '-only=*) b=${a#-only=};; esac; done\n'
                    'printf \'{"builds": [{"name": "%s", "artifact_id": '
                    '"us-east-1:ami-0fedcba9876543210", "packer_run_uuid": "r"}], '
                    '"last_run_uuid": "r"}\' "$b" > "$m"\n')
    path.chmod(0o755)
    return str(path), log


def test_create_ami_admits_ssh_from_this_machines_address_only(account, checkip, tmp_path,
                                                               capsys):
    [base] = make_images(account, [(f"{DLAMI} 20250101", day(0))])
    packer, log = stand_in(tmp_path, "1.11.2")
    code, out, err = run_cli(capsys, "create-ami", "--base-ami", base, "--profile", PROFILE,
                             "--region", "us-east-1", "--template", str(TEMPLATE),
                             "--manifest", str(tmp_path / "m.json"),
                             "--record", str(tmp_path / "last-ami"), "--packer", packer)
    assert code == 0, err
    calls = log.read_text().splitlines()
    validated = next(c for c in calls if c.startswith("validate"))
    built = next(c for c in calls if c.startswith("build"))
    for call in (validated, built):
        assert f"{pt.V_SSH_SOURCE_CIDR}=203.0.113.9/32" in call
    assert "build security group: SSH from 203.0.113.9/32 only (this machine's public address" \
        in err
    assert "warning:" not in err  # Packer 1.11 signs in to Amazon Linux 2023


def test_an_open_source_is_refused_before_packer_runs(account, tmp_path, capsys):
    packer, log = stand_in(tmp_path, "1.6.6")
    code, _, err = run_cli(capsys, "validate-ami", "--base-ami", "ami-0123456789abcdef0",
                           "--profile", PROFILE, "--region", "us-east-1", "--template",
                           str(TEMPLATE), "--packer", packer, "--ssh-source-cidr", "0.0.0.0/0")
    assert code == 2
    assert "AMI_BUILD_SSH_CIDR (--ssh-source-cidr): got '0.0.0.0/0'" in err
    assert "Traceback" not in err and not log.exists()


def test_a_build_without_ssh_needs_no_lookup(account, tmp_path, monkeypatch):
    [base] = make_images(account, [(f"{DLAMI} 20250101", day(0))])
    packer, log = stand_in(tmp_path, "1.6.6")

    def no_lookup(*args, **kwargs):
        raise AssertionError("looked up an address for a build that makes no connection")

    monkeypatch.setattr(build_access, "public_ip_cidr", no_lookup)
    settings = AmiSettings(base_ami=base, region="us-east-1", profile=PROFILE,
                           skip_provisioning=True)
    lines = []
    ami_module.create_ami(settings, template=TEMPLATE, manifest=tmp_path / "m.json",
                          packer=packer, validate_only=True, report=lines.append)
    assert f"{pt.V_SSH_SOURCE_CIDR}={build_access.NO_CONNECTION_CIDR}" in log.read_text()
    assert not [line for line in lines if line.startswith("warning:")]


def test_settings_problems_are_config_errors_listing_the_cidr(account, tmp_path):
    settings = AmiSettings(base_ami="ami-0123456789abcdef0", profile=PROFILE,
                           ssh_source_cidr="0.0.0.0/0")
    with pytest.raises(ConfigError, match="AMI_BUILD_SSH_CIDR"):
        ami_module.preflight(settings, packer=stand_in(tmp_path, "1.6.6")[0])
