"""A monthly budget for the stack, its alerts, and the optional hard stop.

The budget (AWS::Budgets::Budget, created only with MonthlyBudget above 0) counts the costs
tagged `rv-batch-cfn:stack = <stack name>` (compute.STACK_TAG: the instances and their
volumes), which Budgets sees only once the tag is activated as a cost allocation tag in the
Billing console. With NotificationEmail set, Budgets e-mails that address at 80% of the
forecast and at 100% of the actual spend (Budgets' own e-mail: nothing of the stack's SNS topic,
whose key admits EventBridge only).

The hard stop (BudgetHardStop true) is a notification to something in the stack, not a budget
action: budget actions apply IAM policies or SCPs, or stop EC2 and RDS instances through SSM,
and none of them stops Batch from placing the next job. At 100% of the actual spend Budgets
publishes to an SNS topic of its own, which invokes a small Lambda function
(scripts/budget_stop.py) whose role may only disable this stack's queues and compute
environments (GPU, CPU and, when there is one, on-demand GPU), write to the job log group and,
with the e-mail, tell the owner through the notification topic how to resume. A budget without actions costs nothing; the function runs
once a month at most.
"""

from __future__ import annotations

from importlib import resources

from awacs import batch as batch_actions
from awacs import kms, logs, sns
from awacs.aws import Allow, ArnLike, Condition, PolicyDocument, Statement, StringEquals
from troposphere import (
    AccountId, And, Equals, GetAtt, If, Join, Not, NoValue, Or, Output,
    Parameter, Ref, Sub, Template, awslambda, budgets, iam,
)
from troposphere import sns as sns_resources

from ..config import StackConfig, limits
from . import compute, job_queues, notifications
from . import parameters as p
from .policies import VERSION, assume_role, service_principal

MONTHLY_BUDGET = p.MONTHLY_BUDGET  # parameter, whole USD
HARD_STOP = p.BUDGET_HARD_STOP  # parameter, "true" / "false"
HAS_BUDGET = "HasBudget"  # conditions
STOPS = "StopsAtBudget"
ALERTS_ACTUAL = "HasBudgetActualSubscriber"
BUDGET = "Budget"  # resources
STOP_TOPIC = "BudgetStopTopic"
STOP_TOPIC_POLICY = "BudgetStopTopicPolicy"
STOP_SUBSCRIPTION = "BudgetStopSubscription"
STOP_PERMISSION = "BudgetStopPermission"
STOP_ROLE = "BudgetStopRole"
STOP_FUNCTION = "BudgetStopFunction"
BUDGET_OUTPUT = "BudgetName"  # present only with a budget

FORECAST_PERCENT, ACTUAL_PERCENT = 80, 100
SCRIPT = "scripts/budget_stop.py"
RUNTIME = "python3.12"
# Budgets' filter on a cost allocation tag: "user:<key>$<value>" (Budgets API, CostFilters).
TAG_FILTER_KEY = "TagKeyValue"


def stop_script() -> str:
    """The hard stop's handler, as installed with the package (inlined as the function's code)."""
    return resources.files(__package__).joinpath(SCRIPT).read_text(encoding="utf-8")


def tag_filter() -> Sub:
    """`user:rv-batch-cfn:stack$<stack name>`: the costs tagged with this stack's name (a `$`
    not followed by `{` is itself in Fn::Sub)."""
    return Sub(f"user:{compute.STACK_TAG}$${{AWS::StackName}}")


def add_parameters(t: Template, cfg: StackConfig) -> None:
    """The budget in whole USD (0 or empty: none) and the hard stop."""
    high = limits.MONTHLY_BUDGET_USD[1]
    t.add_parameter(Parameter(
        MONTHLY_BUDGET, Type="String", Default=str(cfg.monthly_budget_usd),
        AllowedPattern=limits.MONTHLY_BUDGET_PATTERN,
        ConstraintDescription=f"must be empty, 0 (no budget) or whole US dollars up to {high}",
        Description="Optional monthly AWS budget (USD) for the costs tagged with this stack's "
                    f"name; 0 or empty: none. Alerts NotificationEmail at {FORECAST_PERCENT}% "
                    f"of the forecast and {ACTUAL_PERCENT}% of the actual spend. Activate the "
                    f"tag {compute.STACK_TAG} in Billing, Cost allocation tags."))
    t.add_parameter(Parameter(
        HARD_STOP, Type="String", Default=str(cfg.budget_hard_stop).lower(),
        AllowedValues=["false", "true"],
        Description=f"true: at {ACTUAL_PERCENT}% of MonthlyBudget's actual spend, disable the "
                    "queues and compute environments (no new job starts; running jobs finish)."))


