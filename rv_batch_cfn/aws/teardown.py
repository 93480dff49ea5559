"""`teardown`: delete a stack the way that does not hang, and say what is left afterwards.

CloudFormation refuses to delete a stack whose exports another stack imports, and deleting
Batch compute environments waits for their instances, which running jobs keep. So, in order:
name the stacks importing its exports (a per-project job-definitions stack; they go first),
disable its job queues, cancel the jobs not yet started and terminate the running ones, wait a
while for them to end, delete the stack following its events, then list what deletion keeps:
retained ECR repositories (with their size), the log group if it survived, and the AMI
create-ami recorded (with its snapshots), each with the command that removes it.
"""

from __future__ import annotations

import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator, Optional

from ..errors import AwsError
from .ami.last import LAST_AMI, read_last_ami
from .clients.session import aws_errors, error_code
from .clients.stack import StackFollower, describe_stack, first_failure
from .clients.timeouts import SUCCESS, TIMEOUT, custom_waiter, wait_for

QUEUED = ("SUBMITTED", "PENDING", "RUNNABLE")  # CancelJob ends these
STARTED = ("STARTING", "RUNNING")  # only TerminateJob ends these
REASON = "rv-batch-cfn teardown of stack {stack}"
ENDED = ("SUCCEEDED", "FAILED")
JOBS_TIMEOUT = 300.0  # how long to wait for cancelled and terminated jobs to end
JOBS_DELAY = 5.0  # seconds between two reads of their statuses
DESCRIBE_JOBS_LIMIT = 100  # job ids per DescribeJobs call
# Batch has no waiters: this one is stated as botocore states AWS's own (waiters-2.json). The
# jobs have ended once none of them is in a state other than SUCCEEDED or FAILED.
JOBS_ENDED = {
    "operation": "DescribeJobs", "delay": 5, "maxAttempts": 60,
    "acceptors": [{"state": "success", "matcher": "path", "expected": True,
                   "argument": "length(jobs[?status != 'SUCCEEDED' && status != 'FAILED']) "
                               "== `0`"}]}

Say = Callable[[str], None]


@dataclass(frozen=True)
class Job:
    """A job of one of the stack's queues that has not ended."""

    job_id: str
    name: str
    status: str
    queue: str


@dataclass(frozen=True)
class Plan:
    """What teardown will do to a stack, read before anything is changed."""

    stack_name: str
    stack_id: str
    status: str
    region: str
    importers: dict[str, list[str]]  # export name -> the stacks importing it
    queues: dict[str, str]  # job queue ARN -> its state (ENABLED, DISABLED)
    jobs: tuple[Job, ...]
    resources: tuple[dict, ...]  # list_stack_resources' summaries
    retained: tuple[str, ...]  # logical ids deletion keeps (DeletionPolicy Retain)

    @property
    def budget(self) -> Optional[str]:
        """The name of the stack's monthly budget, deleted with it (None: it has none)."""
        return _budget_of(self.resources)

    @property
    def to_cancel(self) -> tuple[Job, ...]:
        return tuple(j for j in self.jobs if j.status in QUEUED)

    @property
    def to_terminate(self) -> tuple[Job, ...]:
        return tuple(j for j in self.jobs if j.status in STARTED)

    def as_dict(self) -> dict:
        return {"stack": self.stack_name, "stack_id": self.stack_id, "status": self.status,
                "region": self.region, "importers": self.importers,
                "queues_to_disable": [q for q, s in self.queues.items() if s != "DISABLED"],
                "jobs_to_cancel": [j.__dict__ for j in self.to_cancel],
                "jobs_to_terminate": [j.__dict__ for j in self.to_terminate],
                "resources": len(self.resources), "retained": list(self.retained),
                "budget_to_delete": self.budget}


@dataclass(frozen=True)
class Leftover:
    """Something that outlives the stack and keeps costing: what, how big, how to remove it."""

    kind: str
    name: str
    detail: str
    commands: tuple[str, ...] = field(default_factory=tuple)


class AlreadyDeleted(AwsError):
    """The stack is gone and CloudFormation lists it as DELETE_COMPLETE: a teardown cut off
    after the deletion was requested, run again, finds its work done."""


