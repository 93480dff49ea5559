"""doctor and rv-config on the stack's own safeguards: queue time limits, capacity kept while
idle, notifications; and an INVALID compute environment named with Batch's reason.

moto forgets a queue's JobStateTimeLimitActions and shows every email subscription as confirmed;
tests/moto_like_aws_alerts.py keeps the former and leaves e-mail subscriptions pending, as AWS
does until the address follows the confirmation link.
"""

from __future__ import annotations

import json

from rv_batch_cfn.aws import doctor
from tests.emulator import deploy, make_network, outputs

STACK = "rv"
EMAIL = "team@example.com"


def findings(cli, check: str, expected_code: int = 0) -> list[dict]:
    result = cli("doctor", "--stack", STACK, "--json")
    assert result.returncode == expected_code, result.stdout + result.stderr
    return [f for f in json.loads(result.stdout)["findings"] if f["check"] == check]


def test_the_defaults_cancel_unrunnable_jobs_and_scale_to_zero(emulator, cli):
    deploy(emulator, STACK, make_network(emulator))

    limits = findings(cli, doctor.TIME_LIMITS)
    assert [(f["status"], f["message"]) for f in limits] == [
        (doctor.OK, f"{label} job queue RasterVision{kind}JobQueue cancels a job that can never "
                    "run after 30 minutes; one waiting for capacity waits as long as it takes")
        for label, kind in (("GPU", "Gpu"), ("CPU", "Cpu"))]
    assert {f["status"] for f in findings(cli, doctor.IDLE)} == {doctor.OK}
    off, = findings(cli, doctor.NOTIFICATIONS)
    assert off["status"] == doctor.NOTE and "notifications are off" in off["message"]
    assert "NotificationEmail=" in off["fix"]


def test_no_time_limit_and_minimum_vcpus_are_notes_not_problems(emulator, cli):
    deploy(emulator, STACK, make_network(emulator), UnrunnableJobTimeout=0, MinimumVCPUs=4,
           CapacityWaitTimeout=240)

    limits = findings(cli, doctor.TIME_LIMITS)  # exit 0: notes only
    assert [f["status"] for f in limits] == [doctor.NOTE, doctor.NOTE]
    assert all("has no time limit" in f["message"] and "UnrunnableJobTimeout" in f["fix"]
               for f in limits)
    idle = findings(cli, doctor.IDLE)
    assert [f["status"] for f in idle] == [doctor.NOTE, doctor.NOTE]
    assert all("keeps 4 vCPUs running when idle" in f["message"] and "MinimumVCPUs=0" in f["fix"]
               for f in idle)


def test_capacity_limit_is_reported_in_hours(emulator, cli):
    deploy(emulator, STACK, make_network(emulator), CapacityWaitTimeout=240)
    assert all(f["message"].endswith("one waiting for capacity after 4 hours")
               for f in findings(cli, doctor.TIME_LIMITS))


def test_notifications_wait_for_the_address_to_confirm(emulator, cli):
    from moto.sns.models import sns_backends

    stack = deploy(emulator, STACK, make_network(emulator), NotificationEmail=EMAIL)

    pending, = findings(cli, doctor.NOTIFICATIONS)
    assert pending["status"] == doctor.NOTE
    assert f"notifications go to {EMAIL}, which has not confirmed" in pending["message"]
    assert "Subscription Confirmation" in pending["fix"]

    # The address follows the link: SNS marks the subscription confirmed.
    account = emulator.client("sts").get_caller_identity()["Account"]
    topic = outputs(stack)["NotificationTopicArn"]
    for subscription in sns_backends[account][emulator.region].subscriptions.values():
        if subscription.topic.arn == topic:
            subscription.attributes["PendingConfirmation"] = "false"
    confirmed, = findings(cli, doctor.NOTIFICATIONS)
    assert (confirmed["status"], confirmed["message"]) == (
        doctor.OK, f"failed jobs and blocked queues are e-mailed to {EMAIL}")


def test_an_invalid_compute_environment_names_batchs_reason(emulator, cli, monkeypatch):
    from moto.batch.models import BatchBackend

    deploy(emulator, STACK, make_network(emulator))
    reason = ("CLIENT_ERROR - The specified service role "
              "arn:aws:iam::123456789012:role/gone does not exist")
    original = BatchBackend.describe_compute_environments

    # moto reports every environment VALID; Batch marks one INVALID when, for instance, its
    # service role was deleted, and says so in statusReason.
    def invalid_gpu(self, *args, **kwargs):
        described = original(self, *args, **kwargs)
        for env in described:
            if "Gpu" in env["computeEnvironmentName"]:
                env.update(status="INVALID", statusReason=reason)
        return described

    monkeypatch.setattr(BatchBackend, "describe_compute_environments", invalid_gpu)
    problem, = [f for f in findings(cli, doctor.ENVIRONMENTS, expected_code=1)
                if f["status"] == doctor.PROBLEM]
    assert problem["message"].startswith("GPU compute environment ")
    assert problem["message"].endswith(f" is INVALID: {reason}")


def test_rv_config_says_whether_notifications_are_on(emulator, cli):
    net = make_network(emulator)
    deploy(emulator, STACK, net)
    deploy(emulator, "alerted", net, Prefix="alerted", NotificationEmail=EMAIL)

    off = cli("rv-config", "--stack", STACK)
    on = cli("rv-config", "--stack", "alerted")

    assert (off.returncode, on.returncode) == (0, 0)
    assert off.stderr.splitlines()[-1].startswith("notifications: off")
    assert on.stderr.splitlines()[-1].startswith("notifications: on")
    assert "alerted-notifications" in on.stderr
    assert on.stdout.startswith("[BATCH]\n") and "notifications" not in on.stdout
