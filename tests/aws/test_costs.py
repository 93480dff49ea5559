"""What a run cost: `jobs` estimates each job's cost against a stack deployed in the emulator.

The scenario: a spot GPU environment and an on-demand CPU one. ECS container instances are
registered in the compute environments' clusters from EC2 instances the test starts (moto's Batch
without Docker starts no instance and sets `containerInstanceArn` to "TBD"), and the jobs'
attempts are set to name them (tests/emulator.py `set_job_state`). Spot prices are recorded with
`record_spot_price` (tests/moto_like_aws.py `_patch_spot_prices`: moto's history is one made-up
price). The Pricing API is not in moto: a local stand-in answers GetProducts with the on-demand
prices the scenario sets (ON_DEMAND), in the documented shape; another refuses, as AWS does a
caller without the permission, and the on-demand prices are then unknown.

Each expected cost is computed here from the scenario's own figures (time × share × price),
not read back from the product. Over 300 lines: one scenario (a deployed stack, its instances,
prices and jobs) serves both commands, `jobs` and `costs`, whose fallback is `jobs`' estimate.
"""

from __future__ import annotations

import http.server
import json
from datetime import datetime, timedelta, timezone

import pytest

from rv_batch_cfn.aws.costs import estimate as costs, pricing
from tests import local_http
from tests.aws.batch_jobs import run_make, rv_name, submit
from tests.emulator import deploy, make_network, outputs, run_cli, set_job_state
from tests.local_http import serving
from tests.moto_like_aws import record_spot_price

pytestmark = pytest.mark.xdist_group("costs")

STACK = "rvc"
MINUTE = 60
# The stack's job sizes (parameters below) and the sizes EC2 gives the instances used.
GPU_JOB = {"vcpus": 8, "memory": 28000, "gpus": 1}
CPU_JOB = {"vcpus": 4, "memory": 12000}
G5_12XLARGE = {"vcpus": 48, "memory": 192 * 1024, "gpus": 4}
# A train job submitted by the batch_retry runner with the stack's train size as an override
# (containerOverrides.resourceRequirements): the 4 GPUs of a g5.12xlarge, not the job
# definition's 1.
TRAIN_SIZE = {"vcpus": 48, "memory": 180000, "gpus": 4}
M6I_2XLARGE = {"vcpus": 8, "memory": 32 * 1024}
# Spot prices (USD per hour) the scenario records.
ZONE_A_BEFORE, ZONE_A_AFTER, ZONE_B = 2.0, 2.5, 1.8
G4DN_2XLARGE_SPOT = {"a": 0.30, "b": 0.25, "c": 0.28}
# On-demand prices (USD per hour) the Pricing API stand-in answers for the scenario's region;
# g4dn.2xlarge is the cheapest GPU type that fits the GPU job.
ON_DEMAND = {"m6i.2xlarge": 0.384, "g4dn.2xlarge": 0.752, "g5.2xlarge": 1.212,
             "g6.2xlarge": 0.978, "g6e.2xlarge": 2.242}


def ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def register(emu, cluster: str, instance_type: str, zone: str, subnet: str) -> str:
    """Start an EC2 instance and register it with the cluster, as the ECS agent of a Batch
    instance does; its container instance ARN."""
    ec2, ecs = emu.client("ec2"), emu.client("ecs")
    instance = ec2.run_instances(ImageId="ami-12345678", MinCount=1, MaxCount=1,
                                 InstanceType=instance_type, SubnetId=subnet)["Instances"][0]
    assert instance["Placement"]["AvailabilityZone"] == zone
    document = json.dumps({"instanceId": instance["InstanceId"]})
    return ecs.register_container_instance(cluster=cluster, instanceIdentityDocument=document)[
        "containerInstance"]["containerInstanceArn"]


def clusters(emu, names: dict) -> dict[str, str]:
    """kind -> the ECS cluster of its compute environment."""
    batch = emu.client("batch")
    found = {}
    for kind, output in (("gpu", "GpuJobQueueName"), ("cpu", "CpuJobQueueName")):
        queue = batch.describe_job_queues(jobQueues=[names[output]])["jobQueues"][0]
        arn = queue["computeEnvironmentOrder"][0]["computeEnvironment"]
        env = batch.describe_compute_environments(computeEnvironments=[arn])[
            "computeEnvironments"][0]
        found[kind] = env["ecsClusterArn"]
    return found