def _has_budget() -> Not:
    amount = Ref(MONTHLY_BUDGET)
    return Not(Or(Equals(amount, ""), Equals(amount, "0")))


def add_conditions(t: Template) -> None:
    """A budget; its hard stop; someone to tell at 100% of the actual spend. Each spelt out
    rather than naming another condition (Condition: ...), which the emulator's YAML reader
    takes for an unknown function: the same conditions, as CloudFormation reads either."""
    stops = And(_has_budget(), Equals(Ref(HARD_STOP), "true"))
    t.add_condition(HAS_BUDGET, _has_budget())
    t.add_condition(STOPS, stops)
    t.add_condition(ALERTS_ACTUAL, Or(Not(Equals(Ref(p.NOTIFICATION_EMAIL), "")), stops))


def add_rules(t: Template) -> None:
    """The hard stop needs a budget (CloudFormation refuses the values before creating anything)."""
    t.add_rule("HardStopNeedsBudget", {
        "RuleCondition": Equals(Ref(HARD_STOP), "true"),
        "Assertions": [{
            "Assert": _has_budget(),
            "AssertDescription": f"{HARD_STOP} true needs a {MONTHLY_BUDGET} above 0.",
        }],
    })


def _notification(kind: str, percent: int,
                  subscribers: list) -> budgets.NotificationWithSubscribers:
    return budgets.NotificationWithSubscribers(
        Notification=budgets.Notification(NotificationType=kind, ComparisonOperator="GREATER_THAN",
                                          Threshold=percent, ThresholdType="PERCENTAGE"),
        Subscribers=subscribers)


def budget_notifications() -> If:
    """80% of the forecast to the e-mail; 100% of the actual spend to the e-mail and the hard
    stop's topic (each only when set)."""
    email = budgets.Subscriber(SubscriptionType="EMAIL", Address=Ref(p.NOTIFICATION_EMAIL))
    stop = budgets.Subscriber(SubscriptionType="SNS", Address=Ref(STOP_TOPIC))
    return If(ALERTS_ACTUAL, [
        If(notifications.HAS_EMAIL, _notification("FORECASTED", FORECAST_PERCENT, [email]),
           NoValue),
        _notification("ACTUAL", ACTUAL_PERCENT, [If(notifications.HAS_EMAIL, email, NoValue),
                                                 If(STOPS, stop, NoValue)]),
    ], NoValue)


def add_budget(t: Template) -> None:
    """The budget, named after the stack and its region (budgets are per account, not per
    region), and the hard stop when asked for."""
    t.add_resource(budgets.Budget(
        BUDGET, Condition=HAS_BUDGET,
        Budget=budgets.BudgetData(
            BudgetName=Sub("${AWS::StackName}-${AWS::Region}"),
            BudgetType="COST", TimeUnit="MONTHLY",
            BudgetLimit=budgets.Spend(Amount=Ref(MONTHLY_BUDGET), Unit="USD"),
            CostFilters={TAG_FILTER_KEY: [tag_filter()]},
        ),
        NotificationsWithSubscribers=budget_notifications(),
    ))
    t.add_output(Output(BUDGET_OUTPUT, Condition=HAS_BUDGET, Value=Ref(BUDGET),
                        Description="AWS budget of this stack's tagged costs"))
    add_hard_stop(t)


def _environments() -> list:
    """This stack's compute environments: GPU, CPU, and the on-demand GPU one when there is one
    (as notifications.queue_arns lists the queues)."""
    return [*(Ref(compute.compute_environment_id(kind)) for kind in p.KINDS),
            If(p.HAS_GPU_ON_DEMAND_QUEUE,
               Ref(compute.compute_environment_id(compute.GPU_ON_DEMAND)), NoValue)]


def stop_policy() -> PolicyDocument:
    """Disable this stack's queues and environments, and log."""
    return PolicyDocument(Version=VERSION, Statement=[
        Statement(Effect=Allow, Action=[batch_actions.UpdateJobQueue],
                  Resource=notifications.queue_arns()),
        Statement(Effect=Allow, Action=[batch_actions.UpdateComputeEnvironment],
                  Resource=_environments()),
        Statement(Effect=Allow, Action=[logs.CreateLogStream, logs.PutLogEvents],
                  Resource=[GetAtt(job_queues.LOG_GROUP, "Arn")]),
    ])


def tell_policy() -> PolicyDocument:
    """With the e-mail: publish the way to resume to the notification topic (its key's policy
    leaves the account's principals to IAM)."""
    return PolicyDocument(Version=VERSION, Statement=[
        Statement(Effect=Allow, Action=[sns.Publish], Resource=[Ref(notifications.TOPIC)]),
        Statement(Effect=Allow, Action=[kms.GenerateDataKey, kms.Decrypt],
                  Resource=[GetAtt(notifications.KEY, "Arn")]),
    ])


