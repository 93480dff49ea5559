"""Named configurations the tests build templates for: the defaults, and two users' variants.

What each variant changes in the template (only parameter defaults) is asserted in
tests/template/test_generation.py; the committed cloudformation/template.yml is the default's.
"""

from __future__ import annotations

import dataclasses
from rv_batch_cfn import ComputeConfig, StackConfig, build_template, render_yaml

DEFAULT = StackConfig()

# The "advanced user" of the original README: own images in ECR, GPU instances on demand.
ON_DEMAND_GPU_WITH_ECR = dataclasses.replace(
    StackConfig(),
    # The GPU repository was retained from an earlier stack: used, not created.
    gpu=dataclasses.replace(StackConfig().gpu, capacity="ON_DEMAND",
                            repository_name="raster-vision-gpu", repository_mode="existing"),
    cpu=dataclasses.replace(StackConfig().cpu, repository_name="raster-vision-cpu"),
    image_tag="v1",
)

# A platform engineer's template: other instance families, bigger jobs, restricted buckets, an
# on-demand GPU queue.
CUSTOM_FAMILIES = StackConfig(
    prefix="geo",
    gpu=ComputeConfig(instance_types=("g6e.2xlarge", "g5.4xlarge"), job_vcpus=8,
                      job_memory_mib=56000, root_volume_gib=300),
    cpu=ComputeConfig(instance_types=("c7i.2xlarge", "c6i.2xlarge"), job_vcpus=8,
                      job_memory_mib=14000, root_volume_gib=60, capacity="ON_DEMAND"),
    max_vcpus=256,
    shared_memory_mib=4096,
    job_attempts=5,
    job_timeout_seconds=86400,
    s3_buckets=("geo-training-data", "geo-experiments"),
    s3_read_only_buckets=("geo-public-imagery",),
    kms_key_arns=("arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab",),
    log_retention_days=90,
    cidr_range="203.0.113.0/24",
    update_job_timeout_minutes=2880,
    session_manager=True,
    # An on-demand GPU queue for the jobs spot cannot place (rerun --on-demand).
    gpu_on_demand_max_vcpus=32,
)

# A team that wants the bill capped: a monthly budget, alerts by e-mail, and the hard stop.
BUDGET_HARD_STOP = StackConfig(notification_email="team@example.com", monthly_budget_usd=500,
                               budget_hard_stop=True)

CONFIGS = {
    "default": DEFAULT,
    "budget-hard-stop": BUDGET_HARD_STOP,
    "on-demand-gpu-ecr": ON_DEMAND_GPU_WITH_ECR,
    "custom-families": CUSTOM_FAMILIES,
}


def render(name: str) -> str:
    """The main template of the named configuration, as `template` writes it."""
    return render_yaml(build_template(CONFIGS[name]))