@pytest.fixture(scope="module")
def scenario(emu) -> dict:
    """Run `exp`: `train` (GPU, spot) reclaimed once, its two attempts on g5.12xlarge in zones
    a and b, a price change in the middle of the first; `predict` (GPU) on an instance ECS no
    longer knows; `chip` (CPU, on-demand) on an m6i.2xlarge. Run `other`: one CPU job. Run
    `ddp`: a train job with the train size as its override, on a g5.12xlarge in zone b."""
    network = make_network(emu)
    names = outputs(deploy(emu, STACK, network, CpuCapacity="ON_DEMAND",
                           CPUInstanceVCPUs=CPU_JOB["vcpus"], CPUInstanceMemory=CPU_JOB["memory"],
                           GPUInstanceVCPUs=GPU_JOB["vcpus"],
                           GPUInstanceMemory=GPU_JOB["memory"]))
    cluster = clusters(emu, names)
    zones, subnets = network.zones, network.subnet_ids
    account = emu.client("sts").get_caller_identity()["Account"]
    now = datetime.now(timezone.utc).replace(microsecond=0)
    t = {"train1": (now - timedelta(minutes=60), now - timedelta(minutes=30)),
         "train2": (now - timedelta(minutes=25), now - timedelta(minutes=5)),
         "predict": (now - timedelta(minutes=4), now - timedelta(minutes=2)),
         "chip": (now - timedelta(minutes=12), now - timedelta(minutes=2)),
         "other": (now - timedelta(minutes=3), now - timedelta(minutes=1)),
         "ddp": (now - timedelta(minutes=16), now - timedelta(minutes=6))}
    price_change = now - timedelta(minutes=45)
    for when, price in ((now - timedelta(hours=2), ZONE_A_BEFORE), (price_change, ZONE_A_AFTER)):
        record_spot_price(account, emu.region, "g5.12xlarge", zones[0], price, when)
    record_spot_price(account, emu.region, "g5.12xlarge", zones[1], ZONE_B,
                      now - timedelta(hours=2))
    for zone, price in zip(zones, G4DN_2XLARGE_SPOT.values()):
        record_spot_price(account, emu.region, "g4dn.2xlarge", zone, price,
                          now - timedelta(hours=2))
    first = register(emu, cluster["gpu"], "g5.12xlarge", zones[0], subnets[0])
    second = register(emu, cluster["gpu"], "g5.12xlarge", zones[1], subnets[1])
    cpu = register(emu, cluster["cpu"], "m6i.2xlarge", zones[0], subnets[0])
    gone = first.rsplit("/", 1)[0] + "/0123456789abcdef0123456789abcdef"

    def attempt(key: str, instance: str, reason: str = "") -> dict:
        started, stopped = t[key]
        return {"startedAt": ms(started), "stoppedAt": ms(stopped), "statusReason": reason,
                "container": {"containerInstanceArn": instance, "logStreamName": key}}

    ids = {"train": submit(emu, names, "gpu", rv_name("exp", "train"), True),
           "predict": submit(emu, names, "gpu", rv_name("exp", "predict"), True),
           "chip": submit(emu, names, "cpu", rv_name("exp", "chip"), True),
           "other": submit(emu, names, "cpu", rv_name("other", "chip"), True)}
    queue, definition = names["GpuJobQueueName"], names["GpuJobDefinitionName"]
    ids["ddp"] = emu.client("batch").submit_job(
        jobName=rv_name("ddp", "train"), jobQueue=queue, jobDefinition=definition,
        tags={"rastervision:pipeline-run": "ddp", "rastervision:command": "train"},
        containerOverrides={"resourceRequirements": [
            {"type": "GPU", "value": str(TRAIN_SIZE["gpus"])},
            {"type": "VCPU", "value": str(TRAIN_SIZE["vcpus"])},
            {"type": "MEMORY", "value": str(TRAIN_SIZE["memory"])}]})["jobId"]
    set_job_state(emu, ids["train"], "SUCCEEDED", created_ago=70 * MINUTE, ran_for=25 * MINUTE,
                  attempts=[attempt("train1", first, "Host EC2 (instance i-1) terminated."),
                            attempt("train2", second)])
    set_job_state(emu, ids["predict"], "SUCCEEDED", created_ago=6 * MINUTE, ran_for=2 * MINUTE,
                  attempts=[attempt("predict", gone)])
    set_job_state(emu, ids["chip"], "SUCCEEDED", created_ago=15 * MINUTE, ran_for=10 * MINUTE,
                  attempts=[attempt("chip", cpu)])
    set_job_state(emu, ids["other"], "SUCCEEDED", created_ago=4 * MINUTE, ran_for=2 * MINUTE,
                  attempts=[attempt("other", cpu)])
    set_job_state(emu, ids["ddp"], "SUCCEEDED", created_ago=17 * MINUTE, ran_for=10 * MINUTE,
                  attempts=[attempt("ddp", second)])
    return {"ids": ids, "zones": zones, "minutes": {k: (b - a).total_seconds() / 60
                                                    for k, (a, b) in t.items()},
            "price_change": price_change, "t": t}


