"""Security group: declared egress, no ingress unless CidrRange is set."""

from __future__ import annotations

import dataclasses

from rv_batch_cfn import StackConfig
from tests.template.helpers import props, resources, template


def test_egress_is_declared_and_every_rule_has_a_description():
    group = props("BatchSecurityGroup")
    assert "SecurityGroupIngress" not in group
    assert [(r["IpProtocol"], r["FromPort"]) for r in group["SecurityGroupEgress"]] == [
        ("tcp", 443), ("tcp", 80)]
    assert all(r["Description"] for r in group["SecurityGroupEgress"])


def test_ingress_exists_only_under_conditions():
    ingress = resources(of_type="AWS::EC2::SecurityGroupIngress")
    assert {name: r["Condition"] for name, r in ingress.items()} == {
        "SshIngress": "AllowsSsh", "TensorBoardIngress": "HasCidrRange"}
    assert {r["Properties"]["FromPort"] for r in ingress.values()} == {22, 6006}
    assert all(r["Properties"]["CidrIp"] == {"Ref": "CidrRange"} for r in ingress.values())
    assert all(r["Properties"]["Description"] for r in ingress.values())
    conditions = template()["Conditions"]
    # SSH needs both a key pair and a range; TensorBoard only the range.
    assert conditions["AllowsSsh"]["Fn::And"] == [conditions["HasKeyName"],
                                                  conditions["HasCidrRange"]]


def test_default_cidr_is_empty():
    assert template()["Parameters"]["CidrRange"]["Default"] == ""
    configured = dataclasses.replace(StackConfig(), cidr_range="203.0.113.0/24")
    assert template(configured)["Parameters"]["CidrRange"]["Default"] == "203.0.113.0/24"