def plan_teardown(session: Any, stack_name: str) -> Plan:
    """Read the stack, the stacks importing its exports, its queues and their unfinished jobs.
    AwsError when the stack does not exist or is busy; AlreadyDeleted when it was deleted."""
    cfn = session.client("cloudformation")
    try:
        stack = describe_stack(cfn, stack_name)
    except AwsError as e:
        if "not found" in str(e) and _deleted(cfn, stack_name):
            raise AlreadyDeleted(f"stack {stack_name!r} is deleted already (DELETE_COMPLETE): "
                                 "nothing to do") from None
        raise AwsError(f"{str(e).rstrip('.')}. Nothing was changed") from None
    status = stack["StackStatus"]
    if status.endswith("_IN_PROGRESS") and status != "REVIEW_IN_PROGRESS":
        raise AwsError(f"stack {stack_name!r} is {status}: wait until it settles, then run "
                       "teardown again")
    unchanged = "Nothing was changed: run teardown again"
    with _step(f"read the resources of stack {stack_name!r}", unchanged):
        resources = tuple(r for page in cfn.get_paginator("list_stack_resources").paginate(
            StackName=stack["StackId"]) for r in page["StackResourceSummaries"])
        importers = _importers(cfn, stack)
        retained = _retained(cfn, stack["StackId"], resources)
    batch = session.client("batch")
    arns = [r["PhysicalResourceId"] for r in resources
            if r["ResourceType"] == "AWS::Batch::JobQueue" and r.get("PhysicalResourceId")]
    with _step(f"read the job queues of stack {stack_name!r}", unchanged):
        queues = {q["jobQueueArn"]: q.get("state", "") for q in
                  (batch.describe_job_queues(jobQueues=arns)["jobQueues"] if arns else [])}
        jobs = tuple(_unfinished_jobs(batch, list(queues)))
    return Plan(stack_name, stack["StackId"], status, cfn.meta.region_name, importers, queues,
                jobs, resources, retained)


def _deleted(cfn: Any, name: str) -> bool:
    """Whether CloudFormation lists a deleted stack of this name (it does for 90 days)."""
    with aws_errors(f"list the deleted stacks named {name!r}"):
        pages = cfn.get_paginator("list_stacks").paginate(StackStatusFilter=["DELETE_COMPLETE"])
        return any(s["StackName"] == name for page in pages for s in page["StackSummaries"])


@contextmanager
def _step(action: str, state: str) -> Iterator[None]:
    """An AWS failure inside: one AwsError saying what was being done and what is done."""
    try:
        with aws_errors(action):
            yield
    except AwsError as e:
        raise AwsError(f"{str(e).rstrip('.')}. {state}") from None


def _importers(cfn: Any, stack: dict) -> dict[str, list[str]]:
    found = {}
    for output in stack.get("Outputs", []):
        name = output.get("ExportName")
        if not name:
            continue
        imports: list[str] = []
        token = None
        try:
            while True:
                page = cfn.list_imports(ExportName=name, **({"NextToken": token} if token
                                                            else {}))
                imports += page.get("Imports", [])
                token = page.get("NextToken")
                if not token:
                    break
        except Exception as e:  # noqa: BLE001 - botocore's ClientError
            # AWS answers an export nobody imports with this ValidationError.
            if error_code(e) == "ValidationError" and "is not imported" in str(e):
                continue
            raise
        if imports:
            found[name] = sorted(imports)
    return found


def _retained(cfn: Any, stack_id: str, resources: tuple[dict, ...]) -> tuple[str, ...]:
    """The logical ids of existing resources whose DeletionPolicy is Retain (or RetainExceptOn-
    CompositeDeletion): deleting the stack leaves them."""
    from ..inputs import template_data

    body = cfn.get_template(StackName=stack_id, TemplateStage="Original")["TemplateBody"]
    data = body if isinstance(body, dict) else template_data(body)
    existing = {r["LogicalResourceId"] for r in resources}
    return tuple(sorted(name for name, resource in (data.get("Resources") or {}).items()
                        if str(resource.get("DeletionPolicy", "")).startswith("Retain")
                        and name in existing))


def _unfinished_jobs(batch: Any, queues: list[str]) -> list[Job]:
    jobs = []
    for queue in queues:
        for status in (*QUEUED, *STARTED):
            for page in batch.get_paginator("list_jobs").paginate(jobQueue=queue,
                                                                  jobStatus=status):
                jobs += [Job(j["jobId"], j.get("jobName", ""), status, queue)
                         for j in page["jobSummaryList"]]
    return jobs


