"""The generated template as plain data, for tests that read resources."""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

from rv_batch_cfn import StackConfig, build_template, render_yaml
from tests.emulator import load_template


@lru_cache(maxsize=None)
def _load(config: StackConfig) -> dict:
    return load_template(render_yaml(build_template(config)))


def template(config: StackConfig = StackConfig()) -> dict:
    return _load(config)


def resources(config: StackConfig = StackConfig(), of_type: str | None = None) -> dict:
    return {name: r for name, r in template(config)["Resources"].items()
            if of_type is None or r["Type"] == of_type}


def props(name: str, config: StackConfig = StackConfig()) -> dict:
    return template(config)["Resources"][name]["Properties"]


# The default template's parameters and console metadata, which several modules read.
PARAMETERS = template()["Parameters"]
INTERFACE = template()["Metadata"]["AWS::CloudFormation::Interface"]


# Sample Batch events of the documented shape (batch_events/), and EventBridge's matching of an
# event pattern (moto's implementation), for the notification rule's tests.
EVENTS = Path(__file__).parent / "batch_events"


def sample(name: str, queue: str | None = None) -> dict:
    event = json.loads((EVENTS / f"{name}.json").read_text())
    if queue is not None:
        event["detail"]["jobQueue"] = queue
    return event


def matches(pattern: dict, event: dict) -> bool:
    from moto.events.models import EventPattern

    return EventPattern.load(json.dumps(pattern)).matches_event(event)
