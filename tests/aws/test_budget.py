"""The monthly budget deployed in the emulator, and what the commands do with it: the budget
and its notifications as Budgets reports them, the hard stop's handler disabling the stack's
queues and compute environments, `resume`, `costs` against the budget, `doctor`, `teardown`.

moto's CloudFormation has no AWS::Budgets::Budget: tests/moto_like_aws_budgets.py adds the
handler CloudFormation has (created through moto's Budgets API, deleted with the stack). moto
cannot run a Lambda function without Docker, and Budgets in moto never computes spend or sends
an alert: the test runs the deployed function's handler itself (the package's file, with the
environment the stack gave the function) against the emulator's Batch and SNS, and sets the
budget's month-to-date spend on moto's budget the way Budgets reports it.
"""

from __future__ import annotations

import importlib.util
import json

import pytest

from rv_batch_cfn.template import budget, compute, notifications
from tests.emulator import deploy, make_network, outputs, physical_ids, run_cli
from tests.moto_like_aws_budgets import COST_ALLOCATION_TAGS

pytestmark = pytest.mark.xdist_group("budget")

STACK = "rvb"
EMAIL = "team@example.com"
LIMIT = "500"


@pytest.fixture(scope="module")
def stack(emu) -> dict:
    network = make_network(emu)
    deployed = deploy(emu, STACK, network, MonthlyBudget=LIMIT, BudgetHardStop="true",
                      NotificationEmail=EMAIL)
    assert deployed["StackStatus"] == "CREATE_COMPLETE"
    plain = deploy(emu, "plain", network, Prefix="plain")
    assert plain["StackStatus"] == "CREATE_COMPLETE"
    return deployed


def account(emu) -> str:
    return emu.client("sts").get_caller_identity()["Account"]


def moto_budget(emu, name: str):
    from moto.budgets.models import budgets_backends

    return budgets_backends[account(emu)]["aws"].budgets[account(emu)][name]


def states(emu, stack_name: str) -> dict[str, str]:
    ids = physical_ids(emu, stack_name)
    batch = emu.client("batch")
    queues = batch.describe_job_queues(jobQueues=[ids[f"{k}JobQueue"] for k in ("Gpu", "Cpu")])
    environments = batch.describe_compute_environments(
        computeEnvironments=[ids[f"{k}ComputeEnvironment"] for k in ("Gpu", "Cpu")])
    return {**{q["jobQueueName"]: q["state"] for q in queues["jobQueues"]},
            **{e["computeEnvironmentName"]: e["state"]
               for e in environments["computeEnvironments"]}}


def test_the_deployed_budget_counts_the_stacks_tag_and_alerts_as_asked(emu, stack):
    name = outputs(stack)[budget.BUDGET_OUTPUT]
    assert name == f"{STACK}-{emu.region}"
    budgets = emu.client("budgets")
    found = budgets.describe_budget(AccountId=account(emu), BudgetName=name)["Budget"]
    assert found["CostFilters"] == {"TagKeyValue": [f"user:{compute.STACK_TAG}${STACK}"]}
    assert (found["BudgetType"], found["TimeUnit"], float(found["BudgetLimit"]["Amount"])) == (
        "COST", "MONTHLY", float(LIMIT))
    alerts = budgets.describe_notifications_for_budget(AccountId=account(emu),
                                                       BudgetName=name)["Notifications"]
    assert sorted((n["NotificationType"], n["Threshold"], n["ComparisonOperator"])
                  for n in alerts) == [("ACTUAL", 100, "GREATER_THAN"),
                                       ("FORECASTED", 80, "GREATER_THAN")]
    # moto's Budgets API has no DescribeSubscribersForNotification: read what it stored.
    topic = physical_ids(emu, STACK)[budget.STOP_TOPIC]
    subscribers = {n.details["NotificationType"]: [(s["SubscriptionType"], s["Address"])
                                                    for s in n.subscribers]
                   for n in moto_budget(emu, name).notifications}
    assert subscribers == {"FORECASTED": [("EMAIL", EMAIL)],
                           "ACTUAL": [("EMAIL", EMAIL), ("SNS", topic)]}
    subscription, = [s for s in emu.client("sns").list_subscriptions()["Subscriptions"]
                     if s["TopicArn"] == topic]
    function = physical_ids(emu, STACK)[budget.STOP_FUNCTION]
    assert (subscription["Protocol"], subscription["Endpoint"].rsplit(":", 1)[-1]) == (
        "lambda", function)


def test_costs_shows_the_month_so_far_against_the_budget(emu, stack, tmp_path):
    name = outputs(stack)[budget.BUDGET_OUTPUT]
    # What Budgets reports once it has computed the month (moto never does).
    moto_budget(emu, name).budget["CalculatedSpend"] = {
        "ActualSpend": {"Amount": "123.45", "Unit": "USD"},
        "ForecastedSpend": {"Amount": "480", "Unit": "USD"}}
    result = run_cli(emu, "costs", "--stack", STACK, "--output", "json")
    assert result.returncode == 1, result.stderr  # no Cost Explorer data: the estimate
    assert json.loads(result.stdout)["budget"] == {
        "name": name, "limit": 500.0, "actual": 123.45, "forecast": 480.0, "percent": 24.69,
        "unit": "USD", "notifications": ["ACTUAL > 100%", "FORECASTED > 80%"],
        "hard_stop": True}
    text = run_cli(emu, "costs", "--stack", STACK).stdout
    assert (f"budget {name}: month so far $123.45 of $500.00 (25%), forecast $480.00 for the "
            "month, as Budgets last computed it") in text
    assert "new jobs stop at 100%\n" in text
    plain = run_cli(emu, "costs", "--stack", "plain", "--output", "json")
    assert json.loads(plain.stdout)["budget"] is None
    assert "budget: none" in run_cli(emu, "costs", "--stack", "plain").stdout