def teardown(session: Any, plan: Plan, say: Optional[Say] = None,
             jobs_timeout: float = JOBS_TIMEOUT, last_ami: Optional[Path] = LAST_AMI
             ) -> list[Leftover]:
    """Carry out `plan`: disable the queues, end the jobs, delete the stack following its
    events; return what is left behind. AwsError when stacks import its exports (nothing is
    changed then) or the deletion fails."""
    say = say or (lambda line: None)
    if plan.importers:
        stacks = sorted({s for names in plan.importers.values() for s in names})
        raise AwsError(f"stack {plan.stack_name!r} cannot be deleted while "
                       f"{', '.join(stacks)} import{'s' if len(stacks) == 1 else ''} its "
                       f"exports ({', '.join(plan.importers)}): tear "
                       f"{'it' if len(stacks) == 1 else 'them'} down first "
                       + "; ".join(f"(rv-batch-cfn teardown --stack {s})" for s in stacks)
                       + ". Nothing was changed")
    batch, cfn = session.client("batch"), session.client("cloudformation")
    reason = REASON.format(stack=plan.stack_name)
    again = "run teardown again to go on (nothing is deleted yet)"
    with _step("disable the job queues", f"Queues disabled so far stay disabled; {again}"):
        for queue, state in plan.queues.items():
            if state != "DISABLED":
                batch.update_job_queue(jobQueue=queue, state="DISABLED")
                say(f"disabled job queue {queue.rsplit('/', 1)[-1]}")
    with _step("end the jobs", f"The queues are disabled, and jobs ended so far stay ended; "
                               f"{again}"):
        for job in plan.to_cancel:
            batch.cancel_job(jobId=job.job_id, reason=reason)
            say(f"cancelled job {job.name} ({job.job_id}, {job.status})")
        for job in plan.to_terminate:
            batch.terminate_job(jobId=job.job_id, reason=reason)
            say(f"terminated job {job.name} ({job.job_id}, {job.status})")
        if plan.jobs:
            _wait_for_jobs(batch, plan.jobs, jobs_timeout, say)
    resources = plan.resources
    _delete(cfn, plan, say)
    with _step("list what the stack left behind",
               f"Stack {plan.stack_name} is deleted; only the list of what it left behind "
               "(ECR repositories, log groups, the AMI create-ami built) is missing"):
        return leftovers(session, plan.region, resources, last_ami)


def _wait_for_jobs(batch: Any, jobs: tuple[Job, ...], timeout: float, say: Say) -> None:
    """Wait until the cancelled and terminated jobs have ended (JOBS_ENDED), at most `timeout`
    seconds in all."""
    ids = [job.job_id for job in jobs]
    deadline = time.monotonic() + timeout
    for start in range(0, len(ids), DESCRIBE_JOBS_LIMIT):
        waited = wait_for(batch, custom_waiter(batch, "JobsEnded", JOBS_ENDED), JOBS_DELAY,
                          max(deadline - time.monotonic(), 0.0),
                          jobs=ids[start:start + DESCRIBE_JOBS_LIMIT])
        if waited.outcome != SUCCESS:
            left = [j for j in waited.answer.get("jobs", []) if j["status"] not in ENDED]
            left_over = len(left) + len(ids[start + DESCRIBE_JOBS_LIMIT:])
            say(f"{left_over} job(s) still ending after {timeout:.0f} s; deleting the stack "
                "anyway (CloudFormation waits for their instances)")
            return
    say("every job of the stack's queues has ended")


def _delete(cfn: Any, plan: Plan, say: Say) -> None:
    ready = ("The queues are disabled and the jobs ended; the stack is not deleted yet: run "
             "teardown again to delete it")
    with _step(f"read the events of stack {plan.stack_name!r}", ready):
        follower = StackFollower(cfn, plan.stack_id, say)
    with _step(f"delete stack {plan.stack_name!r}", ready):
        cfn.delete_stack(StackName=plan.stack_id)
    say(f"deleting stack {plan.stack_name}; events:")
    requested = (f"The deletion was requested and goes on in AWS: run teardown again to see it "
                 f"through, or wait with `aws cloudformation wait stack-delete-complete "
                 f"--stack-name {plan.stack_id}`")
    with _step(f"follow the deletion of stack {plan.stack_name!r}", requested):
        waited = follower.wait(cfn.get_waiter("stack_delete_complete"))
    stacks = waited.answer.get("Stacks") or [{"StackStatus": "DELETE_COMPLETE"}]
    status = stacks[0]["StackStatus"]
    if waited.outcome == SUCCESS:
        say(f"stack {plan.stack_name} is DELETE_COMPLETE")
        return
    if waited.outcome == TIMEOUT:
        raise AwsError(f"stack {plan.stack_name!r} is still {status} after "
                       f"{follower.elapsed() / 60:.0f} minutes. {requested}")
    first = first_failure(follower.events, plan.stack_name)
    raise AwsError(f"stack {plan.stack_name!r} is {status}"
                   + (f"; the first failure: {first}" if first else "")
                   + ". Fix it, then run teardown again (it retries the deletion)")