def expected(scenario: dict) -> dict[str, float]:
    """Each job's cost from the scenario's figures: hours × share × USD per hour."""
    minutes = scenario["minutes"]
    start, _ = scenario["t"]["train1"]
    before = (scenario["price_change"] - start).total_seconds() / 60
    gpu_share = max(GPU_JOB["vcpus"] / G5_12XLARGE["vcpus"], GPU_JOB["gpus"] / G5_12XLARGE["gpus"],
                    GPU_JOB["memory"] / G5_12XLARGE["memory"])
    assert gpu_share == 0.25  # the GPUs: 1 of 4
    first = (before * ZONE_A_BEFORE + (minutes["train1"] - before) * ZONE_A_AFTER) / 60
    second = minutes["train2"] / 60 * ZONE_B
    cpu_share = max(CPU_JOB["vcpus"] / M6I_2XLARGE["vcpus"],
                    CPU_JOB["memory"] / M6I_2XLARGE["memory"])
    assert cpu_share == 0.5  # the vCPUs: 4 of 8
    m6i_2xlarge_on_demand = ON_DEMAND["m6i.2xlarge"]
    # predict: a g4dn.2xlarge (the cheapest type of GPU environment that fits 8 vCPUs, 28000 MiB
    # and a GPU) takes all of it, in the cheapest of the subnets' zones.
    # ddp: its own resources, the train size, take the whole g5.12xlarge (its 4 GPUs).
    ddp_share = max(TRAIN_SIZE[k] / G5_12XLARGE[k] for k in ("vcpus", "gpus", "memory"))
    assert ddp_share == 1.0
    return {"ddp": minutes["ddp"] / 60 * ddp_share * ZONE_B,
            "train": gpu_share * (first + second),
            "predict": minutes["predict"] / 60 * 1.0 * min(G4DN_2XLARGE_SPOT.values()),
            "chip": minutes["chip"] / 60 * cpu_share * m6i_2xlarge_on_demand,
            "other": minutes["other"] / 60 * cpu_share * m6i_2xlarge_on_demand}


DENIED = "User: arn:aws:iam::123456789012:user/test is not authorized to perform: "


class _Refusing(local_http.Handler):
    """A JSON-protocol AWS service (the Pricing API, Cost Explorer, ECS) for a caller without
    the permission: AccessDeniedException, naming the action as AWS does."""

    def do_POST(self) -> None:  # noqa: N802 - http.server's name
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        service, _, action = (self.headers.get("X-Amz-Target") or ".").partition(".")
        prefix = next(p for key, p in (("Price", "pricing"), ("Insights", "ce"),
                                       ("ContainerService", "ecs"), ("", service)) if key in service)
        body = json.dumps({"__type": "AccessDeniedException",
                           "message": f"{DENIED}{prefix}:{action}"}).encode()
        self.reply(400, body, "application/x-amz-json-1.1")


@pytest.fixture(scope="module")
def refusing():
    """The URL of the refusing stand-in."""
    with serving(http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Refusing)) as url:
        yield url


class _Pricing(local_http.Handler):
    """The Pricing API's GetProducts for the scenario: the ON_DEMAND price of the instance type
    asked for, when every filter is the one AWS documents for an on-demand Linux price in the
    scenario's region, as a PriceList entry of the documented shape (a JSON string per
    product); no product otherwise."""

    def do_POST(self) -> None:  # noqa: N802 - http.server's name
        asked = json.loads(self.request_body())
        assert self.headers.get("X-Amz-Target") == "AWSPriceListService.GetProducts"
        filters = {f["Field"]: f["Value"] for f in asked.get("Filters", [])}
        kind = filters.get("instanceType", "")
        products = []
        if kind in ON_DEMAND and asked.get("ServiceCode") == "AmazonEC2" and filters == {
                **filters, "regionCode": "us-east-1", "operatingSystem": "Linux",
                "tenancy": "Shared", "preInstalledSw": "NA", "capacitystatus": "Used"}:
            products.append(json.dumps({
                "product": {"attributes": {"instanceType": kind}},
                "terms": {"OnDemand": {"SKU.JRTCKXETXF": {"priceDimensions": {
                    "SKU.JRTCKXETXF.6YS6EN2CT7": {"unit": "Hrs", "pricePerUnit": {
                        "USD": f"{ON_DEMAND[kind]:.10f}"}}}}}}}))
        body = json.dumps({"FormatVersion": "aws_v1", "PriceList": products}).encode()
        self.reply(200, body, "application/x-amz-json-1.1")


