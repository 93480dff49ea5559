"""A StackConfig from plain data (a YAML or JSON config file) and back: keys mirror the
dataclass fields."""

from __future__ import annotations

import dataclasses
from dataclasses import fields
from typing import Any, Mapping, get_type_hints

from ..errors import ConfigError, Problem
from .checks import INVALID, convert, describe, did_you_mean, value_problems
from .model import StackConfig


def from_dict(data: Mapping[str, Any]) -> StackConfig:
    """Build and validate a StackConfig from nested plain data whose keys mirror its fields.

    Missing keys keep their defaults; a `gpu`/`cpu` mapping is merged over the default for that
    kind. Unknown keys, wrong types and invalid values are all reported together.
    """
    problems: list[Problem] = []
    config = _build(StackConfig, StackConfig(), data, None, problems)
    # The well-formed values are validated too, so one run reports every problem.
    problems.extend(value_problems(config))
    if problems:
        raise ConfigError(problems)
    return config


def _build(cls: type, default: Any, data: Any, path: str | None,
           problems: list[Problem]) -> Any:
    if not isinstance(data, Mapping):
        problems.append(Problem(path or "(top level)", data,
                                "allowed: a mapping of keys to values"))
        return default
    hints = get_type_hints(cls)
    names = [f.name for f in fields(cls)]
    changes = {}
    for key, value in data.items():
        where = f"{path}.{key}" if path else str(key)
        if key not in names:
            hint = did_you_mean(key, names)
            problems.append(Problem(where, value,
                                    f"unknown key; {hint}allowed keys: {', '.join(names)}"))
            continue
        current = getattr(default, key)
        if dataclasses.is_dataclass(hints[key]):
            changes[key] = _build(hints[key], current, value, where, problems)
            continue
        converted = convert(hints[key], value)
        if converted is INVALID:
            problems.append(Problem(where, value, f"allowed: {describe(hints[key])}"))
        else:
            changes[key] = converted
    return dataclasses.replace(default, **changes)


def as_dict(config: StackConfig) -> dict[str, Any]:
    """The config as plain data (lists instead of tuples), the inverse of from_dict."""
    def plain(value: Any) -> Any:
        if isinstance(value, tuple):
            return list(value)
        if isinstance(value, dict):
            return {k: plain(v) for k, v in value.items()}
        return value
    return plain(dataclasses.asdict(config))
