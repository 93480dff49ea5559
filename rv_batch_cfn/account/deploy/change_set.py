"""The library behind `deploy`: create or update a stack through a change set, from a terminal.

The steps are the console's: check the values, create a change set, show what it will do, ask,
execute it, and follow the stack's events until it settles. Values are checked against the
template's own Parameters and Rules before any call to AWS.

Just past 300 lines: deploy() is one sequence of those steps, and the helpers below it each
serve one step (waiting for the change set, showing it, discarding it); the template read,
the checks and the following of events are modules of their own.
"""

from __future__ import annotations

import dataclasses
import secrets
import time
from datetime import datetime, timezone
from pathlib import Path
from contextlib import contextmanager
from typing import Any, Callable, Iterator, Mapping, Optional

from ...errors import AwsError, Interrupted
from ...template import outputs as out
from ...template.job_definitions import MAIN_STACK_NAME
from ...template.parameters import GPU
from . import parameter_values as checks
from .rules import check_rules
from .stack_checks import check_deployment
from ..last_ami import LAST_AMI, last_ami_hint
from ..session import aws_error, not_aws_answer
from ..stack import describe_stack, stack_events, stack_outputs, stack_parameters
from .execution import DEAD, error_message, execute, failure, follow
from .options import (CHANGE_SET_CREATED, DECLINED, EXECUTED, UNCHANGED, DeployOptions,
                      Deployment, template_source)
from .template_body import load_template

# The templates create IAM roles without names.
CAPABILITIES = ["CAPABILITY_IAM"]
# How CloudFormation words a change set that would change nothing (the second is UpdateStack's).
NO_CHANGE_PHRASES = ("didn't contain changes", "No updates are to be performed")
SUCCESS = ("CREATE_COMPLETE", "UPDATE_COMPLETE")

# A line every so many seconds while CloudFormation plans a change set.
PROGRESS_INTERVAL = 10.0


Printer = Callable[[str], None]  # where deploy reports its progress, a line at a time


def _quiet(line: str = "") -> None:
    """The default Printer: progress is the caller's to show."""


def _refuse(question: str) -> bool:
    """The default question: without a way to ask, nothing is executed."""
    return False


