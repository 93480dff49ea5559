"""AWS::Budgets::Budget in the emulator's CloudFormation, as tests/moto_like_aws.py does for what
else moto lacks (never in the product).

moto 5.2 has the Budgets API (budgets and their notifications) but no CloudFormation handler for
AWS::Budgets::Budget: measured, it logs "No Moto CloudFormation support", skips the resource and
completes the stack without a budget, so nothing the stack's budget does could be seen. This
patch adds the handler CloudFormation has (CloudFormation user guide, AWS::Budgets::Budget):
create the budget with its NotificationsWithSubscribers through moto's Budgets backend, Ref is
the budget's name, an update replaces it, and the stack's deletion deletes it. The budget's
properties are passed as the template gives them, as CloudFormation hands them to Budgets.

moto's Cost Explorer has no ListCostAllocationTags either (it answers 500): the second patch
answers it from `COST_ALLOCATION_TAGS`, which a test fills with the tags the account has and
their status, as Billing lists them (Cost Explorer API reference, ListCostAllocationTags).

The canaries are in tests/test_moto_like_aws_budgets.py.
"""

from __future__ import annotations

from typing import Any

_PATCHED = False
# Tag key -> "Active" or "Inactive": the cost allocation tags of the emulator's account.
COST_ALLOCATION_TAGS: dict[str, str] = {}


def patch() -> None:
    """Add the handler (idempotent)."""
    global _PATCHED
    if _PATCHED:
        return
    _PATCHED = True
    _patch_budget_resource()
    _patch_cost_allocation_tags()


def _backend(account_id: str, region_name: str) -> Any:
    from moto.budgets.models import budgets_backends
    from moto.utilities.utils import get_partition

    return budgets_backends[account_id][get_partition(region_name)]


def _patch_budget_resource() -> None:
    """AWS::Budgets::Budget: created, replaced on update, deleted with the stack."""
    from moto.cloudformation import parsing
    from moto.core.common_models import CloudFormationModel

    class StackBudget(CloudFormationModel):
        def __init__(self, account_id: str, region_name: str, name: str) -> None:
            self.account_id, self.region_name, self.name = account_id, region_name, name

        @staticmethod
        def cloudformation_type() -> str:
            return "AWS::Budgets::Budget"

        @staticmethod
        def cloudformation_name_type() -> str:
            return ""  # the name is inside Budget (BudgetName), or generated

        @property
        def physical_resource_id(self) -> str:
            return self.name

        @classmethod
        def create_from_cloudformation_json(cls, resource_name: str, cloudformation_json: Any,
                                            account_id: str, region_name: str,
                                            **kwargs: Any) -> "StackBudget":
            properties = cloudformation_json["Properties"]
            budget = dict(properties["Budget"])
            budget.setdefault("BudgetName", resource_name)
            # What Budgets stores and reports: the limit's amount is a decimal string.
            limit = dict(budget["BudgetLimit"])
            limit["Amount"] = str(limit["Amount"])
            budget["BudgetLimit"] = limit
            _backend(account_id, region_name).create_budget(
                account_id, budget, list(properties.get("NotificationsWithSubscribers") or []))
            return cls(account_id, region_name, budget["BudgetName"])

        @classmethod
        def update_from_cloudformation_json(cls, original_resource: Any, new_resource_name: str,
                                            cloudformation_json: Any, account_id: str,
                                            region_name: str) -> "StackBudget":
            original_resource.delete(account_id, region_name)
            return cls.create_from_cloudformation_json(new_resource_name, cloudformation_json,
                                                       account_id, region_name)

        def delete(self, account_id: str, region_name: str) -> None:
            backend = _backend(account_id, region_name)
            if self.name in backend.budgets[account_id]:
                backend.delete_budget(account_id, self.name)

    del StackBudget  # registered as a subclass of CloudFormationModel
    for cached in (parsing.get_model_list, parsing.get_model_map, parsing.get_name_type_map):
        cached.cache_clear()


def _patch_cost_allocation_tags() -> None:
    """ListCostAllocationTags from COST_ALLOCATION_TAGS, narrowed by TagKeys as AWS does."""
    import json

    from moto.ce.responses import CostExplorerResponse

    def list_cost_allocation_tags(self: Any) -> str:
        wanted = json.loads(self.body or "{}").get("TagKeys")
        return json.dumps({"CostAllocationTags": [
            {"TagKey": key, "Type": "UserDefined", "Status": status}
            for key, status in sorted(COST_ALLOCATION_TAGS.items())
            if wanted is None or key in wanted]})

    CostExplorerResponse.list_cost_allocation_tags = list_cost_allocation_tags
