"""The launch templates' user data: a MIME multi-part archive, the form AWS Batch requires so
that it can add its own part (the one that writes ECS_CLUSTER), holding one part of ours:
`scripts/prepare-scratch.sh`, which prepares the jobs' scratch folder at every boot.

Pure and deterministic: the script is package data, and the archive has a fixed boundary, so
the same package always renders the same template.
"""

from __future__ import annotations

from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from importlib import resources

# The host folder the job definitions mount at /opt/data; prepare-scratch.sh says the same.
SCRATCH_DIR = "/var/lib/rv-scratch"
SCRIPT = "scripts/prepare-scratch.sh"
BOUNDARY = "==rv-batch-cfn-user-data=="
# A boothook, not a text/x-shellscript part: cloud-init runs shell-script parts on an
# instance's first boot only, and boothooks at every boot, before Docker and the ECS agent, so
# a reboot mounts the instance store again before any job starts.
PART_TYPE = "cloud-boothook"
# EC2's limit on user data (before base64); Batch adds its own part to ours.
USER_DATA_LIMIT = 16 * 1024


def prepare_scratch_script() -> str:
    """The text of prepare-scratch.sh, as installed with the package."""
    return resources.files(__package__).joinpath(SCRIPT).read_text(encoding="ascii")


def boothook() -> str:
    """The script as the launch templates carry it: without its comment lines, which would
    take about 5 KB of the template (twice) towards CloudFormation's 51,200-byte limit on a
    template sent inline; a first comment says where the commented script is."""
    shebang, *lines = prepare_scratch_script().splitlines()
    code = [line for line in lines if not line.lstrip().startswith("#")]
    while code and not code[0].strip():
        code.pop(0)
    return "\n".join([shebang, SOURCE_NOTE, *code]) + "\n"


SOURCE_NOTE = (f"# rv-batch-cfn's rv_batch_cfn/template/{SCRIPT} without its comments, which say "
               "why it does what it does.")


def user_data() -> str:
    """The MIME multi-part user data of both launch templates, as text (CloudFormation's
    Fn::Base64 encodes it)."""
    archive = MIMEMultipart("mixed", boundary=BOUNDARY)
    archive.attach(MIMEText(boothook(), PART_TYPE, "us-ascii"))
    return archive.as_string()
