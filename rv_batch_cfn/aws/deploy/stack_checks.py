"""The checks `deploy` makes after reading the stack and before creating a change set: what
CloudFormation or Batch would refuse only later (and less clearly), and what an update will do
to running jobs.

Refusals are raised as one ConfigError listing every problem: the stack's current values the new
template refuses, a switch of the Batch service role (refused before any other AWS call), and a
custom AMI whose root snapshot does not fit the root volume, and job queue or job definition
names another stack holds (batch_names.py). Warnings are returned as text for
the caller to show: the EC2 vCPU quotas too low for the values deployed (quotas/check.py), and the
compute environments whose instances the update replaces.
"""

from __future__ import annotations

from typing import Any, Mapping, Optional

from ...errors import ConfigError, Problem
from ...template import parameters as params
from ..ami import checks as ami_checks
from ..quotas import check as quota_checks
from . import update_checks
from .batch_names import check_names_free
from .parameter_values import effective_values, kept_value_problems


def check_deployment(session: Any, cfn: Any, stack_name: str, template: Mapping[str, Any],
                     given: Mapping[str, str], previous: Mapping[str, str],
                     creating: bool) -> list[str]:
    """ConfigError for what must not be deployed; otherwise the warnings (maybe none)."""
    values = effective_values(template, given, previous)
    problems: list[Problem] = []
    if not creating:
        problems += kept_value_problems(template, previous, given)
        reason = update_checks.service_role_switch(previous, values)
        if reason:
            problems.append(Problem(f"--param {params.BATCH_SERVICE_ROLE_ARN}",
                                    values.get(params.BATCH_SERVICE_ROLE_ARN, ""), reason))
    if problems:  # decided from the values alone: no call to AWS made for them
        raise ConfigError(problems, "the values for this update")
    check_names_free(session, template, values, previous, stack_name, creating)
    if any(values.get(k.ami) for k in params.KINDS.values()):
        problems += ami_checks.custom_ami_problems(session.client("ec2"), values)
    if problems:
        raise ConfigError(problems, "the values for this deployment")
    warnings = quota_checks.warnings(session, values, stack_name)
    if creating:
        return warnings
    return warnings + update_checks.update_warnings(previous, values, template,
                                                    current_template(cfn, stack_name))


def current_template(cfn: Any, stack_name: str) -> Optional[dict]:
    """The stack's current template as data, None when it cannot be read (the warnings then
    compare parameter values only)."""
    from ...inputs import template_data

    try:
        body = cfn.get_template(StackName=stack_name, TemplateStage="Original")["TemplateBody"]
        if isinstance(body, Mapping):
            return dict(body)
        data = template_data(body)
        return dict(data) if isinstance(data, Mapping) else None
    except Exception:  # noqa: BLE001 - only a better warning is lost
        return None
