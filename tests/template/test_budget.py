"""The monthly budget, its alerts and the hard stop, as generated (template/budget.py): the
budget's filter names the stack's cost allocation tag, each combination of budget, e-mail and
hard stop creates what it should, and the hard stop's function is the package's file, run by a
role that may only disable this stack's queues and compute environments. Deployed in the
emulator: tests/aws/test_budget.py."""

from __future__ import annotations

import ast
import builtins

import pytest

from rv_batch_cfn import StackConfig
from rv_batch_cfn.errors import ConfigError
from rv_batch_cfn.template import budget, compute, notifications
from rv_batch_cfn.template import parameters as p
from tests.template.helpers import template
from tests.template.intrinsics import PSEUDO, Resolver

STOP_RESOURCES = {budget.STOP_TOPIC, budget.STOP_TOPIC_POLICY, budget.STOP_SUBSCRIPTION,
                  budget.STOP_PERMISSION, budget.STOP_ROLE, budget.STOP_FUNCTION}
EMAIL = "team@example.com"


def created(**values: str) -> dict[str, dict]:
    return Resolver(template(), **values).resources()


def test_the_budgets_filter_names_the_stacks_cost_allocation_tag():
    resource = template()["Resources"][budget.BUDGET]
    assert resource["Type"] == "AWS::Budgets::Budget"
    data = created(MonthlyBudget="500")[budget.BUDGET]["Properties"]["Budget"]
    stack = PSEUDO["AWS::StackName"]
    assert data["CostFilters"] == {"TagKeyValue": [f"user:{compute.STACK_TAG}${stack}"]}
    assert (data["BudgetType"], data["TimeUnit"], data["BudgetLimit"]) == (
        "COST", "MONTHLY", {"Amount": "500", "Unit": "USD"})
    # The tag is the one the instances and their volumes carry, with the stack's name.
    environment = created()["GpuComputeEnvironment"]["Properties"]["ComputeResources"]
    assert environment["Tags"][compute.STACK_TAG] == stack


@pytest.mark.parametrize("amount", ["0", ""])
def test_zero_or_empty_creates_no_budget(amount):
    names = set(created(MonthlyBudget=amount, BudgetHardStop="false",
                        NotificationEmail=EMAIL))
    assert budget.BUDGET not in names and not STOP_RESOURCES & names
    assert template()["Outputs"][budget.BUDGET_OUTPUT]["Condition"] == budget.HAS_BUDGET
    assert not Resolver(template(), MonthlyBudget=amount).condition(budget.HAS_BUDGET)


def notifications_of(**values: str) -> list[tuple]:
    found = created(**values)[budget.BUDGET]["Properties"].get("NotificationsWithSubscribers", [])
    return [(n["Notification"]["NotificationType"], n["Notification"]["Threshold"],
             n["Notification"]["ThresholdType"], n["Notification"]["ComparisonOperator"],
             [(s["SubscriptionType"], s["Address"]) for s in n["Subscribers"]]) for n in found]


def test_with_an_email_it_hears_at_80_percent_forecast_and_100_percent_actual():
    assert notifications_of(MonthlyBudget="500", NotificationEmail=EMAIL) == [
        ("FORECASTED", 80, "PERCENTAGE", "GREATER_THAN", [("EMAIL", EMAIL)]),
        ("ACTUAL", 100, "PERCENTAGE", "GREATER_THAN", [("EMAIL", EMAIL)])]


def test_the_hard_stop_hears_100_percent_actual_through_its_topic():
    topic = f"<{budget.STOP_TOPIC}>"
    assert notifications_of(MonthlyBudget="500", BudgetHardStop="true") == [
        ("ACTUAL", 100, "PERCENTAGE", "GREATER_THAN", [("SNS", topic)])]
    assert notifications_of(MonthlyBudget="500", BudgetHardStop="true",
                            NotificationEmail=EMAIL)[1][4] == [("EMAIL", EMAIL), ("SNS", topic)]
    assert STOP_RESOURCES <= set(created(MonthlyBudget="500", BudgetHardStop="true"))
    assert not STOP_RESOURCES & set(created(MonthlyBudget="500"))


