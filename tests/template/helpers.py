"""The generated template as plain data, for tests that read resources."""

from __future__ import annotations

from functools import lru_cache

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