def doctor_budget(emu, stack_name: str, home) -> list[dict]:
    result = run_cli(emu, "doctor", "--stack", stack_name, "--json", env={"HOME": str(home)})
    assert result.returncode in (0, 1), result.stderr
    return [f for f in json.loads(result.stdout)["findings"] if f["check"] == "budget"]


def test_doctor_notes_a_stack_without_a_budget_and_reports_one(emu, stack, tmp_path):
    missing, = doctor_budget(emu, "plain", tmp_path)
    assert (missing["status"], missing["message"]) == (
        "note", "no monthly budget: nothing warns while a run gone wrong spends")
    assert "--param MonthlyBudget=" in missing["fix"]
    # The account's cost allocation tags, as Billing lists them (moto_like_aws_budgets: moto's
    # Cost Explorer has no ListCostAllocationTags): none yet, then the stack's inactive, active.
    COST_ALLOCATION_TAGS.clear()
    found = doctor_budget(emu, STACK, tmp_path)
    assert found[0]["status"] == "ok"
    assert found[0]["message"].startswith(f"budget {STACK}-{emu.region}: ")
    assert found[0]["message"].endswith("; the hard stop disables the queues at 100%")
    assert (found[-1]["status"], found[-1]["message"]) == (
        "warning", f"the cost allocation tag {compute.STACK_TAG} is not yet known to Billing: "
                   "the budget's filter matches nothing")
    assert f"TagKey={compute.STACK_TAG},Status=Active" in found[-1]["fix"]
    COST_ALLOCATION_TAGS.update({compute.STACK_TAG: "Inactive", "team": "Active"})
    assert f"{compute.STACK_TAG} is inactive:" in doctor_budget(emu, STACK, tmp_path)[-1][
        "message"]
    COST_ALLOCATION_TAGS[compute.STACK_TAG] = "Active"
    assert [f["status"] for f in doctor_budget(emu, STACK, tmp_path)] == ["ok"]
    COST_ALLOCATION_TAGS.clear()


def test_the_hard_stop_disables_this_stacks_queues_and_environments_only(emu, stack,
                                                                         monkeypatch):
    ids = physical_ids(emu, STACK)
    function = emu.client("lambda").get_function_configuration(
        FunctionName=ids[budget.STOP_FUNCTION])
    assert function["Handler"] == "index.handler"
    spec = importlib.util.spec_from_file_location(
        "budget_stop", budget.resources.files(budget.__package__).joinpath(budget.SCRIPT))
    handler = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(handler)
    # The environment Lambda gives the function: the stack's variables, the region, credentials.
    for key, value in {**function["Environment"]["Variables"], "AWS_ENDPOINT_URL": emu.endpoint,
                       "AWS_DEFAULT_REGION": emu.region, "AWS_ACCESS_KEY_ID": "testing",
                       "AWS_SECRET_ACCESS_KEY": "testing"}.items():
        monkeypatch.setenv(key, value)
    before = states(emu, "plain")
    # What SNS hands the function when Budgets publishes (the handler reads none of it).
    event = {"Records": [{"EventSource": "aws:sns", "Sns": {
        "TopicArn": ids[budget.STOP_TOPIC], "Subject": "AWS Budgets: rvb has exceeded",
        "Message": "AWS Budget Notification ..."}}]}
    result = handler.handler(event, None)

    assert set(states(emu, STACK).values()) == {"DISABLED"}
    assert len(result["disabled"]) == 4
    assert states(emu, "plain") == before  # another stack's are left alone
    from moto.sns.models import sns_backends

    topic = sns_backends[account(emu)][emu.region].topics[ids[notifications.TOPIC]]
    (_, message, subject, _, _), = topic.sent_notifications
    assert subject == f"Raster Vision stack {STACK} stopped at its budget"
    assert "jobs already running run to their end" in message
    assert f"rv-batch-cfn resume --stack {STACK} --region {emu.region}" in message
    assert "RasterVisionGpuJobQueue" in message and "GpuComputeEnvironment" in message

    # The owner resumes: the environments, then the queues, enabled again.
    resumed = run_cli(emu, "resume", "--stack", STACK, "--output", "json")
    assert resumed.returncode == 0, resumed.stderr
    assert len(json.loads(resumed.stdout)["enabled"]) == 4
    assert set(states(emu, STACK).values()) == {"ENABLED"}
    again = json.loads(run_cli(emu, "resume", "--stack", STACK, "--output", "json").stdout)
    assert (again["enabled"], len(again["already_enabled"])) == ([], 4)


def test_teardown_shows_the_budget_in_its_plan_and_deletes_it_with_the_stack(emu, stack):
    name = outputs(stack)[budget.BUDGET_OUTPUT]
    planned = run_cli(emu, "teardown", "--stack", STACK, "--dry-run", "--output", "json")
    assert planned.returncode == 0, planned.stderr
    assert json.loads(planned.stdout)["plan"]["budget_to_delete"] == name
    assert (f"among them the monthly budget {name} (its alerts and hard stop end with it)"
            in planned.stderr)
    done = run_cli(emu, "teardown", "--stack", STACK, "--yes", "--output", "json")
    assert done.returncode == 0, done.stderr
    assert [item for item in json.loads(done.stdout)["leftovers"]
            if item["kind"] == "budget"] == []
    budgets = emu.client("budgets").describe_budgets(AccountId=account(emu)).get("Budgets", [])
    assert name not in [b["BudgetName"] for b in budgets]
