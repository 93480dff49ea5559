"""Where moto falls short of AWS for the queue time limits, the notifications and the jobs that
`smoke-test` submits; compensated in the test fixture, never in the product (the companion of
tests/moto_like_aws.py, which calls `patch()`).

- CloudFormation: `Ref` on a Number parameter is a string in AWS (Fn::FindInMap and Fn::Equals
  see "30"); moto makes it an int.
- CloudFormation: an element of a list that is an Fn::If choosing AWS::NoValue is left out in
  AWS; moto keeps it as null (an EventBridge rule's pattern then names a queue `null`).
- CloudFormation: moto has no handler for AWS::SNS::Subscription and AWS::SNS::TopicPolicy
  (it logs "No Moto CloudFormation support" and creates nothing). (It also keeps the KeyPolicy
  of an AWS::KMS::Key as a mapping, and DescribeKey then fails; the product never reads the
  key, so tests/template/test_alerts_emulator.py reads moto's form instead of a patch.)
- Batch: moto accepts a queue's JobStateTimeLimitActions and forgets them; AWS returns them in
  DescribeJobQueues (doctor reads them there).
- Batch: moto drops a job's submit-time `retryStrategy` and `propagateTags`; AWS returns both
  in DescribeJobs (JobDetail), and `rerun` submits them again.
- Batch without Docker (`{"batch": {"use_docker": false}}`): moto marks a submitted job
  SUCCEEDED at once, writes no log and ignores TerminateJob. AWS moves a job through SUBMITTED,
  PENDING, RUNNABLE, STARTING and RUNNING, its container writes to the log group of the job
  definition, and TerminateJob fails a job that has not finished. When a test sets
  `BATCH.outcome`, the stand-in moves each job it submits next one status further each time
  DescribeJobs reports it, and at the end the job succeeds, fails as a container exiting with
  status 1 does, waits in RUNNABLE (no instance comes) until terminated, or waits in RUNNABLE
  for want of capacity and is then cancelled by its queue's time limit; unset, moto's own
  behaviour stays (a hook the tests use, so its canary passes against a patched server too).
- Batch: a job submitted with `containerOverrides.resourceRequirements` (the batch_retry
  runner's train size) runs with them; AWS's DescribeJobs reports them in the job's
  `container.resourceRequirements`, each override in place of the job definition's value of its
  type. moto reports no resourceRequirements at all (the cost estimate reads them there).
"""

from __future__ import annotations

import datetime
import json
import time
from dataclasses import dataclass
from typing import Any, Optional

SUCCEED, FAIL, HOLD, NO_CAPACITY = "succeed", "fail", "hold", "no-capacity"
# AWS's status reasons of a job RUNNABLE for want of instance capacity, and of one its queue's
# time limit then cancelled (Batch user guide, "Jobs stuck in RUNNABLE due to capacity").
WAITING_FOR_CAPACITY = ("CAPACITY:INSUFFICIENT_INSTANCE_CAPACITY - Service cannot fulfill the "
                        "capacity requested for instance type [g5.2xlarge]")
CANCELLED_FOR_CAPACITY = ("Canceled by JobStateTimeLimit action due to reason: "
                          "CAPACITY:INSUFFICIENT_INSTANCE_CAPACITY")
# AWS's status reason for a job whose container exited with a non-zero status.
CONTAINER_EXITED = "Essential container in task exited"


@dataclass
class BatchStandIn:
    """What jobs submitted from now on do: None (the default) leaves them to moto, which
    completes them at once (tests that set job states themselves rely on it)."""

    outcome: Optional[str] = None


BATCH = BatchStandIn()


def patch() -> None:
    """Apply every patch of this module; each has a canary in tests/test_moto_like_aws_alerts.py."""
    _patch_number_parameters()
    _patch_no_value_in_lists()
    _patch_sns_resources()
    _patch_queue_time_limits()
    _patch_simple_batch()
    _patch_job_resources()
    _patch_job_retry_strategy()


