"""EC2 vCPU quotas and spot placement scores: `doctor`, `request-quota`, `deploy`,
`choose-subnets` and `smoke-test` against stacks on the emulator.

moto has no Service Quotas for EC2 and no GetSpotPlacementScores: tests/moto_like_aws_quotas.py
answers them as AWS does, with the values each test sets (an established account, whose quotas
hold any test stack, unless the test says otherwise).
"""

from __future__ import annotations

import json

import pytest

from rv_batch_cfn.aws import doctor
from rv_batch_cfn.aws.quotas.check import KindNeed, quota_needs
from rv_batch_cfn.instance_types import lookup
from rv_batch_cfn.template import parameters as params
from tests import moto_like_aws_quotas as stand_in
from tests.emulator import deploy, make_network, make_vpc

STACK = "rv"
G_SPOT, G_ON_DEMAND = "L-3819A6DF", "L-DB2E81BA"
STANDARD_SPOT = "L-34B43A08"


def run_doctor(cli) -> tuple[int, dict]:
    result = cli("doctor", "--stack", STACK, "--json")
    assert result.returncode in (0, 1), result.stderr
    return result.returncode, json.loads(result.stdout)


def quota_findings(report: dict) -> list[dict]:
    return [f for f in report["findings"] if f["check"] == doctor.QUOTAS]


def not_ok(findings: list[dict]) -> list[dict]:
    return [f for f in findings if f["status"] != doctor.OK]


@pytest.fixture
def quotas(emulator):
    return stand_in.quotas(emulator)


def test_a_new_accounts_zero_g_spot_quota_is_a_problem_naming_the_quota(emulator, cli, quotas):
    deploy(emulator, STACK, make_network(emulator))
    stand_in.new_account(quotas)  # 0 vCPUs of G and VT; 5 Standard

    code, report = run_doctor(cli)

    assert code == 1
    findings = not_ok(quota_findings(report))
    [gpu] = [f for f in findings if G_SPOT in f["message"]]
    assert gpu["status"] == doctor.PROBLEM
    # The default GPU types are 8-vCPU ones: g4dn.2xlarge is the first, by name, of the smallest.
    assert gpu["message"] == (
        "GPU spot vCPU quota 'All G and VT Spot Instance Requests' (L-3819A6DF, us-east-1) is 0 "
        "vCPUs, fewer than the 8 of one g4dn.2xlarge: no GPU job can start (Batch leaves it "
        "RUNNABLE)")
    assert "rv-batch-cfn request-quota --stack rv --region us-east-1 --kind gpu" in gpu["fix"]
    assert "per region and per account" in gpu["fix"]
    # The CPU kind needs 4 vCPUs of the Standard spot quota, whose new-account default is 5:
    # enough for a job, not for MaximumVCPUs (80): a note.
    [cpu] = [f for f in findings if STANDARD_SPOT in f["message"]]
    assert cpu["status"] == doctor.NOTE
    assert "is 5 vCPUs, below the 80 vCPUs of MaximumVCPUs" in cpu["message"]
    # Only spot quotas: the stack's environments are spot.
    assert not [f for f in quota_findings(report) if G_ON_DEMAND in f["message"]]


def test_enough_quota_is_no_finding(emulator, cli, quotas):
    deploy(emulator, STACK, make_network(emulator))
    stand_in.set_applied(quotas, G_SPOT, 96)
    stand_in.set_applied(quotas, STANDARD_SPOT, 80)

    code, report = run_doctor(cli)

    assert code == 0, report
    found = quota_findings(report)
    assert {f["status"] for f in found} == {doctor.OK}
    assert any("L-3819A6DF" in f["message"] and "is 96 vCPUs" in f["message"] for f in found)


def test_quota_between_one_instance_and_maximum_vcpus_is_a_note(emulator, cli, quotas):
    deploy(emulator, STACK, make_network(emulator))
    stand_in.set_applied(quotas, G_SPOT, 16)

    code, report = run_doctor(cli)

    assert code == 0
    [note] = not_ok(quota_findings(report))
    assert note["status"] == doctor.NOTE
    assert note["message"].startswith("GPU spot vCPU quota 'All G and VT Spot Instance "
                                      "Requests' (L-3819A6DF, us-east-1) is 16 vCPUs, below the "
                                      "80 vCPUs of MaximumVCPUs: scaling stops at 16 vCPUs")


