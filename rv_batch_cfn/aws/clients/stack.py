"""Reading a deployed stack: its status, outputs, resources and events, with errors a user can
act on; and following its events while boto3's waiters wait for an operation to end (`deploy`
after ExecuteChangeSet, `teardown` after DeleteStack)."""

from __future__ import annotations

import time
from typing import Any, Callable, Optional

from ...errors import AwsError
from .session import aws_error, not_aws_answer
from .timeouts import Waited, wait_for

# Seconds between two reads while following a stack: how late an event may be shown.
FOLLOW_DELAY = 5.0
# How long a stack operation is followed: as long as the AWS CLI's stack waiters wait (120
# reads, 30 s apart). The operation goes on in AWS afterwards.
STACK_TIMEOUT = 3600.0
# A line after so many seconds without a new stack event (a compute environment takes minutes,
# with no event).
QUIET_REPORT = 60.0

COMPLETE_STATES = ("CREATE_COMPLETE", "UPDATE_COMPLETE", "UPDATE_ROLLBACK_COMPLETE",
                   "IMPORT_COMPLETE", "IMPORT_ROLLBACK_COMPLETE")


def describe_stack(cfn: Any, name: str) -> dict:
    """The stack's description; AwsError when it does not exist."""
    import botocore.exceptions

    try:
        return cfn.describe_stacks(StackName=name)["Stacks"][0]
    except botocore.exceptions.ClientError as e:
        detail = e.response.get("Error")
        message = detail.get("Message", "") if isinstance(detail, dict) else ""
        if "does not exist" in message:
            raise AwsError(f"stack {name!r} not found in region {cfn.meta.region_name} "
                           f"(check --region / AWS_REGION and the stack name; AWS: "
                           f"{message.rstrip('.')})") from None
        raise aws_error(f"describe stack {name!r}", e, cfn.meta.endpoint_url) from None
    except botocore.exceptions.BotoCoreError as e:  # no credentials, no connection, ...
        raise aws_error(f"describe stack {name!r}", e) from None
    except Exception as e:  # noqa: BLE001 - a reply botocore cannot parse: not AWS
        if not_aws_answer(e):
            raise aws_error(f"describe stack {name!r}", e, cfn.meta.endpoint_url) from None
        raise


def complete_stack(cfn: Any, name: str) -> dict:
    """The stack's description, requiring a settled, usable state."""
    stack = describe_stack(cfn, name)
    status = stack["StackStatus"]
    if status not in COMPLETE_STATES:
        raise AwsError(f"stack {name!r} is {status}, not CREATE_COMPLETE or UPDATE_COMPLETE; "
                       + _what_to_do(status))
    return stack


def _what_to_do(status: str) -> str:
    if status == "REVIEW_IN_PROGRESS":
        return ("it has a change set that was never executed: execute it (or delete the stack) "
                "in the CloudFormation console, or run rv-batch-cfn deploy again")
    if status.endswith("_IN_PROGRESS"):
        return "wait until it settles, then run this again"
    if status in ("ROLLBACK_COMPLETE", "ROLLBACK_FAILED", "CREATE_FAILED"):
        return ("its creation failed and nothing usable is left: read the first failure in the "
                "stack's events, delete the stack, and create it again")
    return ("read the first failure in the stack's events (CloudFormation console, Events tab), "
            "fix it, and update the stack")


def stack_parameters(stack: dict) -> dict[str, str]:
    """The stack's parameter values as a name -> value mapping (lists as "a,b")."""
    return {p["ParameterKey"]: p.get("ParameterValue", "") for p in stack.get("Parameters", [])}


def stack_outputs(stack: dict) -> dict[str, str]:
    """The stack's outputs as a name -> value mapping."""
    return {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}


def require_outputs(stack: dict, names: list[str]) -> dict[str, str]:
    """The named outputs; AwsError when the stack was made from some other template."""
    outputs = stack_outputs(stack)
    missing = [n for n in names if n not in outputs]
    if missing:
        raise AwsError(f"stack {stack['StackName']!r} has no output {', '.join(missing)}: was it "
                       "created from this project's cloudformation/template.yml?")
    return {n: outputs[n] for n in names}