def _patch_number_parameters() -> None:
    """Ref on a Number parameter is a string in AWS (CloudFormation user guide, Parameters:
    "Number ... when you use the parameter elsewhere in your template (for example, by using the
    Ref intrinsic function), the parameter value becomes a string")."""
    from moto.cloudformation import parsing

    original_clean = parsing.clean_json
    original_condition = parsing.parse_condition

    def as_string(value: Any) -> Any:
        return str(value) if isinstance(value, (int, float)) and not isinstance(value, bool) \
            else value

    def clean_json(resource_json: Any, resources_map: Any) -> Any:
        if isinstance(resource_json, dict) and "Fn::FindInMap" in resource_json:
            name, *path = resource_json["Fn::FindInMap"]
            result = resources_map[name]
            for key in path:
                result = result[as_string(clean_json(key, resources_map))]
            return result
        return original_clean(resource_json, resources_map)

    def parse_condition(condition: Any, resources_map: Any, condition_map: Any) -> bool:
        if isinstance(condition, dict) and list(condition) == ["Fn::Equals"]:
            values = [condition_map[v["Condition"]] if isinstance(v, dict) and "Condition" in v
                      else as_string(clean_json(v, resources_map))
                      for v in condition["Fn::Equals"]]
            if not any(isinstance(v, bool) for v in values):
                return values[0] == values[1]
        return original_condition(condition, resources_map, condition_map)

    parsing.clean_json = clean_json
    parsing.parse_condition = parse_condition


def _patch_no_value_in_lists() -> None:
    """A list element whose intrinsic function resolves to AWS::NoValue is removed (CloudFormation
    user guide, pseudo parameters: AWS::NoValue "removes the corresponding resource property"),
    as the queues' Fn::If elements need."""
    from moto.cloudformation import parsing

    inner = parsing.clean_json  # _patch_number_parameters' (applied first)

    def clean_json(resource_json: Any, resources_map: Any) -> Any:
        if isinstance(resource_json, list):
            cleaned = [(item, clean_json(item, resources_map)) for item in resource_json]
            return [value for item, value in cleaned
                    if not (value is None and isinstance(item, dict))]
        return inner(resource_json, resources_map)

    parsing.clean_json = clean_json


def _patch_sns_resources() -> None:
    """AWS::SNS::Subscription subscribes, AWS::SNS::TopicPolicy sets the topics' policy
    (CloudFormation resource reference); moto has no handler for either."""
    from moto.cloudformation import parsing
    from moto.core.common_models import CloudFormationModel
    from moto.sns.models import sns_backends

    class Subscription(CloudFormationModel):
        """AWS::SNS::Subscription: an e-mail subscription waits for its confirmation."""

        def __init__(self, arn: str):
            self.arn = arn

        @property
        def physical_resource_id(self) -> str:
            return self.arn

        @staticmethod
        def cloudformation_type() -> str:
            return "AWS::SNS::Subscription"

        @staticmethod
        def cloudformation_name_type() -> str:
            return ""

        @classmethod
        def create_from_cloudformation_json(cls, resource_name: str, cloudformation_json: Any,
                                            account_id: str, region_name: str,
                                            **kwargs: Any) -> "Subscription":
            properties = cloudformation_json["Properties"]
            subscription = sns_backends[account_id][region_name].subscribe(
                properties["TopicArn"], properties["Endpoint"], properties["Protocol"])
            if properties["Protocol"] in ("email", "email-json"):
                subscription.attributes["PendingConfirmation"] = "true"
            return cls(subscription.arn)

        @classmethod
        def delete_from_cloudformation_json(cls, resource_name: str, cloudformation_json: Any,
                                            account_id: str, region_name: str) -> None:
            sns_backends[account_id][region_name].unsubscribe(resource_name)

    class TopicPolicy(CloudFormationModel):
        """AWS::SNS::TopicPolicy: the document replaces each topic's policy."""

        def __init__(self, topics: list[str]):
            self.topics = topics

        @property
        def physical_resource_id(self) -> str:
            return ",".join(self.topics)

        @staticmethod
        def cloudformation_type() -> str:
            return "AWS::SNS::TopicPolicy"

        @staticmethod
        def cloudformation_name_type() -> str:
            return ""

        @classmethod
        def create_from_cloudformation_json(cls, resource_name: str, cloudformation_json: Any,
                                            account_id: str, region_name: str,
                                            **kwargs: Any) -> "TopicPolicy":
            properties = cloudformation_json["Properties"]
            backend = sns_backends[account_id][region_name]
            for arn in properties["Topics"]:
                backend.get_topic(arn).policy = json.dumps(properties["PolicyDocument"])
            return cls(list(properties["Topics"]))

        @classmethod
        def delete_from_cloudformation_json(cls, resource_name: str, cloudformation_json: Any,
                                            account_id: str, region_name: str) -> None:
            pass  # the topics go with the stack

    # moto lists the CloudFormation models once (lru_cache): let it see the two new ones.
    for cached in (parsing.get_model_list, parsing.get_model_map, parsing.get_name_type_map):
        cached.cache_clear()
    assert {Subscription, TopicPolicy} <= set(parsing.get_model_list())