def test_without_an_email_or_a_stop_the_budget_only_counts():
    assert notifications_of(MonthlyBudget="500") == []


def test_a_hard_stop_without_a_budget_is_refused_by_a_rule_and_by_the_config():
    rule = template()["Rules"]["HardStopNeedsBudget"]

    def holds(**values: str) -> bool:
        resolver = Resolver(template(), **values)
        return not resolver.resolve(rule["RuleCondition"]) or all(
            resolver.resolve(a["Assert"]) for a in rule["Assertions"])
    assert holds() and holds(MonthlyBudget="500", BudgetHardStop="true")
    assert holds(MonthlyBudget="0", BudgetHardStop="false")
    assert not holds(MonthlyBudget="0", BudgetHardStop="true")
    assert not holds(MonthlyBudget="", BudgetHardStop="true")
    with pytest.raises(ConfigError) as refused:
        StackConfig(budget_hard_stop=True).validate()
    assert str(refused.value).count("budget_hard_stop: got True; allowed: true only with a "
                                    "monthly_budget_usd above 0") == 1
    with pytest.raises(ConfigError) as refused:
        StackConfig(monthly_budget_usd=-5).validate()
    assert "monthly_budget_usd: got -5; allowed: 0 to 9999999 USD a month (0: no budget)" \
        in str(refused.value)


@pytest.mark.parametrize("value,ok", [("", True), ("0", True), ("500", True),
                                      ("9999999", True), ("-1", False), ("05", False),
                                      ("12.50", False), ("10000000", False), ("lots", False)])
def test_the_console_takes_whole_dollars(value, ok):
    import re

    pattern = template()["Parameters"][p.MONTHLY_BUDGET]["AllowedPattern"]
    assert bool(re.fullmatch(pattern, value)) is ok


def test_the_stop_function_runs_the_package_file_which_fits_inline():
    function = template()["Resources"][budget.STOP_FUNCTION]["Properties"]
    code = budget.stop_script()
    assert function["Code"]["ZipFile"] == code
    assert len(code.encode()) <= 4096  # CloudFormation's limit on inline (ZipFile) code
    tree = ast.parse(code)
    handler, = [n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == "handler"]
    assert [a.arg for a in handler.args.args] == ["event", "context"]
    assert function["Handler"] == "index.handler"  # ZipFile code is saved as index.py
    imported = {a.name for n in ast.walk(tree) if isinstance(n, (ast.Import, ast.ImportFrom))
                for a in n.names}
    assert imported <= {"json", "os", "boto3"}  # Lambda's Python runtime has these
    # What a linter would say of it: every import used, every name read defined somewhere.
    targets = [n.targets[0] if isinstance(n, ast.Assign) else n.target for n in ast.walk(tree)
               if isinstance(n, (ast.Assign, ast.For, ast.comprehension))]
    defined = (imported | set(dir(builtins))
               | {n.name for n in ast.walk(tree) if isinstance(n, ast.FunctionDef)}
               | {a.arg for n in ast.walk(tree) if isinstance(n, ast.FunctionDef)
                  for a in n.args.args}
               | {t.id for target in targets for t in ast.walk(target)
                  if isinstance(t, ast.Name)})
    read = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)
            and isinstance(n.ctx, ast.Load)}
    assert imported <= read, imported - read
    assert read <= defined, read - defined
    compile(code, "index.py", "exec", dont_inherit=True)