@pytest.fixture(scope="module")
def pricing_env():
    """AWS_ENDPOINT_URL_PRICING pointing at the Pricing API stand-in."""
    with serving(http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Pricing)) as url:
        yield {"AWS_ENDPOINT_URL_PRICING": url}


@pytest.fixture
def cli(emu, pricing_env):
    def run(*args: str):
        return run_cli(emu, *args, env=pricing_env)
    return run


@pytest.fixture(scope="module")
def report(emu, scenario, pricing_env) -> dict:
    result = run_cli(emu, "jobs", "--stack", STACK, "--json", env=pricing_env)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def jobs_by_id(report: dict) -> dict[str, dict]:
    return {j["job_id"]: j for r in report["runs"] for j in r["jobs"]}


def test_observed_spot_jobs_cost_their_share_at_the_prices_of_their_time(report, scenario):
    train = jobs_by_id(report)[scenario["ids"]["train"]]["cost"]
    want = expected(scenario)["train"]
    assert round(train["usd"], 2) == round(want, 2)
    assert train["usd"] == pytest.approx(want, abs=1e-4)
    first, second = train["attempts"]  # the reclaimed attempt is counted too
    assert {k: first[k] for k in ("attempt", "instance_type", "zone", "lifecycle", "basis",
                                  "share", "share_by", "price_source")} == {
        "attempt": 1, "instance_type": "g5.12xlarge", "zone": scenario["zones"][0],
        "lifecycle": "spot", "basis": "observed", "share": 0.25, "share_by": "GPUs",
        "price_source": pricing.SPOT_HISTORY}
    assert ZONE_A_BEFORE < first["usd_per_hour"] < ZONE_A_AFTER  # time-weighted
    assert first["seconds"] == 30 * MINUTE
    assert (second["zone"], second["usd_per_hour"], second["seconds"]) == (
        scenario["zones"][1], ZONE_B, 20 * MINUTE)
    assert train["assumed"] is False


def test_a_job_submitted_with_its_own_resources_costs_its_share_of_them(report, scenario):
    """The batch_retry runner's train size is an override at submission: the estimate uses
    the job's own resources (4 GPUs: the whole g5.12xlarge), not its job definition's (1 GPU:
    a quarter of it)."""
    ddp = jobs_by_id(report)[scenario["ids"]["ddp"]]["cost"]
    estimate, = ddp["attempts"]
    assert {k: estimate[k] for k in ("instance_type", "zone", "basis", "share")} == {
        "instance_type": "g5.12xlarge", "zone": scenario["zones"][1], "basis": "observed",
        "share": 1.0}
    assert ddp["usd"] == pytest.approx(expected(scenario)["ddp"], abs=1e-6)


def test_a_job_whose_instance_is_gone_is_priced_as_the_cheapest_type_that_fits(report,
                                                                               scenario):
    predict = jobs_by_id(report)[scenario["ids"]["predict"]]["cost"]
    estimate, = predict["attempts"]
    assert {k: estimate[k] for k in ("instance_type", "zone", "basis", "share")} == {
        "instance_type": "g4dn.2xlarge", "zone": scenario["zones"][1], "basis": "assumed",
        "share": 1.0}
    assert predict["assumed"] is True
    assert "no longer knows the instance" in estimate["note"]
    assert round(predict["usd"], 2) == round(expected(scenario)["predict"], 2)
    assert predict["usd"] == pytest.approx(expected(scenario)["predict"], abs=1e-6)