def deploy(session: Any, stack_name: str, template_path: Path, given: Mapping[str, str],
           assume_yes: bool = False, ask: Optional[Callable[[str], bool]] = None,
           say: Optional[Printer] = None, template: Optional[tuple[str, dict]] = None,
           last_ami: Optional[Path] = LAST_AMI,
           options: Optional[DeployOptions] = None) -> Deployment:
    """Create or update `stack_name` from the template; returns what was done: its outcome is
    EXECUTED, UNCHANGED, DECLINED (`ask` answered no) or CHANGE_SET_CREATED (`options.execute`
    False: the change set is left for review). Raises AwsError when the deployment fails,
    naming the first failure. Progress goes to `say` a line at a time; `ask` is asked before
    executing the change set unless `assume_yes` (by default nothing is executed without
    `assume_yes`). `options` adds tags, a service role, an S3 upload, no rollback.

    When `last_ami` (the file create-ami records its AMI in; None: not looked at) names an AMI
    GpuAMI will not have, a hint says how to use it; GpuAMI is only ever what was given.

    Every value in `given` is checked against the template's Parameters before any call to
    AWS (ConfigError listing every problem), then against its Rules and the stack's current
    values once the stack is read."""
    say = say or _quiet
    ask = ask or _refuse
    options = options or DeployOptions()
    text, data = template or load_template(template_path)
    checks.check_values(data, given)  # the values alone, before anything is asked of AWS
    options.check(text, template_path)
    cfn = session.client("cloudformation")
    with _unchanged(f"read stack {stack_name!r}"):
        existing = _existing(cfn, stack_name)
    status = existing["StackStatus"] if existing else None
    if status and status.endswith("_IN_PROGRESS") and status != "REVIEW_IN_PROGRESS":
        raise AwsError(f"stack {stack_name!r} is {status}: wait until it settles, then deploy "
                       "again")
    if status in DEAD:
        raise AwsError(f"stack {stack_name!r} is {status}: its creation failed and it cannot be "
                       f"updated; delete it (aws cloudformation delete-stack --stack-name "
                       f"{stack_name}) and deploy again")
    creating = existing is None or status == "REVIEW_IN_PROGRESS"
    previous = {} if creating else stack_parameters(existing)

    declared = data.get("Parameters") or {}
    checks.missing_required(data, [*given, *previous])
    effective = checks.effective_values(data, given, previous)
    check_rules(data, effective)
    checks.check_combinations(data, effective)
    with _unchanged(f"check the deployment of stack {stack_name!r}"):
        warnings = check_deployment(session, cfn, stack_name, data, given, previous, creating)
    parameters = [{"ParameterKey": k, "ParameterValue": v} for k, v in given.items()]
    parameters += [{"ParameterKey": k, "UsePreviousValue": True}
                   for k in declared if k not in given and k in previous]

    # Unique, so a change set left by an interrupted run never collides with this one.
    change_set_name = ("rv-batch-cfn-" + datetime.now(timezone.utc).strftime("%Y%m%d-%H%M%S-")
                       + secrets.token_hex(3))
    kind = "CREATE" if creating else "UPDATE"
    say(f"{'Creating' if creating else 'Updating'} stack {stack_name} from {template_path}")
    _show_parameters(say, given, previous, creating)
    for warning in warnings:
        say(f"Warning: {warning}.")
    if last_ami is not None and GPU.ami in declared:
        gpu_ami = given.get(GPU.ami, previous.get(GPU.ami, declared[GPU.ami].get("Default")))
        hint = last_ami_hint(gpu_ami, f"pass --param {GPU.ami}={{ami}} to use it (make deploy "
                             f"STACK={stack_name} GPU_AMI={{ami}}); GpuAMI is not changed "
                             "otherwise", last_ami)
        if hint:
            say(f"Hint: {hint}.")
    with _unchanged("upload the template"):
        source = template_source(session, text, options, say)
    if "TemplateURL" in source:
        say(f"Uploaded the template to {source['TemplateURL']}")
    try:
        cfn.create_change_set(StackName=stack_name, ChangeSetName=change_set_name,
                              ChangeSetType=kind, Parameters=parameters,
                              Capabilities=CAPABILITIES, Description="rv-batch-cfn deploy",
                              **source, **options.change_set_arguments())
    except KeyboardInterrupt:  # the change set may exist already
        _discard(cfn, stack_name, change_set_name, creating)
        raise Interrupted(_nothing_changed(change_set_name, creating, made=False)) from None
    except Exception as e:  # noqa: BLE001
        if not_aws_answer(e):
            raise aws_error("create a change set", e, cfn.meta.endpoint_url) from None
        if getattr(e, "response", None) is None:  # no answer: the request may have gone through
            error = aws_error(f"create change set {change_set_name}", e)
            if error is e:
                raise
            raise AwsError(f"{str(error).rstrip('.')}. The change set may have been made; "
                           f"nothing was executed: run the command again (it makes a new one)"
                           ) from None
        raise AwsError(f"CloudFormation refused the change set: {error_message(e)}; nothing "
                       "was changed") from None

    # Until the change set is executed, Ctrl-C deletes it (and the empty stack a first deploy
    # makes), as answering no does; so does a failed call.
    step = f"read change set {change_set_name} of stack {stack_name!r}"
    try:
        change_set = _wait_for_change_set(cfn, stack_name, change_set_name, say)
        if change_set["Status"] == "FAILED":
            reason = change_set.get("StatusReason", "")
            _discard(cfn, stack_name, change_set_name, creating)
            if any(phrase in reason for phrase in NO_CHANGE_PHRASES):
                say(f"No changes: stack {stack_name} already has this template and these "
                    "values; nothing to do.")
                return Deployment(UNCHANGED, stack_name, change_set.get("StackId", ""),
                                  status=status or "")
            raise AwsError(f"CloudFormation could not plan the change: {reason}")
        _show_changes(say, change_set["Changes"])
        planned = Deployment(DECLINED, stack_name, change_set.get("StackId", ""),
                             change_set_name, change_set.get("ChangeSetId", ""),
                             tuple(change_set["Changes"]),
                             "REVIEW_IN_PROGRESS" if creating else status or "")
        if not options.execute:
            return dataclasses.replace(planned, outcome=CHANGE_SET_CREATED)
        if not assume_yes and not ask(f"Execute this change set on stack {stack_name}? [y/N] "):
            _discard(cfn, stack_name, change_set_name, creating)
            say("Cancelled: nothing was changed.")
            return planned
        step = f"read the events of stack {stack_name!r} before executing"
        seen = {e["EventId"] for e in stack_events(cfn, change_set["StackId"])}
    except KeyboardInterrupt:
        _discard(cfn, stack_name, change_set_name, creating)
        raise Interrupted(_nothing_changed(change_set_name, creating)) from None
    except Exception as e:  # noqa: BLE001 - botocore's errors; anything else is re-raised
        error = e if isinstance(e, AwsError) else aws_error(step, e)
        if error is e and not isinstance(e, AwsError):
            raise
        _discard(cfn, stack_name, change_set_name, creating)
        what = ("it and the empty stack it made were" if creating else "it was")
        raise AwsError(f"{str(error).rstrip('.')}. Nothing was executed: {what} deleted; run the "
                       "command again") from None

    started = time.monotonic()
    execute(cfn, stack_name, change_set_name, creating,
            refused=lambda: _discard(cfn, stack_name, change_set_name, creating),
            arguments=options.execute_arguments())
    say("")
    say("Events:")
    stack, events = follow(cfn, stack_name, change_set["StackId"], seen, say, change_set_name,
                           creating)
    if stack["StackStatus"] not in SUCCESS:
        raise AwsError(failure(stack, events))
    say("")
    say(f"Stack {stack_name} is {stack['StackStatus']} ({time.monotonic() - started:.0f} s).")
    _show_outputs(say, stack)
    return dataclasses.replace(planned, outcome=EXECUTED, status=stack["StackStatus"],
                               outputs=stack_outputs(stack))


