"""How Packer reaches the AMI build instance: the one address its temporary security group admits
SSH from, and whether the Packer in use can sign in to Amazon Linux 2023 at all.

Packer's temporary security group admits SSH from 0.0.0.0/0 unless told otherwise. The template
makes `ssh_source_cidr` required; this module finds its value: the CIDR given in the settings, or
this machine's public address as AWS sees it (from checkip.amazonaws.com, the service Packer's own
`temporary_security_group_source_public_ip` uses; that option is newer than Debian's Packer 1.6.6,
which refuses it). Library code: returns data, raises the project's errors, prints nothing.
"""

from __future__ import annotations

import fnmatch
import ipaddress
from typing import Callable, Optional

from ...errors import PackerError
from .base import BASE_IMAGES

CHECKIP_URL = "https://checkip.amazonaws.com"
LOOKUP_TIMEOUT_SECONDS = 10
# What a build without SSH (--skip-provisioning, `communicator: none`) admits: loopback, which
# never arrives over a network, so the group admits nobody.
NO_CONNECTION_CIDR = "127.0.0.1/32"
# The settings.mk name and option of an explicit CIDR.
SETTING = "AMI_BUILD_SSH_CIDR (--ssh-source-cidr)"

# Amazon Linux 2023 refuses RSA signatures made with SHA-1 ("ssh-rsa"). Packer signs RSA keys
# with SHA-2 from 1.8.1 (golang.org/x/crypto/ssh update, Packer changelog 1.8.1), and from 1.8.0
# (amazon plugin 1.0.7 bundled) it creates the ed25519 key pair the template asks for; before,
# it accepts `temporary_key_pair_type` but creates an RSA key anyway.
SSH_TO_AL2023_FROM = (1, 8, 0)


def cidr_problem(cidr: str) -> Optional[str]:
    """Why `cidr` cannot be the build's SSH source; None when it can."""
    allowed = ("allowed: an IPv4 address or CIDR range such as 203.0.113.7/32, narrower than "
               "0.0.0.0/0: the address Packer connects from (the build instance's subnet sees "
               "this machine's public address, or its private one over a VPN or inside the VPC)")
    try:
        network = ipaddress.IPv4Network(cidr, strict=True)
    except ValueError:
        return allowed
    if network.prefixlen == 0:
        return allowed
    return None


def normalise(cidr: str) -> str:
    """`203.0.113.7` as `203.0.113.7/32`; a range unchanged."""
    return cidr if "/" in cidr else f"{cidr}/32"


def public_ip_cidr(url: Optional[str] = None, timeout: float = LOOKUP_TIMEOUT_SECONDS) -> str:
    """This machine's public IPv4 address as AWS sees it (from `url`, CHECKIP_URL by default),
    as a /32; PackerError when it cannot be found (no internet, a proxy answering otherwise)."""
    import urllib.error  # here: most commands never look the address up
    import urllib.request

    url = url or CHECKIP_URL
    fix = (f"set {SETTING} to the address Packer connects from (e.g. 203.0.113.7/32, or the "
           "VPC's range when Packer runs inside it)")
    try:
        with urllib.request.urlopen(url, timeout=timeout) as answer:  # noqa: S310 - fixed https
            text = answer.read(64).decode("ascii", "replace").strip()
    except (urllib.error.URLError, OSError, ValueError) as e:
        reason = getattr(e, "reason", e)
        raise PackerError(f"cannot find this machine's public address at {url} ({reason}), "
                          f"which the build's temporary security group admits SSH from: "
                          f"{fix}") from None
    try:
        address = ipaddress.IPv4Address(text)
    except ValueError:
        raise PackerError(f"{url} answered {text[:40]!r}, not an IPv4 address: {fix}") from None
    return f"{address}/32"


def ssh_source_cidr(given: str, connects: bool,
                    lookup: Optional[Callable[[], str]] = None) -> tuple[str, str]:
    """The CIDR the build admits SSH from, and how it was chosen (for the user to read):
    `given` when set; else, for a build that connects, `lookup()` (public_ip_cidr by default);
    else NO_CONNECTION_CIDR."""
    if given:
        return normalise(given), f"from {SETTING}"
    if not connects:
        return NO_CONNECTION_CIDR, "no SSH connection is made"
    return (lookup or public_ip_cidr)(), f"this machine's public address ({CHECKIP_URL})"


def is_amazon_linux_2023(image_name: str) -> Optional[bool]:
    """True or False for a base AMI of a known family, None when the name says neither."""
    for key, family in BASE_IMAGES.items():
        if fnmatch.fnmatchcase(image_name, family.name_pattern):
            return key == "al2023"
    if "Amazon Linux 2023" in image_name or "al2023" in image_name:
        return True
    return None


def ssh_warnings(packer_version: tuple[int, int, int], base_ami_name: str,
                 connects: bool) -> list[str]:
    """A warning when this Packer cannot sign in to the base AMI over SSH (Amazon Linux 2023, or
    an AMI whose family is unknown, with Packer older than 1.8.0); none otherwise."""
    if not connects or packer_version >= SSH_TO_AL2023_FROM:
        return []
    al2023 = is_amazon_linux_2023(base_ami_name)
    if al2023 is False:
        return []
    version = ".".join(map(str, packer_version))
    which = ("the base AMI is Amazon Linux 2023" if al2023 else
             "if the base AMI is Amazon Linux 2023 (its name does not say)")
    return [f"packer {version} cannot sign in over SSH when {which}: it makes an RSA key pair "
            "and signs with SHA-1 (ssh-rsa), which Amazon Linux 2023 refuses, so the build "
            "would wait for SSH until its timeout (20 minutes) and fail. Use Packer "
            f"{'.'.join(map(str, SSH_TO_AL2023_FROM))} or later (it makes the ed25519 key pair "
            "the template asks for; Debian's package is 1.6.6: install HashiCorp's release and "
            "pass --packer PATH or set PACKER), or the Amazon Linux 2 base AMI"]