def test_an_on_demand_environment_uses_the_on_demand_price(report, scenario):
    chip = jobs_by_id(report)[scenario["ids"]["chip"]]["cost"]
    estimate, = chip["attempts"]
    assert (estimate["lifecycle"], estimate["instance_type"], estimate["share_by"]) == (
        "on-demand", "m6i.2xlarge", "vCPUs")
    assert estimate["price_source"] == pricing.PRICING_API
    assert estimate["usd_per_hour"] == ON_DEMAND["m6i.2xlarge"]
    assert not any("Pricing API" in n for n in report["cost_notes"])
    assert chip["usd"] == pytest.approx(expected(scenario)["chip"], abs=1e-6)


def test_without_the_pricing_permission_on_demand_prices_are_unknown(emu, refusing, scenario):
    result = run_cli(emu, "jobs", "--stack", STACK, "--json",
                     env={"AWS_ENDPOINT_URL_PRICING": refusing})
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    chip = jobs_by_id(report)[scenario["ids"]["chip"]]["cost"]
    assert (chip["usd"], chip["unpriced_attempts"]) == (0, 1)
    assert chip["attempts"][0]["price_source"] is None
    assert any(n.startswith("the Pricing API could not be used (AccessDeniedException: "
                            f"{DENIED}pricing:GetProducts): on-demand prices are unknown")
               for n in report["cost_notes"])
    # Spot prices come from EC2's history: the spot jobs keep theirs.
    want = expected(scenario)
    train = jobs_by_id(report)[scenario["ids"]["train"]]["cost"]
    assert train["usd"] == pytest.approx(want["train"], abs=1e-6)


def test_a_run_costs_the_sum_of_its_jobs_and_the_notes_say_what_is_left_out(report, scenario):
    want = expected(scenario)
    runs = {r["run"]: r for r in report["runs"]}
    exp = want["train"] + want["predict"] + want["chip"]
    assert runs["exp"]["cost_usd"] == pytest.approx(exp, abs=1e-4)
    assert runs["exp"]["cost_usd"] == pytest.approx(sum(j["cost"]["usd"]
                                                        for j in runs["exp"]["jobs"]), abs=1e-5)
    assert report["cost_usd"] == pytest.approx(exp + want["other"] + want["ddp"], abs=1e-4)
    assert costs.NOT_COUNTED in report["cost_notes"]
    assert costs.SHARE_RULE in report["cost_notes"]


def test_the_table_has_a_cost_column_a_total_per_run_and_the_notes(cli, scenario):
    result = cli("jobs", "--stack", STACK)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    title = next(line for line in lines if line.startswith("run exp:"))
    want = expected(scenario)
    assert title.endswith(f"estimated cost ${want['train'] + want['predict'] + want['chip']:.2f}")
    assert "COST (USD)" in lines[lines.index(title) + 1]
    predict = next(line for line in lines if scenario["ids"]["predict"] in line)
    assert f"${want['predict']:.4f}~" in predict.split()  # below a cent, assumed
    assert f"cost: {costs.NOT_COUNTED}" in lines


def test_cost_only_prints_one_line_per_run_for_scripts(cli, scenario):
    result = cli("jobs", "--stack", STACK, "--cost-only")
    assert result.returncode == 0, result.stderr
    want = expected(scenario)
    rows = [line.split("\t") for line in result.stdout.splitlines()]
    assert [name for name, _ in rows] == ["other", "exp", "ddp"]
    assert float(rows[1][1]) == pytest.approx(want["train"] + want["predict"] + want["chip"],
                                              abs=1e-4)
    assert costs.NOT_COUNTED in result.stderr
    data = json.loads(cli("jobs", "--stack", STACK, "--cost-only", "--json").stdout)
    assert [r["run"] for r in data["runs"]] == ["other", "exp", "ddp"]
    assert data["runs"][0]["cost_usd"] == pytest.approx(want["other"], abs=1e-5)


def test_no_cost_leaves_the_estimates_out(cli, scenario):
    result = cli("jobs", "--stack", STACK, "--json", "--no-cost")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert "cost_usd" not in report and all("cost" not in j for j in jobs_by_id(report).values())
    bad = cli("jobs", "--stack", STACK, "--cost-only", "--no-cost")
    assert bad.returncode == 2 and "--cost-only cannot go with --no-cost" in bad.stderr


def test_without_a_permission_the_jobs_are_listed_and_the_note_says_why(emu, refusing,
                                                                         pricing_env, scenario):
    env = {**pricing_env, "AWS_ENDPOINT_URL_ECS": refusing}
    result = run_cli(emu, "jobs", "--stack", STACK, "--json", env=env)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert set(jobs_by_id(report)) == set(scenario["ids"].values())
    assert all("cost" not in j for j in jobs_by_id(report).values())
    assert report["cost_notes"][0].startswith("no estimate: cannot describe the container "
                                              "instances of ")
    assert f"{DENIED}ecs:DescribeContainerInstances" in report["cost_notes"][0]