def test_an_on_demand_gpu_environment_is_checked_against_the_on_demand_quota(emulator, cli,
                                                                          quotas):
    deploy(emulator, STACK, make_network(emulator), **{params.GPU.capacity: "ON_DEMAND"})
    stand_in.set_applied(quotas, G_SPOT, 0)  # would block a spot environment; not this one
    stand_in.set_applied(quotas, G_ON_DEMAND, 4)

    code, report = run_doctor(cli)

    assert code == 1
    found = quota_findings(report)
    assert not [f for f in found if G_SPOT in f["message"]]
    [problem] = [f for f in found if f["status"] == doctor.PROBLEM]
    assert ("GPU on-demand vCPU quota 'Running On-Demand G and VT instances' (L-DB2E81BA, "
            "us-east-1) is 4 vCPUs, fewer than the 8") in problem["message"]


def test_a_quota_shared_by_both_kinds_is_counted_once_with_both_needs():
    # Both kinds on Standard spot types: one quota, needing the larger of their smallest
    # fitting types for a job, and both MaximumVCPUs to scale both at once.
    gpu = KindNeed("gpu", "SPOT", (lookup("m6i.2xlarge"), lookup("m6i.4xlarge")), 80)
    cpu = KindNeed("cpu", "SPOT", (lookup("m6i.xlarge"),), 48)

    [need] = quota_needs([gpu, cpu], "us-east-1")

    assert (need.quota.code, need.kinds, need.one_instance, need.smallest, need.scale) == \
        (STANDARD_SPOT, ["gpu", "cpu"], 8, "m6i.2xlarge", 128)
    # On-demand for one kind: two quotas, each with its own kind.
    apart = quota_needs([gpu, KindNeed("cpu", "ON_DEMAND", cpu.fitting, 48)], "us-east-1")
    assert [(n.quota.code, n.kinds) for n in apart] == [(STANDARD_SPOT, ["gpu"]),
                                                         ("L-1216C47A", ["cpu"])]


def test_a_refused_permission_is_a_note_naming_it(emulator, cli, quotas):
    deploy(emulator, STACK, make_network(emulator))
    quotas.quota_denied.add("GetServiceQuota")

    code, report = run_doctor(cli)

    assert code == 0, report
    found = quota_findings(report)
    assert found and {f["status"] for f in found} == {doctor.NOTE}
    assert all("the credentials lack servicequotas:GetServiceQuota" in f["message"]
               for f in found)


def test_low_spot_scores_in_every_zone_of_the_subnets_are_a_note(emulator, cli):
    network = make_network(emulator)
    deploy(emulator, STACK, network)
    zones = {z["SubnetId"]: z["AvailabilityZone"] for z in emulator.client("ec2").describe_subnets(
        SubnetIds=network.subnet_ids)["Subnets"]}
    stand_in.placement(emulator)["zones"].update({z: 2 for z in zones.values()})

    code, report = run_doctor(cli)

    assert code == 0
    low = [f for f in report["findings"] if f["check"] == doctor.SPOT_SCORES
           and f["status"] == doctor.NOTE]
    assert [f["message"].split(" are low")[0].rsplit(" for ", 1)[1] for f in low] == \
        ["8 vCPUs", "80 vCPUs"]
    assert all("are low in every zone of the subnets" in f["message"] for f in low)
    calls = stand_in.placement(emulator)["calls"]
    # One GPU instance's worth, then MaximumVCPUs' worth, per zone of the region.
    assert [(c["TargetCapacity"], c["SingleAvailabilityZone"]) for c in calls] == \
        [(8, True), (80, True)]
    assert sorted(calls[0]["InstanceTypes"]) == ["g4dn.2xlarge", "g5.2xlarge", "g6.2xlarge"]


def test_a_refused_spot_score_request_is_a_note(emulator, cli):
    deploy(emulator, STACK, make_network(emulator))
    stand_in.placement(emulator)["error"] = "MaxSpotPlacementScoreRequestsExceeded"

    code, report = run_doctor(cli)

    assert code == 0
    [note] = [f for f in report["findings"] if f["check"] == doctor.SPOT_SCORES]
    assert note["status"] == doctor.NOTE
    assert "MaxSpotPlacementScoreRequestsExceeded" in note["message"]


# ---------------------------------------------------------------------------------------------
# request-quota


