"""Deploying: create or update a stack through a change set, as the console does.

The face is `deploy()`; it returns a `Deployment` whose `outcome` is EXECUTED, UNCHANGED,
DECLINED or CHANGE_SET_CREATED, and raises the project's errors (rv_batch_cfn.errors):
ConfigError for values the template, its Rules or the stack refuse (every problem at once,
before the change set), AwsError when AWS refuses or the deployment fails (naming the first
failure), Interrupted for Ctrl-C (what was left behind is said, and cleaned up before the
change set is executed). `load_template` reads the template a deployment sends, and
`DeployOptions` holds what `aws cloudformation deploy` takes beyond template and parameters.

The parts, in the order a deployment uses them:

    parameter_values.py  the values checked against the template's Parameters (no AWS)
    rules.py             the template's Rules evaluated for those values
    options.py           tags, service role, S3 upload, no rollback, no execution; `Deployment`
    stack_checks.py      what is refused or warned about once the stack is read
    update_checks.py     pure: which updates replace instances; the service-role switch
    template_body.py     the template read once, and made compact when it is too long to send
    change_set.py        deploy() itself: the change set made, shown, asked about, executed
    execution.py         after ExecuteChangeSet: the stack's events until the operation ends
"""

from __future__ import annotations

from .change_set import deploy
from .options import (CHANGE_SET_CREATED, DECLINED, EXECUTED, TEMPLATE_BODY_LIMIT,
                      TEMPLATE_URL_LIMIT, UNCHANGED,
                      DeployOptions, Deployment, parse_tags)
from .template_body import compact_body, load_template

__all__ = ["deploy", "load_template", "compact_body", "Deployment", "DeployOptions",
           "parse_tags", "EXECUTED", "UNCHANGED", "DECLINED", "CHANGE_SET_CREATED",
           "TEMPLATE_BODY_LIMIT", "TEMPLATE_URL_LIMIT"]