def _patch_queue_time_limits() -> None:
    """DescribeJobQueues returns jobStateTimeLimitActions (Batch API reference, JobQueueDetail)."""
    from moto.batch.models import JobQueue
    from moto.batch.utils import lowercase_first_key

    def remember(queue: Any, cloudformation_json: Any) -> Any:
        # An Fn::If that chose AWS::NoValue reaches moto as None: CloudFormation drops it.
        given = cloudformation_json["Properties"].get("JobStateTimeLimitActions") or []
        queue.time_limit_actions = [lowercase_first_key(a) for a in given if a]
        return queue

    create = JobQueue.create_from_cloudformation_json.__func__
    update = JobQueue.update_from_cloudformation_json.__func__  # tests/moto_like_aws.py's

    def create_queue(cls: Any, *args: Any, **kwargs: Any) -> Any:
        template = kwargs.get("cloudformation_json") or args[1]
        return remember(create(cls, *args, **kwargs), template)

    def update_queue(cls: Any, *args: Any, **kwargs: Any) -> Any:
        template = kwargs.get("cloudformation_json") or args[2]
        return remember(update(cls, *args, **kwargs), template)

    original_describe = JobQueue.describe

    def describe(self: Any) -> dict:
        return {**original_describe(self),
                "jobStateTimeLimitActions": getattr(self, "time_limit_actions", [])}

    JobQueue.create_from_cloudformation_json = classmethod(create_queue)
    JobQueue.update_from_cloudformation_json = classmethod(update_queue)
    JobQueue.describe = describe


def _patch_simple_batch() -> None:
    """A job goes SUBMITTED, PENDING, RUNNABLE, STARTING, RUNNING, then SUCCEEDED or FAILED
    (Batch user guide, "Job states"), its container logs to the job definition's log group,
    and TerminateJob fails a job not yet done."""
    from moto.batch.models import BatchBackend
    from moto.batch_simple.models import BatchSimpleBackend

    original_finish = BatchSimpleBackend._mark_job_as_finished

    def mark_job_as_finished(self: Any, include_start_attempt: bool, job: Any) -> None:
        if BATCH.outcome is None:
            return original_finish(self, include_start_attempt, job)
        self.backend._jobs[job.job_id] = job
        job.status = "SUBMITTED"
        job.stand_in_outcome = BATCH.outcome

    original_describe = BatchBackend.describe_jobs

    def describe_jobs(self: Any, jobs: Any) -> list:
        described = original_describe(self, jobs)
        for detail in described:  # reported as they were; the next look finds the next status
            job = self._jobs.get(detail["jobId"])
            if getattr(job, "stand_in_outcome", None):
                _advance(job)
        return described

    BatchSimpleBackend._mark_job_as_finished = mark_job_as_finished
    BatchBackend.describe_jobs = describe_jobs