def stack_events(cfn: Any, stack_id: str, seen: Optional[set] = None) -> list[dict]:
    """Events newer than `seen`, oldest first (the API pages them newest first)."""
    found: list[dict] = []
    token = None
    while True:
        page = cfn.describe_stack_events(StackName=stack_id, **({"NextToken": token} if token
                                                                 else {}))
        for event in page["StackEvents"]:
            if seen is not None and event["EventId"] in seen:
                return list(reversed(found))
            found.append(event)
        token = page.get("NextToken")
        if not token:
            return list(reversed(found))


def first_failure(events: list[dict], stack_name: str) -> Optional[str]:
    """The first failure CloudFormation reports among `events` (a resource's, else the stack's
    own), as "LogicalId (Type): reason"; None when nothing failed."""
    failed = [e for e in events if e["ResourceStatus"].endswith("_FAILED")]
    resources = [e for e in failed if e["LogicalResourceId"] != stack_name]
    if not failed:
        return None
    first = (resources or failed)[0]
    return (f"{first['LogicalResourceId']} ({first.get('ResourceType', '')}): "
            f"{first.get('ResourceStatusReason', 'no reason given').rstrip('.')}")


def event_line(event: dict) -> str:
    """One stack event as a line: time, status, logical id, type and reason."""
    stamp = event["Timestamp"]
    when = stamp.strftime("%H:%M:%S") if hasattr(stamp, "strftime") else str(stamp)
    reason = event.get("ResourceStatusReason")
    return (f"  {when}  {event['ResourceStatus']:<30} {event['LogicalResourceId']:<28} "
            f"{event.get('ResourceType', '')}" + (f"  {reason}" if reason else ""))


class StackFollower:
    """One stack's new events, shown through `say` as they come while a boto3 waiter waits for
    the stack (`wait`), and kept in `events`. `seen`: the ids of the events from before the
    operation, read from the stack when not given."""

    def __init__(self, cfn: Any, stack_id: str, say: Callable[[str], None],
                 seen: Optional[set] = None) -> None:
        self.cfn, self.stack_id, self.say = cfn, stack_id, say
        self.seen = set(seen) if seen is not None else {e["EventId"]
                                                        for e in stack_events(cfn, stack_id)}
        self.events: list[dict] = []
        self.started = self._quiet_since = time.monotonic()

    def elapsed(self) -> float:
        """Seconds since the follower was made."""
        return time.monotonic() - self.started

    def show_new(self) -> list[dict]:
        """Show the events written since the last look, oldest first, and return them."""
        new = stack_events(self.cfn, self.stack_id, self.seen)
        for event in new:
            self.seen.add(event["EventId"])
            self.events.append(event)
            self.say(event_line(event))
        if new:
            self._quiet_since = time.monotonic()
        return new

    def report_quiet(self, status: Callable[[], str]) -> None:
        """After QUIET_REPORT seconds without a new event, a line with the stack's `status()`
        (some resources take many minutes, silently)."""
        now = time.monotonic()
        if now - self._quiet_since >= QUIET_REPORT:
            self.say(f"  ... still {status()} ({now - self.started:.0f} s)")
            self._quiet_since = now

    def wait(self, waiter: Any, timeout: float = STACK_TIMEOUT,
             on_read: Optional[Callable[[dict, list[dict]], None]] = None,
             **arguments: Any) -> Waited:
        """Run `waiter` (StackName: this stack, unless `arguments` say otherwise) and show the
        new events after each of its reads, and once more when it ends. `on_read(answer,
        new_events)` may look at each read and end the wait (waits.Stop); without it, a read of
        DescribeStacks reports a quiet stack."""
        def read(answer: dict) -> None:
            new = self.show_new()
            if on_read is not None:
                on_read(answer, new)
            elif answer.get("Stacks"):
                self.report_quiet(lambda: answer["Stacks"][0]["StackStatus"])

        arguments.setdefault("StackName", self.stack_id)
        waited = wait_for(self.cfn, waiter, FOLLOW_DELAY, timeout, read, **arguments)
        self.show_new()  # those written after the waiter's last read
        return waited