def test_the_stop_role_may_only_disable_this_stacks_queues_and_environments():
    resources = created(MonthlyBudget="500", BudgetHardStop="true")
    role = resources[budget.STOP_ROLE]["Properties"]
    principal = role["AssumeRolePolicyDocument"]["Statement"][0]["Principal"]
    assert principal == {"Service": ["lambda.amazonaws.com"]}
    (policy,) = role["Policies"]  # no e-mail: nothing to publish to
    granted = {(tuple(s["Action"]), tuple(s["Resource"]))
               for s in policy["PolicyDocument"]["Statement"]}
    assert granted == {
        (("batch:UpdateJobQueue",), ("<GpuJobQueue>", "<CpuJobQueue>")),
        (("batch:UpdateComputeEnvironment",), ("<GpuComputeEnvironment>",
                                               "<CpuComputeEnvironment>")),
        (("logs:CreateLogStream", "logs:PutLogEvents"), ("<JobLogGroup.Arn>",))}
    # With the on-demand GPU queue, its queue and environment are stopped too.
    on_demand = created(MonthlyBudget="500", BudgetHardStop="true", GpuOnDemandMaximumVCPUs="32")
    (policy,) = on_demand[budget.STOP_ROLE]["Properties"]["Policies"]
    assert [s["Resource"] for s in policy["PolicyDocument"]["Statement"]][:2] == [
        ["<GpuJobQueue>", "<CpuJobQueue>", "<GpuOnDemandJobQueue>"],
        ["<GpuComputeEnvironment>", "<CpuComputeEnvironment>", "<GpuOnDemandComputeEnvironment>"]]
    told = created(MonthlyBudget="500", BudgetHardStop="true", NotificationEmail=EMAIL)
    _, tell = told[budget.STOP_ROLE]["Properties"]["Policies"]
    assert {(tuple(s["Action"]), tuple(s["Resource"]))
            for s in tell["PolicyDocument"]["Statement"]} == {
        (("sns:Publish",), (f"<{notifications.TOPIC}>",)),
        (("kms:GenerateDataKey", "kms:Decrypt"), (f"<{notifications.KEY}.Arn>",))}
    variables = told[budget.STOP_FUNCTION]["Properties"]["Environment"]["Variables"]
    assert variables["TOPIC_ARN"] == f"<{notifications.TOPIC}>"
    assert resources[budget.STOP_FUNCTION]["Properties"]["Environment"]["Variables"][
        "TOPIC_ARN"] == ""


def test_only_budgets_of_this_account_publish_to_the_stop_topic_and_only_it_invokes():
    resources = created(MonthlyBudget="500", BudgetHardStop="true")
    statement, = resources[budget.STOP_TOPIC_POLICY]["Properties"]["PolicyDocument"]["Statement"]
    assert statement["Principal"] == {"Service": ["budgets.amazonaws.com"]}
    assert statement["Action"] == ["sns:Publish"]
    assert statement["Condition"] == {
        "StringEquals": {"aws:SourceAccount": PSEUDO["AWS::AccountId"]},
        "ArnLike": {"aws:SourceArn": f"arn:aws:budgets::{PSEUDO['AWS::AccountId']}:*"}}
    permission = resources[budget.STOP_PERMISSION]["Properties"]
    assert (permission["Principal"], permission["SourceArn"]) == (
        "sns.amazonaws.com", f"<{budget.STOP_TOPIC}>")
    subscription = resources[budget.STOP_SUBSCRIPTION]["Properties"]
    assert (subscription["Protocol"], subscription["Endpoint"]) == (
        "lambda", f"<{budget.STOP_FUNCTION}.Arn>")


def test_the_console_groups_and_labels_the_budget():
    interface = template()["Metadata"]["AWS::CloudFormation::Interface"]
    groups = {g["Label"]["default"]: g["Parameters"] for g in interface["ParameterGroups"]}
    assert groups["Budget"] == [p.MONTHLY_BUDGET, p.BUDGET_HARD_STOP]
    assert interface["ParameterLabels"][p.MONTHLY_BUDGET] == {
        "default": "Monthly budget in USD (optional)"}


def test_deploy_checks_the_rule_before_any_call():
    from rv_batch_cfn.aws.deploy.rules import check_rules

    values = {name: str(declared.get("Default", ""))
              for name, declared in template()["Parameters"].items()}
    check_rules(template(), {**values, p.MONTHLY_BUDGET: "500", p.BUDGET_HARD_STOP: "true"})
    with pytest.raises(ConfigError) as refused:
        check_rules(template(), {**values, p.BUDGET_HARD_STOP: "true"})
    assert "BudgetHardStop true needs a MonthlyBudget above 0." in str(refused.value)