def _patch_job_retry_strategy() -> None:
    """DescribeJobs returns the retryStrategy and propagateTags a job was submitted with (Batch
    API reference, JobDetail)."""
    from moto.batch.models import Job
    from moto.batch.responses import BatchResponse

    original_submit = BatchResponse.submit_job

    def submit_job(self: Any) -> str:
        result = original_submit(self)
        job = self.batch_backend._jobs[json.loads(result)["jobId"]]
        job.submitted_retry_strategy = self._get_param("retryStrategy")
        job.submitted_propagate_tags = self._get_param("propagateTags")
        return result

    original_describe = Job.describe

    def describe(self: Any) -> dict:
        described = original_describe(self)
        if getattr(self, "submitted_retry_strategy", None):
            described["retryStrategy"] = self.submitted_retry_strategy
        if getattr(self, "submitted_propagate_tags", None) is not None:
            described["propagateTags"] = self.submitted_propagate_tags
        return described

    BatchResponse.submit_job = submit_job
    Job.describe = describe


LIFE = ("SUBMITTED", "PENDING", "RUNNABLE", "STARTING", "RUNNING")


def _advance(job: Any) -> None:
    """One step of a job's life as AWS reports it. Steps follow DescribeJobs calls, not the
    clock, so whoever polls sees every status in order, however loaded the machine is."""
    if job.job_stopped:
        return
    if job.stop:  # TerminateJob: AWS fails the job with the reason given
        job._mark_stopped(success=False)
        return
    outcome = job.stand_in_outcome
    if job.status == "RUNNABLE" and outcome == HOLD:
        return
    if job.status == "RUNNABLE" and outcome == NO_CAPACITY:  # seen waiting once: cancelled
        job.job_stopped_reason = CANCELLED_FOR_CAPACITY
        job._mark_stopped(success=False)
        return
    if job.status != "RUNNING":
        job.status = LIFE[LIFE.index(job.status) + 1]
        if job.status == "RUNNABLE" and outcome == NO_CAPACITY:
            job.job_stopped_reason = WAITING_FOR_CAPACITY
        if job.status == "RUNNING":
            job.job_started_at = datetime.datetime.now()
            job.log_stream_name = _write_log(job, outcome)
            job._start_attempt()
        return
    if outcome == FAIL:
        job.job_stopped_reason = CONTAINER_EXITED
        job.exit_code = 1
    job._mark_stopped(success=outcome != FAIL)


def _write_log(job: Any, outcome: str) -> str:
    """What the container would print, in the job definition's log group, in a stream named
    as the awslogs driver names it (prefix/container/task)."""
    container = job.job_definition.container_properties or {}
    options = (container.get("logConfiguration") or {}).get("options") or {}
    group = options.get("awslogs-group", "/aws/batch/job")
    stream = f"{options.get('awslogs-stream-prefix', 'default')}/default/{job.job_id}"
    command = job.container_overrides.get("command") or container.get("command") or []
    now = int(time.time() * 1000)
    lines = [f"[emulator stand-in for the container] {' '.join(command)}"]
    if outcome == FAIL:
        lines.append("[emulator stand-in] the command exited with status 1")
    logs = job._log_backend
    logs.ensure_log_group(group)
    logs.ensure_log_stream(group, stream)
    logs.put_log_events(group, stream, [{"timestamp": now + i, "message": line}
                                        for i, line in enumerate(lines)])
    return stream


def _patch_job_resources() -> None:
    """DescribeJobs: a job's container.resourceRequirements are its job definition's with the
    submit-time overrides applied, type by type (API reference, ContainerDetail and
    ContainerOverrides.resourceRequirements: "overrides the resourceRequirements of the job
    definition")."""
    from moto.batch.models import Job

    original = Job._container_details

    def container_details(self: Any) -> dict:
        details = original(self)
        defined = (self.job_definition.container_properties or {}).get(
            "resourceRequirements") or []
        overridden = {r["type"]: r for r in self.container_overrides.get(
            "resourceRequirements") or []}
        merged = [overridden.pop(r["type"], r) for r in defined]
        if merged or overridden:
            # Values are strings in AWS's answer (ResourceRequirement.value); moto keeps the
            # numbers a CloudFormation Number parameter gave the job definition.
            details["resourceRequirements"] = [
                {**r, "value": str(r["value"])} for r in [*merged, *overridden.values()]]
        return details

    Job._container_details = container_details