def test_make_jobs_cost_only(emu, scenario, pricing_env):
    result = run_make(emu, "jobs", f"STACK={STACK}", "RUN=exp", "COST_ONLY=1", env=pricing_env)
    assert result.returncode == 0, result.stderr
    assert [line.split("\t")[0] for line in result.stdout.splitlines()] == ["exp"]


def test_a_running_attempt_counts_to_now():
    # The library alone, with a fixed clock: the current attempt is the job's own container.
    started = datetime(2025, 1, 1, 12, tzinfo=timezone.utc)
    job = {"jobId": "j", "status": "RUNNING", "startedAt": ms(started),
           "attempts": [{"startedAt": ms(started - timedelta(hours=1)),
                         "stoppedAt": ms(started - timedelta(minutes=30)),
                         "container": {"containerInstanceArn": "arn:old"}}],
           "container": {"containerInstanceArn": "arn:new"}}
    tried = costs.attempts_of(job)
    assert [(a.number, a.instance_arn, a.stopped) for a in tried] == [
        (1, "arn:old", started - timedelta(minutes=30)), (2, "arn:new", None)]


def test_spot_prices_are_weighted_by_the_time_each_was_in_effect():
    t0 = datetime(2025, 1, 1, tzinfo=timezone.utc)
    history = [(t0 - timedelta(hours=1), 1.0), (t0 + timedelta(minutes=10), 4.0)]
    # 10 minutes at 1.0, then 20 at 4.0.
    assert pricing.time_weighted(history, t0, t0 + timedelta(minutes=30)) == pytest.approx(3.0)
    assert pricing.time_weighted(history, t0, t0) == 1.0
    assert pricing.time_weighted([], t0, t0 + timedelta(minutes=1)) is None


def test_the_pricing_api_answer_is_read_as_aws_documents_it():
    # moto has no Pricing API: botocore's Stubber answers GetProducts with a PriceList entry of
    # the documented shape (a JSON string per product), for a real client and PriceBook.
    import boto3
    from botocore.stub import Stubber

    product = {"product": {"attributes": {"instanceType": "g5.2xlarge"}}, "terms": {
        "OnDemand": {"X.JRTCKXETXF": {"priceDimensions": {"X.JRTCKXETXF.6YS6EN2CT7": {
            "unit": "Hrs", "pricePerUnit": {"USD": "1.2120000000"}}}}}}}
    client = boto3.client("pricing", region_name="us-east-1", aws_access_key_id="x",
                          aws_secret_access_key="x")

    class Session:
        def client(self, service, region_name=None):
            assert (service, region_name) == ("pricing", pricing.PRICING_REGION)
            return client

    with Stubber(client) as stub:
        stub.add_response("get_products", {"PriceList": [json.dumps(product)],
                                           "FormatVersion": "aws_v1"},
                          {"ServiceCode": "AmazonEC2", "MaxResults": 10,
                           "Filters": pricing.pricing_filters("g5.2xlarge", "eu-west-1")})
        book = pricing.PriceBook(Session(), "eu-west-1")
        price = book.on_demand("g5.2xlarge")
        assert book.on_demand("g5.2xlarge") is price  # asked once per command
    assert (price.usd_per_hour, price.source) == (1.212, pricing.PRICING_API)


# -- `costs`: Cost Explorer, else the estimate ------------------------------------------------
# Cost Explorer is moto's: GetCostAndUsage answers nothing unless results are queued through
# moto's own API (POST /moto-api/static/ce/cost-and-usage-results), which is used here rather
# than botocore's Stubber so that the command runs whole, through its own client, as a user runs
# it. moto hands a queued result to the first request and keeps it for every identical request
# after, so each test asks for days of its own (--since).

def queue_cost_explorer(emu, *results: dict) -> None:
    from tests.emulator import moto_api

    moto_api(emu, "static/ce/cost-and-usage-results", {"results": list(results)})


def day(start: str, end: str, **amounts: float) -> dict:
    return {"TimePeriod": {"Start": start, "End": end}, "Estimated": True, "Total": {},
            "Groups": [{"Keys": [service], "Metrics": {"UnblendedCost": {
                "Amount": str(amount), "Unit": "USD"}}} for service, amount in amounts.items()]}


