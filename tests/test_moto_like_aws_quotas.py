"""Canaries for tests/moto_like_aws_quotas.py, as tests/test_moto_like_aws.py has for
tests/moto_like_aws.py: each shows, on an UNPATCHED moto server, one way moto falls short of
AWS that a patch there makes up for, and fails once moto behaves like AWS.
RV_CANARIES_AGAINST_PATCHED=1 runs them against a patched server, where each must fail.
"""

from __future__ import annotations


import pytest

from tests import moto_like_aws_quotas
from tests.canaries import Canaries
from tests.unpatched_moto import fails

# With the other canary modules on one xdist worker: they share one unpatched server.
pytestmark = pytest.mark.xdist_group("unpatched-moto")

CANARIES = Canaries(moto_like_aws_quotas, moto_like_aws_quotas.patch)
canary, remove = CANARIES.mark, CANARIES.remove
G_SPOT = "L-3819A6DF"


def test_every_quotas_patch_has_a_canary():
    """patch() applies every _patch_* function of the module, and each has a canary here."""
    CANARIES.check()


@canary("_patch_service_quotas")
def test_an_ec2_vcpu_quota_has_no_aws_default(aws):
    """AWS: GetAWSDefaultServiceQuota answers for every EC2 quota; moto lacks the operation."""
    client = aws("service-quotas")
    assert fails(lambda: client.get_aws_default_service_quota(ServiceCode="ec2",
                                                              QuotaCode=G_SPOT)), \
        remove("_patch_service_quotas", "get_aws_default_service_quota")


@canary("_patch_service_quotas")
def test_an_ec2_vcpu_quota_cannot_be_requested(aws):
    """AWS: RequestServiceQuotaIncrease files a PENDING request, listed by
    ListRequestedServiceQuotaChangeHistoryByQuota; moto has neither operation."""
    client = aws("service-quotas")
    assert fails(lambda: client.request_service_quota_increase(
        ServiceCode="ec2", QuotaCode=G_SPOT, DesiredValue=8.0)), \
        remove("_patch_service_quotas", "request_service_quota_increase")
    assert fails(lambda: client.list_requested_service_quota_change_history_by_quota(
        ServiceCode="ec2", QuotaCode=G_SPOT)), \
        remove("_patch_service_quotas", "list_history_by_quota")


@canary("_patch_spot_placement_scores")
def test_spot_placement_scores_are_missing(aws):
    """AWS: GetSpotPlacementScores scores zones or regions; moto has no such operation."""
    ec2 = aws("ec2")
    assert fails(lambda: ec2.get_spot_placement_scores(
        InstanceTypes=["g5.2xlarge"], TargetCapacity=8, TargetCapacityUnitType="vcpu",
        SingleAvailabilityZone=True, RegionNames=["us-east-1"])), \
        remove("_patch_spot_placement_scores")