def stop_topic_policy() -> PolicyDocument:
    """Budgets of this account may publish (AWS Budgets user guide, "Creating an Amazon SNS
    topic for budget notifications")."""
    return PolicyDocument(Version=VERSION, Statement=[
        Statement(Sid="BudgetsOfThisAccount", Effect=Allow,
                  Principal=service_principal("budgets"), Action=[sns.Publish],
                  Resource=[Ref(STOP_TOPIC)],
                  Condition=Condition([
                      StringEquals("aws:SourceAccount", AccountId),
                      ArnLike("aws:SourceArn",
                              Sub("arn:${AWS::Partition}:budgets::${AWS::AccountId}:*")),
                  ])),
    ])


def add_hard_stop(t: Template) -> None:
    """The topic Budgets publishes to at 100%, the function it invokes, and its role."""
    t.add_resource(sns_resources.Topic(
        STOP_TOPIC, Condition=STOPS,
        Metadata=p.checkov_skip(
            "CKV_AWS_26", "Carries only Budgets' alert (budget name and amounts); Budgets "
            "cannot publish to a topic under the AWS managed key, and a key of its own costs "
            "1 USD a month")))
    t.add_resource(sns_resources.TopicPolicy(
        STOP_TOPIC_POLICY, Condition=STOPS, Topics=[Ref(STOP_TOPIC)],
        PolicyDocument=stop_topic_policy()))
    role = t.add_resource(iam.Role(
        STOP_ROLE, Condition=STOPS,
        Description="Raster Vision budget stop: disables this stack's queues and environments",
        AssumeRolePolicyDocument=assume_role("lambda"),
        Policies=[iam.Policy(PolicyName="budget-stop", PolicyDocument=stop_policy()),
                  If(notifications.HAS_EMAIL, iam.Policy(PolicyName="tell-owner",
                                                         PolicyDocument=tell_policy()), NoValue)],
        Metadata=p.guard_suppress("CFN_NO_EXPLICIT_RESOURCE_NAMES", p.NO_NAME_SET),
    ))
    function = t.add_resource(awslambda.Function(
        STOP_FUNCTION, Condition=STOPS,
        Description="Disables the Raster Vision queues and compute environments at the budget",
        Runtime=RUNTIME, Handler="index.handler", Role=GetAtt(role, "Arn"),
        Code=awslambda.Code(ZipFile=stop_script()),
        Timeout=60, MemorySize=128, ReservedConcurrentExecutions=1,
        LoggingConfig=awslambda.LoggingConfig(LogGroup=Ref(job_queues.LOG_GROUP)),
        Environment=awslambda.Environment(Variables={
            "JOB_QUEUES": Join(",", notifications.queue_arns()),
            "COMPUTE_ENVIRONMENTS": Join(",", _environments()),
            "STACK_NAME": Ref("AWS::StackName"),
            "TOPIC_ARN": If(notifications.HAS_EMAIL, Ref(notifications.TOPIC), ""),
        }),
        Metadata={"checkov": {"skip": [
            {"id": "CKV_AWS_117", "comment": "Calls only the Batch and SNS APIs: outside a VPC "
                                             "it needs no NAT gateway or endpoints"},
            {"id": "CKV_AWS_116", "comment": "Invoked by SNS, which retries; the next budget "
                                             "alert invokes it again, and doctor shows the state"},
            {"id": "CKV_AWS_173", "comment": "Its variables are ARNs and a stack name, no "
                                             "secrets; Lambda encrypts them at rest already"},
            {"id": "CKV_AWS_50", "comment": "One short run a month at most: its log in the job "
                                            "log group says what it did; tracing adds nothing"},
            {"id": "CKV_AWS_272", "comment": "The code is inline in this template, which is "
                                             "what is reviewed and signed off"},
        ]}},
    ))
    t.add_resource(awslambda.Permission(
        STOP_PERMISSION, Condition=STOPS, Action="lambda:InvokeFunction",
        FunctionName=GetAtt(function, "Arn"), Principal=Sub("sns.${AWS::URLSuffix}"),
        SourceArn=Ref(STOP_TOPIC), SourceAccount=AccountId))
    t.add_resource(sns_resources.SubscriptionResource(
        STOP_SUBSCRIPTION, Condition=STOPS, TopicArn=Ref(STOP_TOPIC), Protocol="lambda",
        Endpoint=GetAtt(function, "Arn")))
