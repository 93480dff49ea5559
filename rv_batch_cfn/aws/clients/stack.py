"""Reading a deployed stack: its status, outputs, resources and events, with errors a user can
act on."""

from __future__ import annotations

from typing import Any, Optional

from ...errors import AwsError
from .session import aws_error, not_aws_answer

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


def event_line(event: dict) -> str:
    """One stack event as a line: time, status, logical id, type and reason."""
    stamp = event["Timestamp"]
    when = stamp.strftime("%H:%M:%S") if hasattr(stamp, "strftime") else str(stamp)
    reason = event.get("ResourceStatusReason")
    return (f"  {when}  {event['ResourceStatus']:<30} {event['LogicalResourceId']:<28} "
            f"{event.get('ResourceType', '')}" + (f"  {reason}" if reason else ""))