def cost_explorer_requests() -> list[dict]:
    """The GetCostAndUsage requests moto answered (its backend keeps them as keys)."""
    from moto.ce.models import ce_backends

    return [json.loads(body) for body in ce_backends["123456789012"]["global"].cost_usage_results]


def test_costs_reads_cost_explorer_per_day_by_the_stack_tags(emu, cli, scenario):
    from rv_batch_cfn.aws.costs import cost_explorer
    from rv_batch_cfn.template.compute import STACK_TAG

    today = datetime.now(timezone.utc).date()
    days = [(today - timedelta(days=i)).isoformat() for i in (3, 2, 1, 0)]
    tomorrow = (today + timedelta(days=1)).isoformat()
    ec2, other, logs = "Amazon Elastic Compute Cloud - Compute", "EC2 - Other", "AmazonCloudWatch"
    queue_cost_explorer(emu, {"ResultsByTime": [
        day(days[0], days[1], **{ec2: 1.25, other: 0.5}),
        day(days[1], days[2]),
        day(days[2], days[3], **{ec2: 3.0, logs: 0.01}),
        day(days[3], tomorrow, **{other: 0.25})]})
    result = cli("costs", "--stack", STACK, "--since", "3d", "--json")
    assert result.returncode == 0, result.stderr
    bill = json.loads(result.stdout)
    assert (bill["source"], bill["problem"]) == ("cost-explorer", None)
    assert [(d["day"], d["instances"], d["volumes"], d["logs"]) for d in bill["days"]] == [
        (days[0], 1.25, 0.5, 0), (days[1], 0, 0, 0), (days[2], 3.0, 0, 0.01),
        (days[3], 0, 0.25, 0)]
    assert bill["total"] == pytest.approx(1.25 + 0.5 + 3.0 + 0.01 + 0.25)
    asked = [r for r in cost_explorer_requests() if r["TimePeriod"]["Start"] == days[0]]
    assert asked and asked[0]["TimePeriod"]["End"] == tomorrow
    assert asked[0]["Granularity"] == "DAILY"
    assert {(t["Tags"]["Key"], tuple(t["Tags"]["Values"])) for t in asked[0]["Filter"]["Or"]} == {
        (STACK_TAG, (STACK,)), (cost_explorer.CLOUDFORMATION_TAG, (STACK,))}
    text = cli("costs", "--stack", STACK, "--since", "3d")
    assert text.returncode == 0, text.stderr
    assert text.stdout.splitlines()[-1].startswith("note: Cost Explorer's costs")
    total = next(line for line in text.stdout.splitlines() if line.strip().startswith("total"))
    assert total.split() == ["total", "$4.25", "$0.75", "$0.01", "$0.00", "$5.01"]


def test_costs_without_the_tags_active_says_how_and_shows_the_estimate(cli, scenario):
    from rv_batch_cfn.template.compute import STACK_TAG

    result = cli("costs", "--stack", STACK, "--since", "1d", "--json")
    assert result.returncode == 1, result.stderr  # nothing queued: Cost Explorer has no cost
    bill = json.loads(result.stdout)
    assert bill["source"] == "estimate"
    assert bill["problem"].startswith(f"Cost Explorer has no cost for the tags {STACK_TAG}={STACK}")
    assert f"TagKey={STACK_TAG},Status=Active" in bill["problem"]
    assert "activate the tags" in result.stderr and "instead" in result.stderr
    want = expected(scenario)
    assert {r["run"]: r["cost_usd"] for r in bill["runs"]} == pytest.approx(
        {"exp": want["train"] + want["predict"] + want["chip"], "other": want["other"],
         "ddp": want["ddp"]}, abs=1e-4)
    assert bill["total"] == pytest.approx(sum(want.values()), abs=1e-4)
    assert {(d["volumes"], d["logs"], d["other"]) for d in bill["days"]} == {(None, None, None)}
    assert costs.NOT_COUNTED in bill["notes"]