@contextmanager
def _unchanged(action: str) -> Iterator[None]:
    """An AWS failure inside, before any change set: one AwsError saying what was being done
    and that nothing was changed."""
    try:
        yield
    except AwsError as e:
        raise AwsError(f"{str(e).rstrip('.')}. Nothing was changed") from None
    except Exception as e:  # noqa: BLE001 - botocore's errors; anything else is re-raised
        error = aws_error(action, e)
        if error is e:
            raise
        raise AwsError(f"{str(error).rstrip('.')}. Nothing was changed: run the command again"
                       ) from None


def _nothing_changed(change_set_name: str, creating: bool, made: bool = True) -> str:
    what = (f"change set {change_set_name} and the empty stack it made were" if creating
            else f"change set {change_set_name} was")
    return (f"nothing was changed: {what} deleted{'' if made else ' (if they had been made)'}, "
            "as answering no does")


def _existing(cfn: Any, name: str) -> Optional[dict]:
    try:
        return describe_stack(cfn, name)
    except AwsError as e:
        if "not found" in str(e):
            return None
        raise


def _show_parameters(say: Printer, given: Mapping[str, str], previous: Mapping[str, str],
                     creating: bool) -> None:
    if not given:
        say("Parameters: " + ("template defaults" if creating else "all kept as they are"))
        return
    say("Parameters:")
    width = max(len(k) for k in given)
    for key, value in given.items():
        was = previous.get(key)
        change = f"{was} -> {value}" if was is not None and was != value else value
        say(f"  {key:<{width}}  {change}")
    if not creating:
        say("  (every other parameter keeps its current value)")


def _wait_for_change_set(cfn: Any, stack_name: str, name: str,
                         say: Printer = _quiet) -> dict:
    delay = 0.2
    started = time.monotonic()
    next_report = started + PROGRESS_INTERVAL
    while True:
        description = cfn.describe_change_set(StackName=stack_name, ChangeSetName=name)
        if description["Status"] in ("CREATE_COMPLETE", "FAILED"):
            changes = list(description.get("Changes", []))
            token = description.get("NextToken")
            while token:
                page = cfn.describe_change_set(StackName=stack_name, ChangeSetName=name,
                                               NextToken=token)
                changes += page.get("Changes", [])
                token = page.get("NextToken")
            description["Changes"] = changes
            return description
        now = time.monotonic()
        if now >= next_report:
            say(f"  CloudFormation is still planning the change set ({description['Status']}, "
                f"{now - started:.0f} s)")
            next_report = now + PROGRESS_INTERVAL
        time.sleep(delay)
        delay = min(delay * 2, 5)


def _discard(cfn: Any, stack_name: str, change_set_name: str, creating: bool) -> None:
    """Leave nothing behind: the change set, and the empty stack a CREATE change set makes."""
    try:
        cfn.delete_change_set(StackName=stack_name, ChangeSetName=change_set_name)
        if creating:
            cfn.delete_stack(StackName=stack_name)
    except Exception:  # noqa: BLE001 - tidying up must not hide the real message
        pass


_SYMBOLS = {"Add": "+", "Modify": "~", "Remove": "-", "Import": ">", "Dynamic": "?"}


def _show_changes(say: Printer, changes: list[dict]) -> None:
    say(f"Planned changes ({len(changes)}):")
    rows = [c["ResourceChange"] for c in changes if c.get("Type", "Resource") == "Resource"]
    width = max((len(r["LogicalResourceId"]) for r in rows), default=0)
    for r in rows:
        replacement = r.get("Replacement")
        note = {"True": "  (replaced)", "Conditional": "  (may be replaced)"}.get(
            str(replacement), "")
        say(f"  {_SYMBOLS.get(r['Action'], '*')} {r['Action']:<7} "
            f"{r['LogicalResourceId']:<{width}}  {r['ResourceType']}{note}")


def _show_outputs(say: Printer, stack: dict) -> None:
    outputs = stack_outputs(stack)
    if outputs:
        say("Outputs:")
        for key, value in outputs.items():
            lines = value.rstrip("\n").split("\n")
            say(f"  {key} = {lines[0]}")
            for line in lines[1:]:
                say(f"  {' ' * len(key)}   {line}")
    name = stack["StackName"]
    main = stack_parameters(stack).get(MAIN_STACK_NAME)
    if out.GPU_JOB_QUEUE in outputs:
        say(f"Next: rv-batch-cfn rv-config --stack {name} --write  "
            "(writes the [BATCH] section Raster Vision reads)")
    elif out.GPU_JOB_DEFINITION in outputs and main:
        say(f"Next: rv-batch-cfn rv-config --stack {main} --job-def-stack {name} --write")