def run_main(capsys, *args: str) -> tuple[int, str, str]:
    from rv_batch_cfn import cli

    code = cli.main(list(args))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_request_quota_files_exactly_the_short_quotas_and_not_again_while_pending(emulator, cli,
                                                                              quotas):
    deploy(emulator, STACK, make_network(emulator))
    stand_in.new_account(quotas)  # G and VT spot 0, Standard spot 5: both below 80

    first = cli("request-quota", "--stack", STACK, "--yes")

    assert first.returncode == 0, first.stderr
    assert sorted((c["QuotaCode"], c["DesiredValue"]) for c in quotas.quota_request_calls) == \
        [(STANDARD_SPOT, 80.0), (G_SPOT, 80.0)]
    assert ("'All G and VT Spot Instance Requests' (L-3819A6DF, us-east-1), spot, GPU: 0 vCPUs, "
            "80 wanted: short by 80") in first.stdout
    assert "per region and per account" in first.stdout
    ids = [r["Id"] for r in quotas.quota_requests]
    for request_id in ids:
        assert f"request {request_id}, PENDING" in first.stdout

    again = cli("request-quota", "--stack", STACK, "--yes", "--output", "json")

    assert again.returncode == 0, again.stderr
    assert len(quotas.quota_request_calls) == 2  # nothing filed again
    data = json.loads(again.stdout)
    assert {q["code"]: (q["pending"]["status"], q["filed"]) for q in data["quotas"]} == {
        G_SPOT: ("PENDING", None), STANDARD_SPOT: ("PENDING", None)}
    assert "a request is already open" in again.stderr  # progress on standard error with JSON


def test_request_quota_for_one_kind_with_the_vcpus_asked(emulator, cli, quotas):
    deploy(emulator, STACK, make_network(emulator))
    stand_in.new_account(quotas)
    stand_in.add_request(quotas, STANDARD_SPOT, 64, status="CASE_OPENED")

    done = cli("request-quota", "--stack", STACK, "--kind", "gpu", "--vcpus", "32", "--yes")

    assert done.returncode == 0, done.stderr
    assert [(c["QuotaCode"], c["DesiredValue"]) for c in quotas.quota_request_calls] == \
        [(G_SPOT, 32.0)]
    assert STANDARD_SPOT not in done.stdout  # the CPU kind's quota is not this command's

    cpu = cli("request-quota", "--stack", STACK, "--kind", "cpu", "--yes")
    assert len(quotas.quota_request_calls) == 1
    assert "a request is already open" in cpu.stdout and "CASE_OPENED" in cpu.stdout


def test_request_quota_dry_run_files_nothing(emulator, cli, quotas):
    deploy(emulator, STACK, make_network(emulator))
    stand_in.new_account(quotas)

    result = cli("request-quota", "--stack", STACK, "--dry-run")

    assert result.returncode == 0, result.stderr
    assert quotas.quota_request_calls == []
    assert "Dry run: 2 increases would be requested." in result.stdout


def test_request_quota_asks_and_refuses_without_a_terminal(emulator, quotas, capsys,
                                                           monkeypatch):
    from rv_batch_cfn.cli import common

    deploy(emulator, STACK, make_network(emulator))
    stand_in.new_account(quotas)
    monkeypatch.setattr(common, "stdin_is_terminal", lambda: False)
    code, out, err = run_main(capsys, "request-quota", "--stack", STACK)
    assert code == 2 and out == ""
    assert "standard input is not a terminal, so request-quota cannot ask before requesting " \
           "quota increases; nothing was done. Pass --yes" in err

    monkeypatch.setattr(common, "stdin_is_terminal", lambda: True)
    monkeypatch.setattr("builtins.input", lambda question: print(question) or "n")
    code, out, err = run_main(capsys, "request-quota", "--stack", STACK, "--kind", "gpu")
    assert code == 1
    assert "Request 1 increase (L-3819A6DF to 80 vCPUs)? [y/N]" in out
    assert quotas.quota_request_calls == []


def test_request_quota_with_enough_quota_requests_nothing(emulator, cli, quotas):
    deploy(emulator, STACK, make_network(emulator))

    result = cli("request-quota", "--stack", STACK, "--yes")

    assert result.returncode == 0, result.stderr
    assert quotas.quota_request_calls == []
    assert "1024 vCPUs, 80 wanted: enough" in result.stdout
    assert result.stdout.rstrip().endswith("Nothing to request.")


# ---------------------------------------------------------------------------------------------
# deploy and choose-subnets: warnings, never a refusal


def test_deploy_warns_of_a_short_quota_and_still_deploys(emulator, quotas):
    from tests.emulator import network_parameters, run_cli

    network = make_network(emulator)
    stand_in.new_account(quotas)

    result = run_cli(emulator, "deploy", "--stack", STACK, "--yes", *network_parameters(network),
                     "--param", f"{params.GPU.capacity}=ON_DEMAND")

    assert result.returncode == 0, result.stderr
    # The values being deployed: GpuCapacity ON_DEMAND, so the on-demand quota, not the spot one.
    assert ("Warning: GPU on-demand vCPU quota 'Running On-Demand G and VT instances' "
            "(L-DB2E81BA, us-east-1) is 0 vCPUs, fewer than the 8 of one g4dn.2xlarge: no GPU "
            "job can start") in result.stdout
    assert G_SPOT not in result.stdout
    assert "rv-batch-cfn request-quota --stack rv --region us-east-1 --kind gpu" in result.stdout
    status = emulator.client("cloudformation").describe_stacks(StackName=STACK)["Stacks"][0]
    assert status["StackStatus"] == "CREATE_COMPLETE"


