"""After ExecuteChangeSet: the stack's events as they come until the operation has ended, the
first failure CloudFormation reports, and what to say when the command stops before the end (a
dropped connection, Ctrl-C): the operation goes on in AWS, and how to follow it.
"""

from __future__ import annotations

import time
from typing import Any, Callable, Optional

from ...errors import AwsError, Interrupted
from ..clients.session import aws_error, error_code, not_aws_answer
from ..clients.stack import event_line, stack_events

# States from which an update is impossible: the stack must be deleted first.
DEAD = ("ROLLBACK_COMPLETE", "ROLLBACK_FAILED", "CREATE_FAILED", "DELETE_FAILED")
# Right after ExecuteChangeSet, AWS may still describe the stack as it was (UPDATE_COMPLETE from
# the last update). How long to wait for a sign that the execution began before giving up.
EXECUTION_START_TIMEOUT = 120.0
# The change set's ExecutionStatus once its execution has ended (OBSOLETE: another change set
# was executed meanwhile).
EXECUTION_ENDED = ("EXECUTE_COMPLETE", "EXECUTE_FAILED", "OBSOLETE")
# A line after so many seconds without a new stack event (a compute environment takes minutes,
# with no event).
QUIET_REPORT = 60.0

Say = Callable[[str], None]


def follow(cfn: Any, stack_name: str, stack_id: str, seen: set, say: Say, change_set_name: str,
           creating: bool) -> tuple[dict, list[dict]]:
    """The stack once the execution of `change_set_name` has ended, and the events it wrote
    (printed through `say` as they came; `seen`: the event ids from before the execution).
    When the command stops before that, Interrupted (Ctrl-C) or AwsError say that the operation
    continues in AWS, and how to follow it."""
    try:
        return _follow(cfn, stack_id, seen, say, change_set_name)
    except KeyboardInterrupt:
        raise Interrupted(f"stopped following stack {stack_name}. "
                          + _continues(stack_name, change_set_name, creating)) from None
    except AwsError as e:
        raise AwsError(f"{_sentence(e)} {_continues(stack_name, change_set_name, creating)}"
                       ) from None
    except Exception as e:  # noqa: BLE001 - botocore's errors; anything else is re-raised
        error = aws_error(f"follow stack {stack_name!r}", e, cfn.meta.endpoint_url)
        if error is e:
            raise
        raise AwsError(f"{_sentence(error)} {_continues(stack_name, change_set_name, creating)}"
                       ) from None


def execute(cfn: Any, stack_name: str, change_set_name: str, creating: bool,
            refused: Callable[[], None], arguments: Optional[dict] = None) -> None:
    """ExecuteChangeSet (with `arguments` such as DisableRollback). When CloudFormation refuses
    it, `refused` is called (deploy deletes the change set) and AwsError says nothing was
    changed; when the call is cut off (a dropped connection, Ctrl-C), the execution may have
    begun, and the error says how to find out."""
    try:
        cfn.execute_change_set(StackName=stack_name, ChangeSetName=change_set_name,
                               **(arguments or {}))
    except KeyboardInterrupt:
        raise Interrupted(_may_run(stack_name, change_set_name, creating)) from None
    except Exception as e:  # noqa: BLE001
        response = getattr(e, "response", None)
        if isinstance(response, dict) and isinstance(response.get("Error"), dict) \
                and not not_aws_answer(e):
            refused()
            raise AwsError(f"CloudFormation refused to execute change set {change_set_name}: "
                           f"{error_message(e)}; nothing was changed") from None
        error = aws_error(f"execute change set {change_set_name}", e, cfn.meta.endpoint_url)
        if error is e:
            raise
        raise AwsError(f"{_sentence(error)} {_may_run(stack_name, change_set_name, creating)}"
                       ) from None


def _sentence(error: Exception) -> str:
    return str(error).rstrip().rstrip(".") + "."


def _follow_hint(stack_name: str, creating: bool) -> str:
    wait = "stack-create-complete" if creating else "stack-update-complete"
    return (f"Follow it with `aws cloudformation describe-stack-events --stack-name "
            f"{stack_name}` (or wait: `aws cloudformation wait {wait} --stack-name "
            f"{stack_name}`), or in the CloudFormation console; once it has settled, "
            f"`rv-batch-cfn deploy --stack {stack_name}` again says whether anything is left "
            "to do")


def _continues(stack_name: str, change_set_name: str, creating: bool) -> str:
    return (f"Change set {change_set_name} was executed: the stack operation continues in AWS "
            f"whatever happens here. {_follow_hint(stack_name, creating)}")


def _may_run(stack_name: str, change_set_name: str, creating: bool) -> str:
    return (f"The call to execute change set {change_set_name} was cut off: the stack "
            f"operation may have begun, and would continue in AWS. "
            f"{_follow_hint(stack_name, creating)}")


