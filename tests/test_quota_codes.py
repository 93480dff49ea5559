"""The family -> EC2 vCPU quota table (rv_batch_cfn/aws/quotas/codes.py) against AWS's
published list.

Source: Amazon EC2 Instance Types guide, "Amazon EC2 instance type quotas" (On-Demand Instance
quotas and Spot Instance quotas tables), held in tests/moto_like_aws_quotas.py as
AWS_EC2_VCPU_QUOTAS, which the emulator answers from too.
"""

from __future__ import annotations

import pytest

from rv_batch_cfn import instance_types
from rv_batch_cfn.aws.quotas import codes
from tests.moto_like_aws_quotas import AWS_EC2_VCPU_QUOTAS


def test_every_quota_of_the_table_is_one_aws_lists_under_that_name():
    table = {q.code: q.name for q in codes.every_quota()}
    assert table == {code: name for code, (name, _) in AWS_EC2_VCPU_QUOTAS.items()}


def test_spot_and_on_demand_quotas_are_apart():
    for quota in codes.every_quota():
        assert ("Spot" in quota.name) == (quota.capacity == codes.SPOT), quota


@pytest.mark.parametrize("name", sorted(instance_types.CATALOGUE))
def test_every_instance_type_of_the_catalogue_maps_to_both_quotas(name):
    for capacity in (codes.SPOT, codes.ON_DEMAND):
        quota = codes.quota_for(name, capacity)
        assert quota is not None and quota.capacity == capacity, (name, capacity)


@pytest.mark.parametrize("name, spot, on_demand", [
    ("g5.2xlarge", "L-3819A6DF", "L-DB2E81BA"),
    ("vt1.3xlarge", "L-3819A6DF", "L-DB2E81BA"),
    ("gr6.4xlarge", "L-3819A6DF", "L-DB2E81BA"),
    ("p4d.24xlarge", "L-7212CCBC", "L-417A185B"),
    ("p3.2xlarge", "L-7212CCBC", "L-417A185B"),
    ("p5.48xlarge", "L-C4BD4855", "L-417A185B"),
    ("m6i.xlarge", "L-34B43A08", "L-1216C47A"),
    ("hpc7a.96xlarge", None, "L-F7808C92"),  # H is Standard; hpc is HPC, on-demand only
    ("h1.2xlarge", "L-34B43A08", "L-1216C47A"),
    ("inf2.xlarge", "L-B5D1601B", "L-1945791B"),  # not I (Standard)
    ("i4i.large", "L-34B43A08", "L-1216C47A"),
    ("im4gn.large", "L-34B43A08", "L-1216C47A"),
    ("dl1.24xlarge", "L-85EED4F7", "L-6E869C2A"),  # not D (Standard)
    ("trn1.2xlarge", "L-6B0D517C", "L-2C3B7624"),  # not T (Standard)
    ("t3.micro", "L-34B43A08", "L-1216C47A"),
    ("u-6tb1.metal", None, "L-43DA4232"),
    ("x2idn.large", "L-E3A00192", "L-7295265B"),
    ("f1.2xlarge", "L-88CF9481", "L-74FC7D96"),
    ("g5", "L-3819A6DF", "L-DB2E81BA"),  # a family, as a compute environment may list it
    ("mac1.metal", None, None),  # Dedicated Hosts only: no vCPU quota
])
def test_families_map_to_their_quota(name, spot, on_demand):
    def code(capacity):
        quota = codes.quota_for(name, capacity)
        return quota.code if quota else None
    assert (code(codes.SPOT), code(codes.ON_DEMAND)) == (spot, on_demand)