def test_choose_subnets_warns_shows_zone_and_region_scores_and_still_recommends(emulator, cli,
                                                                             quotas):
    vpc, _ = make_vpc(emulator, ["a", "b"])
    stand_in.new_account(quotas)
    stand_in.placement(emulator)["zones"].update({"us-east-1a": 8, "us-east-1b": 2})
    stand_in.placement(emulator)["regions"].update({"us-west-2": 10, "eu-west-1": 7})

    result = cli("choose-subnets", "--vpc", vpc, "--instance-types", "g5.2xlarge,m6i.xlarge")

    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[-1].startswith("Recommended SubnetIds")
    assert ("GPU spot placement scores (1 to 10) for 8 vCPUs of g5.2xlarge: us-east-1a 8, "
            "us-east-1b 2") in lines
    assert any(line.startswith("Best-scoring other regions for 80 vCPUs: us-west-2 10, ")
               for line in lines)
    assert any(line.startswith("Warning: GPU spot vCPU quota 'All G and VT Spot Instance "
                               "Requests' (L-3819A6DF, us-east-1) is 0 vCPUs") for line in lines)

    data = json.loads(cli("choose-subnets", "--vpc", vpc, "--instance-types",
                          "g5.2xlarge,m6i.xlarge", "--capacity", "ON_DEMAND", "--json").stdout)
    assert any("L-DB2E81BA" in w for w in data["quota_warnings"])
    assert data["spot_placement_scores"] == []  # on-demand: no spot scores asked


def test_a_shared_quota_blocks_only_the_kind_whose_smallest_type_it_cannot_hold():
    from rv_batch_cfn.aws.quotas.check import PROBLEM, QuotaValue, judge

    gpu = KindNeed("gpu", "SPOT", (lookup("m6i.2xlarge"),), 80)
    cpu = KindNeed("cpu", "SPOT", (lookup("m6i.xlarge"),), 80)
    [need] = quota_needs([gpu, cpu], "us-east-1")
    need.value = QuotaValue(5.0, "default")

    [finding] = judge([need], [gpu, cpu], "rv")

    assert finding.status == PROBLEM
    assert finding.message == (
        "GPU and CPU spot vCPU quota 'All Standard (A, C, D, H, I, M, R, T, Z) Spot Instance "
        "Requests' (L-34B43A08, us-east-1) is 5 vCPUs (both environments draw on it), fewer "
        "than the 8 of one m6i.2xlarge: no GPU job can start (Batch leaves it RUNNABLE)")
    assert "Request at least 8 vCPUs (160 to scale to MaximumVCPUs)" in finding.fix
    assert "--kind all" in finding.fix


def test_request_quota_without_the_permission_to_request_is_one_error(emulator, cli, quotas):
    from tests.cli_runner import assert_one_clean_error

    deploy(emulator, STACK, make_network(emulator))
    stand_in.new_account(quotas)
    quotas.quota_denied.add("RequestServiceQuotaIncrease")

    result = cli("request-quota", "--stack", STACK, "--kind", "gpu", "--yes")

    assert_one_clean_error(result, "cannot request 80 vCPUs for the quota 'All G and VT Spot "
                                   "Instance Requests' (L-3819A6DF, us-east-1) (needs "
                                   "servicequotas:RequestServiceQuotaIncrease)",
                           "AccessDeniedException")


def test_request_quota_refuses_a_vcpus_that_is_not_a_positive_number(cli):
    result = cli("request-quota", "--stack", STACK, "--vcpus", "0")
    assert result.returncode == 2
    assert "--vcpus: got '0'; allowed: a whole number of vCPUs, at least 1" in result.stderr


def test_make_request_quota_passes_its_settings_on():
    import shutil
    import subprocess

    from tests.emulator import ROOT

    if not shutil.which("make"):
        pytest.skip("needs make")
    shown = subprocess.run(["make", "-n", "-o", ".venv/bin/.installed", "request-quota",
                            "STACK=rv", "KIND=gpu", "VCPUS=32", "DRY_RUN=1", "YES=1"],
                           cwd=ROOT, capture_output=True, text=True, check=True).stdout
    assert "request-quota --stack 'rv' --kind gpu --vcpus 32 --dry-run --yes" in shown
    refused = subprocess.run(["make", "-s", "-o", ".venv/bin/.installed", "request-quota"],
                             cwd=ROOT, capture_output=True, text=True)
    assert refused.returncode == 2 and "usage: make request-quota STACK=" in refused.stderr
