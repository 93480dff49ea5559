"""What `deploy` shows of a change set's plan, text and --output json, from CloudFormation's
DescribeChangeSet answer.

Which resources a change set lists is CloudFormation's decision, not deploy's: the emulator lists
every resource of the template (tests/moto_like_aws.py leaves its list alone), so these tests
answer DescribeChangeSet from a script (tests/aws/scripted_cfn.py) with each kind of change.
"""

from __future__ import annotations

import io

from rv_batch_cfn.aws.deploy import change_set as deploy_module
from rv_batch_cfn.cli.common import Printer
from tests.aws.scripted_cfn import LOGS, TEMPLATE, ScriptedCloudFormation, Step

QUEUE, ENVIRONMENT = "AWS::Batch::JobQueue", "AWS::Batch::ComputeEnvironment"
PLAN = [
    {"Action": "Add", "LogicalResourceId": "OnDemandQueue", "ResourceType": QUEUE},
    {"Action": "Modify", "LogicalResourceId": "GpuEnvironment", "ResourceType": ENVIRONMENT,
     "Replacement": "True"},
    {"Action": "Modify", "LogicalResourceId": "CpuEnvironment", "ResourceType": ENVIRONMENT,
     "Replacement": "Conditional"},
    {"Action": "Modify", "LogicalResourceId": "Logs", "ResourceType": LOGS,
     "Replacement": "False"},
    {"Action": "Remove", "LogicalResourceId": "OldQueue", "ResourceType": QUEUE},
]


def declined_plan(monkeypatch) -> tuple[deploy_module.Deployment, str, ScriptedCloudFormation]:
    """deploy of the scripted plan, answered no when it asks to execute."""
    cfn = ScriptedCloudFormation([Step("UPDATE_COMPLETE")], changes=PLAN)
    cfn.clock(monkeypatch)
    out = io.StringIO()
    deployment = deploy_module.deploy(cfn, "rv", "template.yml", {}, ask=lambda question: False,
                                      say=Printer(out), template=TEMPLATE)
    return deployment, out.getvalue(), cfn


def test_each_change_is_one_row_with_its_symbol_and_replacement(monkeypatch):
    deployment, out, cfn = declined_plan(monkeypatch)
    assert deployment.outcome == deploy_module.DECLINED and cfn.executed is None
    plan = out[out.index("Planned changes"):].splitlines()
    assert plan[:6] == [
        "Planned changes (5):",
        "  + Add     OnDemandQueue   AWS::Batch::JobQueue",
        "  ~ Modify  GpuEnvironment  AWS::Batch::ComputeEnvironment  (replaced)",
        "  ~ Modify  CpuEnvironment  AWS::Batch::ComputeEnvironment  (may be replaced)",
        "  ~ Modify  Logs            AWS::Logs::LogGroup",
        "  - Remove  OldQueue        AWS::Batch::JobQueue",
    ]


def test_json_lists_every_change_with_its_replacement(monkeypatch):
    deployment, _, _ = declined_plan(monkeypatch)
    changes = deployment.as_dict()["change_set"]["changes"]
    assert changes == [{"action": c["Action"], "logical_id": c["LogicalResourceId"],
                        "type": c["ResourceType"], "replacement": c.get("Replacement")}
                       for c in PLAN]
