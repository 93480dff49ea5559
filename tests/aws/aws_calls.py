"""Every AWS call a command makes, recorded with botocore's before-call event on each session
the command creates; one call can be made to fail instead of being sent.

The fault-at-every-call test (test_every_call_fails.py) fails each call in turn; the permissions
test (test_permissions.py) checks that the policy allows each call.
"""

from __future__ import annotations

from typing import Callable, Optional

from rv_batch_cfn.aws.clients import timeouts as waits


class Calls:
    """Every AWS call the command makes (botocore's before-call, on each session it creates),
    and the one to fail: call number `fail_at` (from 0) fails with `fault`."""

    def __init__(self, monkeypatch) -> None:
        self.made: list[str] = []
        self.actions: list[str] = []  # the IAM action of each call made, in order
        self.fail_at: Optional[int] = None
        self.fault: Optional[Callable] = None
        self.failed: Optional[str] = None
        original = waits.watch

        def watch(events, *args, **kwargs):
            events.register("before-call", self._before_call)
            return original(events, *args, **kwargs)
        monkeypatch.setattr(waits, "watch", watch)

    def _before_call(self, model, **kwargs):
        name = f"{model.service_model.service_id} {model.name}"
        self.made.append(name)
        # The IAM action allowing the call: services sign with their IAM prefix.
        self.actions.append(f"{model.service_model.signing_name}:{model.name}")
        if len(self.made) - 1 == self.fail_at:
            self.failed = name
            return self.fault(name)
        return None

    def start(self, fail_at: Optional[int] = None, fault: Optional[Callable] = None) -> None:
        self.made, self.fail_at, self.fault, self.failed = [], fail_at, fault, None
        self.actions = []