def leftovers(session: Any, region: str, resources: tuple[dict, ...],
              last_ami: Optional[Path] = LAST_AMI) -> list[Leftover]:
    """What still exists of `resources` that keeps costing (ECR repositories, log groups), and
    the AMI create-ami recorded in `last_ami`, with the AWS CLI commands that remove them."""
    found = []
    # Where the AWS CLI commands go: this region, and the profile unless it is the default.
    profile = getattr(session, "profile_name", None)
    where = f"--region {region}" + (f" --profile {profile}" if profile not in (None, "default")
                                    else "")
    budget = _budget_of(resources)
    if budget:
        found += _budget(session, budget)
    for r in resources:
        name = r.get("PhysicalResourceId", "")
        if r["ResourceType"] == "AWS::ECR::Repository" and name:
            found += _repository(session, where, name)
        elif r["ResourceType"] == "AWS::Logs::LogGroup" and name:
            found += _log_group(session, where, name)
    ami = read_last_ami(last_ami) if last_ami is not None else None
    if ami:
        found += _ami(session, where, ami, last_ami)
    return found


BUDGET_TYPE = "AWS::Budgets::Budget"


def _budget_of(resources: tuple[dict, ...]) -> Optional[str]:
    return next((r["PhysicalResourceId"] for r in resources
                 if r["ResourceType"] == BUDGET_TYPE and r.get("PhysicalResourceId")), None)


def _budget(session: Any, name: str) -> list[Leftover]:
    """The budget, when the stack's deletion left it (CloudFormation deletes it with the stack;
    a budget left would go on alerting about a stack that is gone)."""
    from .costs.budget import BUDGETS_REGION

    account = session.client("sts").get_caller_identity()["Account"]
    budgets = session.client("budgets", region_name=BUDGETS_REGION)
    try:
        budgets.describe_budget(AccountId=account, BudgetName=name)
    except Exception as e:  # noqa: BLE001
        if error_code(e) == "NotFoundException":
            return []
        raise
    return [Leftover("budget", name, "the stack's monthly budget, still alerting",
                     (f"aws budgets delete-budget --account-id {account} --budget-name "
                      f"{name}",))]


def _repository(session: Any, where: str, name: str) -> list[Leftover]:
    ecr = session.client("ecr")
    try:
        images = [i for page in ecr.get_paginator("describe_images").paginate(
            repositoryName=name) for i in page["imageDetails"]]
    except Exception as e:  # noqa: BLE001
        if error_code(e) == "RepositoryNotFoundException":
            return []
        raise
    size = sum(i.get("imageSizeInBytes", 0) for i in images)
    return [Leftover("ECR repository", name, f"{len(images)} image(s), {_size(size)}; kept by "
                     "its DeletionPolicy so your images survive the stack",
                     (f"aws ecr delete-repository {where} --repository-name {name} "
                      "--force",))]


def _log_group(session: Any, where: str, name: str) -> list[Leftover]:
    logs = session.client("logs")
    groups = logs.describe_log_groups(logGroupNamePrefix=name).get("logGroups", [])
    group = next((g for g in groups if g["logGroupName"] == name), None)
    if group is None:
        return []
    return [Leftover("log group", name, f"{_size(group.get('storedBytes', 0))} of job logs",
                     (f"aws logs delete-log-group {where} --log-group-name {name}",))]


def _ami(session: Any, where: str, ami: str, record: Path) -> list[Leftover]:
    ec2 = session.client("ec2")
    try:
        images = ec2.describe_images(ImageIds=[ami])["Images"]
    except Exception as e:  # noqa: BLE001
        if error_code(e).startswith("InvalidAMIID"):
            return []
        raise
    if not images:
        return []
    snapshots = [m["Ebs"]["SnapshotId"] for m in images[0].get("BlockDeviceMappings", [])
                 if m.get("Ebs", {}).get("SnapshotId")]
    commands = [f"aws ec2 deregister-image {where} --image-id {ami}"]
    commands += [f"aws ec2 delete-snapshot {where} --snapshot-id {s}"
                 for s in snapshots]
    return [Leftover("AMI", ami, f"built by create-ami (recorded in {record}), with snapshot(s) "
                     f"{', '.join(snapshots) or 'unknown'}; other stacks may still use it",
                     tuple(commands))]


def _size(size: int) -> str:
    for unit in ("bytes", "KiB", "MiB", "GiB"):
        if size < 1024 or unit == "GiB":
            return f"{size:.0f} {unit}" if unit == "bytes" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{size:.1f} TiB"  # pragma: no cover


__all__ = ["plan_teardown", "teardown", "leftovers", "Plan", "Job", "Leftover", "JOBS_TIMEOUT"]
