"""The names of the job queues and job definitions a deployment would give, checked to be free
before anything is created.

Batch names are per account and region. The template names its queues and job definitions
`${Prefix}RasterVision...` (the per-project template `${Namespace}-RasterVision...`), so a
second stack with the console's default Prefix gets the names of the first: CloudFormation
creates a few resources, then fails on the job queue ("already exists") and rolls back; a job
definition of the same name would silently become a new revision of the other stack's. `deploy`
refuses that first, naming the parameter to change. A name the stack already holds (an update
that keeps its Prefix) is not checked.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Mapping, Optional

from ...errors import ConfigError, Problem
from ..clients.session import aws_errors

QUEUE = "AWS::Batch::JobQueue"
JOB_DEFINITION = "AWS::Batch::JobDefinition"
NAME_PROPERTY = {QUEUE: "JobQueueName", JOB_DEFINITION: "JobDefinitionName"}
WHAT = {QUEUE: "job queue", JOB_DEFINITION: "job definition"}
_VARIABLE = re.compile(r"\$\{([^}!]+)\}")


@dataclass(frozen=True)
class BatchName:
    """A name the template gives a job queue or job definition, and the parameters in it."""

    resource_type: str
    name: str
    parameters: tuple[str, ...]


def batch_names(template: Mapping[str, Any], values: Mapping[str, str],
                stack_name: str) -> list[BatchName]:
    """The job queue and job definition names of the template for these parameter values.
    Resources under a condition, and names this reading cannot work out (a function other than
    Ref or Fn::Sub of parameters and AWS::StackName), are left out: CloudFormation still
    refuses a taken queue name, only later."""
    found = []
    for resource in (template.get("Resources") or {}).values():
        if not isinstance(resource, Mapping) or "Condition" in resource:
            continue
        prop = NAME_PROPERTY.get(resource.get("Type", ""))
        if prop is None:
            continue
        resolved = _resolve((resource.get("Properties") or {}).get(prop), values, stack_name)
        if resolved is not None:
            found.append(BatchName(resource["Type"], *resolved))
    return found


def _resolve(value: Any, values: Mapping[str, str],
             stack_name: str) -> Optional[tuple[str, tuple[str, ...]]]:
    if isinstance(value, str):
        return value, ()
    if not isinstance(value, Mapping) or len(value) != 1:
        return None
    if "Ref" in value:
        name = value["Ref"]
        return (values[name], (name,)) if name in values else None
    text = value.get("Fn::Sub")
    if not isinstance(text, str):  # the list form (own variables) is not used by the templates
        return None
    known = {**values, "AWS::StackName": stack_name}
    used = _VARIABLE.findall(text)
    if any(v not in known for v in used):
        return None
    return (_VARIABLE.sub(lambda m: known[m.group(1)], text),
            tuple(dict.fromkeys(v for v in used if v in values)))


def check_names_free(session: Any, template: Mapping[str, Any], values: Mapping[str, str],
                     previous: Mapping[str, str], stack_name: str, creating: bool) -> None:
    """ConfigError naming the parameter to change when a job queue or an active job
    definition of a name the deployment gives exists already (another stack's, or one left
    over), before anything is created."""
    names = batch_names(template, values, stack_name)
    if not creating:
        held = {n.name for n in batch_names(template, previous, stack_name)}
        names = [n for n in names if n.name not in held]
    if not names:
        return
    batch = session.client("batch")  # only when there are names to check
    taken = []
    queues = [n for n in names if n.resource_type == QUEUE]
    if queues:
        with aws_errors("check that the job queue names are free"):
            found = batch.describe_job_queues(jobQueues=[n.name for n in queues])["jobQueues"]
        existing = {q.get("jobQueueName") for q in found}
        taken += [n for n in queues if n.name in existing]
    for n in names:
        if n.resource_type != JOB_DEFINITION:
            continue
        with aws_errors("check that the job definition names are free"):
            active = batch.describe_job_definitions(jobDefinitionName=n.name,
                                                    status="ACTIVE")["jobDefinitions"]
        if active:
            taken.append(n)
    if taken:
        groups: dict[tuple[str, ...], list[BatchName]] = {}
        for n in taken:
            groups.setdefault(n.parameters, []).append(n)
        raise ConfigError([_problem(p, group, values) for p, group in groups.items()],
                          "the names this stack would give; nothing was created")


def _problem(parameters: tuple[str, ...], taken: list[BatchName],
             values: Mapping[str, str]) -> Problem:
    field = " or ".join(f"--param {p}" for p in parameters) or "the template"
    value: Any = (values.get(parameters[0], "") if len(parameters) == 1
                  else {p: values.get(p, "") for p in parameters} if parameters
                  else taken[0].name)
    counts = {k: sum(n.resource_type == k for n in taken) for k in (QUEUE, JOB_DEFINITION)}
    what = " and ".join(WHAT[k] + ("s" if c > 1 else "") for k, c in counts.items() if c)
    change = (f"give this stack a {' or '.join(parameters)} no other stack here uses (for "
              f"example --param {parameters[0]}=team2)" if parameters
              else "delete them, or rename them in the template")
    return Problem(field, value,
                   f"the {what} {', '.join(n.name for n in taken)} exist already in this "
                   "account and region (another stack's, or left behind); Batch names are per "
                   f"account and region, so {change}")
