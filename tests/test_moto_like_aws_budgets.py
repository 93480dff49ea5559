"""Canaries for tests/moto_like_aws_budgets.py, as tests/test_moto_like_aws.py has for
tests/moto_like_aws.py: on an UNPATCHED moto server (a process of its own) a stack with an
AWS::Budgets::Budget completes without creating the budget, and ListCostAllocationTags fails;
each canary fails once moto does it, naming the patch that can go. RV_CANARIES_AGAINST_PATCHED=1
runs them against a patched server, where each must fail.
"""

from __future__ import annotations

import pytest

from tests import moto_like_aws_budgets
from tests.canaries import Canaries
from tests.unpatched_moto import create_stack, fails

# With the other canary modules on one xdist worker: they share one unpatched server.
pytestmark = pytest.mark.xdist_group("unpatched-moto")

CANARIES = Canaries(moto_like_aws_budgets, moto_like_aws_budgets.patch)
canary, remove = CANARIES.mark, CANARIES.remove


def test_every_budgets_patch_has_a_canary():
    CANARIES.check()


BUDGET = {"Resources": {"Budget": {"Type": "AWS::Budgets::Budget", "Properties": {
    "Budget": {"BudgetName": "canary", "BudgetType": "COST", "TimeUnit": "MONTHLY",
               "BudgetLimit": {"Amount": 100, "Unit": "USD"}},
    "NotificationsWithSubscribers": [{
        "Notification": {"NotificationType": "ACTUAL", "ComparisonOperator": "GREATER_THAN",
                         "Threshold": 100, "ThresholdType": "PERCENTAGE"},
        "Subscribers": [{"SubscriptionType": "EMAIL", "Address": "team@example.com"}]}]}}}}


@canary("_patch_budget_resource")
def test_a_stack_with_a_budget_completes_without_it(aws):
    """AWS: CloudFormation creates the budget (user guide, AWS::Budgets::Budget)."""
    stack = create_stack(aws, "budgeted", BUDGET)
    account = aws("sts").get_caller_identity()["Account"]
    budgets = aws("budgets").describe_budgets(AccountId=account).get("Budgets", [])
    resources = [r for r in aws("cloudformation").list_stack_resources(
        StackName="budgeted")["StackResourceSummaries"] if r["LogicalResourceId"] == "Budget"]
    assert stack["StackStatus"] == "CREATE_COMPLETE"
    assert budgets == [] and resources == [], remove("_patch_budget_resource")


@canary("_patch_cost_allocation_tags")
def test_list_cost_allocation_tags_is_not_implemented(aws):
    """AWS: Cost Explorer lists the account's cost allocation tags and their status."""
    def ask() -> None:
        aws("ce").list_cost_allocation_tags(TagKeys=["rv-batch-cfn:stack"])
    assert fails(ask), remove("_patch_cost_allocation_tags")