def test_costs_without_permission_says_so_and_shows_the_estimate(emu, refusing, pricing_env,
                                                                 scenario):
    env = {**pricing_env, "AWS_ENDPOINT_URL_COST_EXPLORER": refusing}
    result = run_cli(emu, "costs", "--stack", STACK, "--since", "2d", env=env)
    assert result.returncode == 1, result.stderr
    assert "allow ce:GetCostAndUsage" in result.stderr
    assert result.stdout.startswith(f"stack {STACK}: estimate from the jobs' running time")
    by_run = result.stdout.split("by run:", 1)[1].splitlines()
    want = expected(scenario)
    assert f"  exp: ${want['train'] + want['predict'] + want['chip']:.2f}" in by_run
    total = next(line for line in result.stdout.splitlines() if line.strip().startswith("total"))
    amount = f"${sum(want.values()):.2f}"
    assert total.split() == ["total", amount, "-", "-", "-", amount]  # not counted, not zero


def test_the_help_names_the_tags_cost_explorer_asks_for():
    from rv_batch_cfn.aws.costs import cost_explorer
    from rv_batch_cfn.cli import costs as cli_costs

    assert (cli_costs.STACK_TAG, cli_costs.CLOUDFORMATION_TAG) == (
        cost_explorer.STACK_TAG, cost_explorer.CLOUDFORMATION_TAG)


def test_make_costs(emu, scenario, pricing_env):
    missing = run_make(emu, "costs")
    assert missing.returncode != 0 and "usage: make costs STACK=" in missing.stderr
    result = run_make(emu, "costs", f"STACK={STACK}", "SINCE=5d", "JSON=1", env=pricing_env)
    # No cost queued: the estimate, and the command's exit status 1.
    assert result.returncode == 1, result.stderr
    assert json.loads(result.stdout)["source"] == "estimate"


class _NotLikeAws(local_http.Handler):
    """An endpoint without Cost Explorer's actions: moto's answer to an action it lacks."""

    def do_POST(self) -> None:  # noqa: N802 - http.server's name
        from tests.aws.faulty_endpoints import NOT_IMPLEMENTED

        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        status, body = NOT_IMPLEMENTED
        self.reply(status, body, "text/html")


def test_cost_explorer_not_answering_like_aws_is_a_note_and_the_estimate_stands(
        emu, pricing_env, scenario):
    with serving(http.server.ThreadingHTTPServer(("127.0.0.1", 0), _NotLikeAws)) as url:
        env = {**pricing_env, "AWS_ENDPOINT_URL_COST_EXPLORER": url}
        result = run_cli(emu, "costs", "--stack", STACK, "--since", "2d", "--json", env=env)
    assert result.returncode == 1, result.stderr  # a finding, not an error
    assert "Traceback" not in result.stderr and ": error:" not in result.stderr
    bill = json.loads(result.stdout)
    assert bill["source"] == "estimate"
    assert "cannot read Cost Explorer (GetCostAndUsage)" in bill["problem"]
    assert bill["total"] == pytest.approx(sum(expected(scenario).values()), abs=1e-4)


def test_jobs_shows_the_spend_rate_of_the_jobs_running_now(emu, cli, scenario):
    # Last in this module: the running job joins the shared stack once every other test has
    # read it. Its instance is not known to ECS (moto's Batch without Docker), so the estimate
    # assumes the cheapest GPU type that fits, g4dn.2xlarge whole, at the cheapest zone's spot
    # price: the rate is that price, whatever the time.
    stack = emu.client("cloudformation").describe_stacks(StackName=STACK)["Stacks"][0]
    live = submit(emu, outputs(stack), "gpu", rv_name("live", "train"), True)
    set_job_state(emu, live, "RUNNING", created_ago=11 * MINUTE, ran_for=10 * MINUTE)
    rate = min(G4DN_2XLARGE_SPOT.values())
    result = cli("jobs", "--stack", STACK, "--json")
    report = json.loads(result.stdout)
    runs = {r["run"]: r for r in report["runs"]}
    assert report["usd_per_hour_now"] == pytest.approx(rate)
    assert report["running_now"] == 1
    assert runs["live"]["usd_per_hour_now"] == pytest.approx(rate)
    assert runs["exp"]["usd_per_hour_now"] == 0 and runs["other"]["usd_per_hour_now"] == 0
    job, = runs["live"]["jobs"]
    assert job["cost"]["running"] and job["cost"]["usd_per_hour_now"] == pytest.approx(rate)
    text = cli("jobs", "--stack", STACK).stdout
    total = sum(r["cost_usd"] for r in report["runs"])
    assert f"spend rate now: ${rate:.2f}/h for 1 running job (estimated; ${total:.2f} in all " \
           "shown)" in text
    assert f"run live: 1 job (1 RUNNING), estimated cost $" in text
    assert f"/h now" in text.split("run live:")[1].splitlines()[0]
