"""Two stacks in one account and region: Batch names are per account and region, so `deploy`
refuses a second stack whose job queue or job definition names (from Prefix, or the per-project
template's Namespace) another stack holds, before anything is created, naming the parameter."""

from __future__ import annotations

from tests import cli_runner
from tests.emulator import JOB_DEF_TEMPLATE, deploy, make_network, network_parameters, run_cli


def stack_names(emulator) -> set[str]:
    return {s["StackName"] for s in
            emulator.client("cloudformation").list_stacks()["StackSummaries"]
            if s["StackStatus"] != "DELETE_COMPLETE"}


def queue_names(emulator) -> set[str]:
    return {q["jobQueueName"] for q in
            emulator.client("batch").describe_job_queues()["jobQueues"]}


def test_a_second_stack_with_the_default_prefix_is_refused_naming_prefix(emulator):
    net = make_network(emulator)
    # The first stack as the console makes it, every default kept.
    assert deploy(emulator, "first", net)["StackStatus"] == "CREATE_COMPLETE"
    before = queue_names(emulator)

    refused = run_cli(emulator, "deploy", "--stack", "second", "--yes", *network_parameters(net))
    cli_runner.assert_one_clean_error(refused, "--param Prefix", "RasterVisionGpuJobQueue",
                                      "RasterVisionCpuJobDefinition", "nothing was created")
    assert refused.returncode == 2
    assert "second" not in stack_names(emulator)  # no change set, no stack under review
    assert queue_names(emulator) == before

    # The same with a Prefix of its own: both stacks live side by side.
    created = run_cli(emulator, "deploy", "--stack", "second", "--yes", "--param",
                      "Prefix=team2", *network_parameters(net))
    assert created.returncode == 0, created.stderr
    assert {"team2RasterVisionGpuJobQueue", "team2RasterVisionCpuJobQueue"} <= queue_names(
        emulator)
    assert before <= queue_names(emulator)

    # An update keeping the Prefix: the names are the stack's own, nothing refused.
    updated = run_cli(emulator, "deploy", "--stack", "first", "--yes",
                      "--param", "GPUInstanceStorage=300")
    assert updated.returncode == 0, updated.stderr
    # An update moving to a Prefix the other stack holds is refused.
    moved = run_cli(emulator, "deploy", "--stack", "first", "--yes", "--param", "Prefix=team2")
    cli_runner.assert_one_clean_error(moved, "--param Prefix", "team2RasterVisionGpuJobQueue")


def test_a_second_project_with_the_same_namespace_is_refused_naming_namespace(emulator):
    net = make_network(emulator)
    deploy(emulator, "main", net)
    args = ["deploy", "--template", str(JOB_DEF_TEMPLATE), "--yes",
            "--param", "MainStackName=main", "--param", "RepositoryName=raster-vision"]
    first = run_cli(emulator, *args, "--stack", "project-a", "--param", "Namespace=geo")
    assert first.returncode == 0, first.stderr
    second = run_cli(emulator, *args, "--stack", "project-b", "--param", "Namespace=geo")
    cli_runner.assert_one_clean_error(second, "--param Namespace",
                                      "geo-RasterVisionGpuJobDefinition")
    assert "project-b" not in stack_names(emulator)