def error_message(error: Exception) -> str:
    """The message of an AWS error reply (str(error) for anything else)."""
    response = getattr(error, "response", None)
    if isinstance(response, dict):
        return response.get("Error", {}).get("Message") or str(error)
    return str(error)


def _follow(cfn: Any, stack_id: str, seen: set, say: Say, change_set_name: str,
            max_delay: float = 5.0) -> tuple[dict, list[dict]]:
    """Print the stack's events as they come until the execution of `change_set_name` has
    ended and the stack has left every *_IN_PROGRESS state.

    A settled status alone proves nothing right after ExecuteChangeSet: AWS may still report
    the previous operation's UPDATE_COMPLETE. The status is trusted once the change set's
    execution has ended (or the change set is gone, as AWS deletes them after an execution),
    or once a stack event newer than the execute call has closed the operation. Without either
    within EXECUTION_START_TIMEOUT seconds, AwsError."""
    events: list[dict] = []
    delay = 0.2
    started = time.monotonic()
    quiet_since = started
    ended = False
    while True:
        # Read in this order so that the stack's status is at least as recent as the signs.
        ended = ended or _execution_ended(cfn, stack_id, change_set_name)
        new = _show_new_events(cfn, stack_id, seen, say)
        events += new
        ended = ended or any(_closes_stack_operation(e, stack_id) for e in new)
        stack = cfn.describe_stacks(StackName=stack_id)["Stacks"][0]
        now = time.monotonic()
        if new:
            quiet_since = now
        elif now - quiet_since >= QUIET_REPORT:  # some resources take many minutes, silently
            say(f"  ... still {stack['StackStatus']} ({now - started:.0f} s)")
            quiet_since = now
        if not stack["StackStatus"].endswith("_IN_PROGRESS"):
            if ended:
                # Events written between the two reads above.
                return stack, events + _show_new_events(cfn, stack_id, seen, say)
            if time.monotonic() - started > EXECUTION_START_TIMEOUT:
                raise AwsError(
                    f"change set {change_set_name} was executed, but after "
                    f"{EXECUTION_START_TIMEOUT:.0f} s stack {stack['StackName']!r} still shows "
                    f"no sign of it (status {stack['StackStatus']}, no new event): see its "
                    "change sets and events in the CloudFormation console")
        time.sleep(delay)
        delay = min(delay * 2, max_delay)


def _show_new_events(cfn: Any, stack_id: str, seen: set, say: Say) -> list[dict]:
    new = stack_events(cfn, stack_id, seen)
    for event in new:
        seen.add(event["EventId"])
        say(event_line(event))
    return new


def _execution_ended(cfn: Any, stack_id: str, change_set_name: str) -> bool:
    """Whether the change set's execution has ended, or the change set is gone."""
    try:
        description = cfn.describe_change_set(StackName=stack_id, ChangeSetName=change_set_name)
    except Exception as e:  # noqa: BLE001 - botocore's ClientError; anything else is re-raised
        code = error_code(e)
        if code == "ChangeSetNotFound" or (code == "ValidationError"
                                           and "does not exist" in error_message(e)):
            return True
        raise
    return description.get("ExecutionStatus") in EXECUTION_ENDED


def _closes_stack_operation(event: dict, stack_id: str) -> bool:
    """Whether `event` is the stack's own, ending an operation (UPDATE_COMPLETE, ...)."""
    return (event.get("ResourceType") == "AWS::CloudFormation::Stack"
            and event.get("PhysicalResourceId") in (stack_id, None)
            and not event["ResourceStatus"].endswith("_IN_PROGRESS"))


def failure(stack: dict, events: list[dict]) -> str:
    """The stack's final state and the first resource that failed, with CloudFormation's reason."""
    failed = [e for e in events if e["ResourceStatus"].endswith("_FAILED")]
    resources = [e for e in failed if e["LogicalResourceId"] != stack["StackName"]]
    first = (resources or failed or [None])[0]
    message = f"stack {stack['StackName']!r} ended in {stack['StackStatus']}"
    if first is not None:
        message += (f"; the first failure: {first['LogicalResourceId']} "
                    f"({first.get('ResourceType', '')}): "
                    f"{first.get('ResourceStatusReason', 'no reason given').rstrip('.')}")
    else:
        message += "; see the stack's events in the CloudFormation console"
    if stack["StackStatus"] in DEAD:
        message += (f". Nothing usable is left: delete the stack (aws cloudformation delete-stack "
                    f"--stack-name {stack['StackName']}) before deploying again")
    elif stack["StackStatus"] == "UPDATE_ROLLBACK_COMPLETE":
        message += ". The stack is back as it was before this update"
    return message
