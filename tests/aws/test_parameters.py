"""Parameter values and Rules checked against the committed template's own declarations."""

from __future__ import annotations

import pytest

from rv_batch_cfn.aws.deploy import parameter_values as checks
from rv_batch_cfn.aws.deploy.rules import check_rules
from rv_batch_cfn.aws.deploy import load_template
from rv_batch_cfn.errors import ConfigError
from tests.emulator import TEMPLATE

TEMPLATE_DATA = load_template(TEMPLATE)[1]
AMI_A, AMI_B = "ami-0123456789abcdef0", "ami-0fedcba9876543210"


def problems(call, *args) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        call(*args)
    return [str(p) for p in caught.value.problems]


def rule_values(**given: str) -> dict[str, str]:
    return checks.effective_values(TEMPLATE_DATA, given, {})


@pytest.mark.parametrize("name, given", [
    ("defaults", {}),
    ("custom GPU AMI, ECS-optimized CPU AMI", {"GpuAMI": AMI_A}),
    ("two different custom AMIs", {"GpuAMI": AMI_A, "CpuAMI": AMI_B}),
])
def test_rules_accept(name, given):
    check_rules(TEMPLATE_DATA, rule_values(**given))


def test_rule_refuses_the_same_ami_for_both_kinds():
    found = problems(check_rules, TEMPLATE_DATA, rule_values(GpuAMI=AMI_A, CpuAMI=AMI_A))
    assert found == [f"rule DistinctAmis: got {{'CpuAMI': '{AMI_A}', 'GpuAMI': '{AMI_A}'}}; "
                     + TEMPLATE_DATA["Rules"]["DistinctAmis"]["Assertions"][0]["AssertDescription"]]


def test_unknown_rule_functions_are_left_to_cloudformation():
    template = {"Rules": {"R": {"Assertions": [{"Assert": {"Fn::ValueOf": ["X", "VpcId"]}}]}}}
    check_rules(template, {})


def test_effective_values_precedence():
    values = checks.effective_values(TEMPLATE_DATA, {"Prefix": "given"},
                                     {"Prefix": "previous", "ImageTag": "previous"})
    assert (values["Prefix"], values["ImageTag"]) == ("given", "previous")
    assert values["GpuInstanceTypes"] == TEMPLATE_DATA["Parameters"]["GpuInstanceTypes"]["Default"]
    assert "VPC" not in values  # no default, nothing given


def test_assignments():
    assert checks.parse_assignments(["A=b=c", "B="]) == {"A": "b=c", "B": ""}
    assert problems(checks.parse_assignments, ["A=1", "A=2", "=x"]) == [
        "--param A: got '2'; given twice (first '1'); allowed: once",
        "--param: got '=x'; allowed: KEY=VALUE, e.g. Prefix=team1"]


@pytest.mark.parametrize("declaration, value, expected", [
    ({"Type": "String", "MaxLength": 3}, "abcd", "allowed: at most 3 characters"),
    ({"Type": "String", "AllowedPattern": "[a-z]+", "ConstraintDescription": "lower case"},
     "aB", "allowed: a value matching [a-z]+ (lower case)"),
    ({"Type": "List<Number>"}, "1,x", "item 'x': allowed: a number"),
    ({"Type": "AWS::EC2::VPC::Id"}, "vpc-1", "allowed: an id like vpc-0123456789abcdef0"),
    ({"Type": "Number", "MinValue": 0}, "-1", "allowed: at least 0"),
    ({"Type": "Number", "MaxValue": 9}, "10", "allowed: at most 9"),
    ({"Type": "Number", "MinValue": 0, "MaxValue": 9}, "9", None),
    ({"Type": "CommaDelimitedList", "AllowedValues": ["a", "b"]}, "a,b", None),
    # AllowedPattern applies to each member of a list (trimmed, as CloudFormation trims them).
    ({"Type": "CommaDelimitedList", "AllowedPattern": "[a-z]+"}, "ab, cd", None),
    ({"Type": "CommaDelimitedList", "AllowedPattern": "[a-z]+"}, "ab,C,d,E",
     "item 'C', item 'E': allowed: a value matching [a-z]+"),
    ({"Type": "CommaDelimitedList", "AllowedPattern": "[a-z]+"}, "ab,",
     "an empty item (two commas in a row, or a comma at either end): "
     "allowed: a value matching [a-z]+"),
    ({"Type": "List<Number>", "AllowedPattern": "[0-9]+"}, "1,2.5,x",
     "item '2.5': allowed: a value matching [0-9]+; item 'x': allowed: a number"),
    # Whole numbers where the declaration's numbers are all whole (every generated template);
    # never NaN or infinity, which compare false with any bound.
    ({"Type": "Number", "MinValue": 1, "MaxValue": 9}, "2.5", "allowed: a whole number"),
    ({"Type": "Number", "Default": 3}, "3.0", "allowed: a whole number"),
    ({"Type": "Number", "Default": 0.5}, "2.5", None),
    ({"Type": "Number"}, "2.5", None),
    ({"Type": "Number", "MinValue": 1, "MaxValue": 9}, "NaN", "allowed: a finite number"),
    ({"Type": "Number", "MaxValue": 9}, "-inf", "allowed: a finite number"),
    ({"Type": "Number", "MinValue": 1, "MaxValue": 9}, " 5", "allowed: a whole number"),
])
def test_value_problem(declaration, value, expected):
    assert checks.value_problem(declaration, value) == expected


def test_every_problem_at_once():
    found = problems(checks.check_values, TEMPLATE_DATA,
                     {"Nope": "1", "JobAttempts": "11", "LogRetentionDays": "2"})
    assert [f.split(":")[0] for f in found] == ["--param Nope", "--param JobAttempts",
                                               "--param LogRetentionDays"]
