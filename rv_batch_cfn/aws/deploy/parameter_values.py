"""Stack parameter values checked against a template's own Parameters and Rules, before any
call to AWS: CloudFormation would refuse the same values, only later and less clearly. Also
what a template cannot say: why a GPU family is refused, and gp3's ratios (Rules have no
arithmetic), so EC2 does not refuse every launch of a deployed stack."""

from __future__ import annotations

import math
import re
from typing import Any, Mapping, Optional, Sequence

from ...config.checks import did_you_mean, gp3_ratio_problems
from ...errors import ConfigError, Problem, quote
from ...inputs import check_text_value
from ...instance_types import refused_gpu_family
from ...template.parameters import GPU, KINDS

# CloudFormation's quotas: a parameter name is at most 255 letters and digits, a value at most
# 4,096 bytes.
NAME_PATTERN = re.compile(r"[A-Za-z0-9]{1,255}")
VALUE_LIMIT = 4096

# What the AWS-specific parameter types accept: an id with the type's prefix.
_ID_PREFIXES = {"VPC": "vpc", "Subnet": "subnet", "SecurityGroup": "sg", "Image": "ami",
                "Instance": "i", "Volume": "vol"}


def parse_assignments(pairs: Sequence[str]) -> dict[str, str]:
    """`KEY=VALUE` strings (from --param) as a mapping; ConfigError for malformed or repeated
    ones. Only the first `=` splits, so values may contain `=`."""
    values: dict[str, str] = {}
    problems = []
    for pair in pairs:
        key, sep, value = pair.partition("=")
        key = key.strip()
        if not sep or not key:
            problems.append(Problem("--param", pair, "allowed: KEY=VALUE, e.g. Prefix=team1"))
        elif not NAME_PATTERN.fullmatch(key):
            problems.append(Problem("--param", key, "allowed: a parameter name (letters and "
                                    "digits, at most 255) before the '='"))
        elif key in values:
            problems.append(Problem(f"--param {key}", value,
                                    f"given twice (first {quote(values[key])}); allowed: once"))
        elif why := check_text_value(value, "the value", VALUE_LIMIT):
            problems.append(Problem(f"--param {key}", value, why))
        else:
            values[key] = value
    if problems:
        raise ConfigError(problems)
    return values


def check_values(template: Mapping[str, Any], given: Mapping[str, str]) -> None:
    """ConfigError listing every given value the template's Parameters section refuses: unknown
    names, and values breaking a parameter's type, AllowedValues, AllowedPattern, lengths or
    bounds."""
    declared = template.get("Parameters") or {}
    problems = []
    for name, value in given.items():
        if name not in declared:
            problems.append(Problem(f"--param {name}", value, "unknown parameter; "
                                    + did_you_mean(name, list(declared)) + "allowed: "
                                    + ", ".join(sorted(declared))))
            continue
        reason = (_gpu_family_problem(name, value, declared[name])
                  or value_problem(declared[name], value))
        if reason:
            problems.append(Problem(f"--param {name}", value, reason))
    if problems:
        raise ConfigError(problems)


def _gpu_family_problem(name: str, value: str,
                        declaration: Optional[Mapping[str, Any]] = None) -> Optional[str]:
    """For GpuInstanceTypes, why each refused family is refused (the AllowedPattern refuses
    them too, but cannot say why, nor what to use instead), and what `declaration` refuses in
    the other items."""
    if name != GPU.instance_types:
        return None
    items = [v.strip() for v in value.split(",")]
    reasons = [f"item {item!r}: {reason}" for item in items
               for reason in [refused_gpu_family(item)] if reason]
    if not reasons:
        return None
    others = [item for item in items if not refused_gpu_family(item)]
    other = value_problem(declaration, ",".join(others)) if declaration and others else None
    return "; ".join(["allowed: GPU families the Amazon Linux 2023 NVIDIA AMIs support; "
                      + "; ".join(reasons), *([other] if other else [])])


def check_combinations(template: Mapping[str, Any], values: Mapping[str, str]) -> None:
    """ConfigError for what the template's Parameters and Rules cannot refuse, checked on the
    values the stack will have (given, kept or default): GPU families kept from a stack made
    with an older template, and gp3's ratios (IOPS per GiB, MiB/s per IOPS), which EC2 checks
    only when Batch launches an instance, and then refuses every launch."""
    declared = template.get("Parameters") or {}
    problems = []
    if GPU.instance_types in declared and GPU.instance_types in values:
        reason = _gpu_family_problem(GPU.instance_types, values[GPU.instance_types])
        if reason:
            problems.append(Problem(GPU.instance_types, values[GPU.instance_types], reason))
    for k in KINDS.values():
        names = (k.storage, k.iops, k.throughput)
        if not all(n in declared and n in values for n in names):
            continue
        try:
            size, iops, throughput = (int(float(values[n])) for n in names)
        except ValueError:
            continue  # check_values says what is wrong with them
        problems += gp3_ratio_problems((k.storage, size), (k.iops, iops),
                                       (k.throughput, throughput))
    if problems:
        raise ConfigError(problems)


def value_problem(declaration: Mapping[str, Any], value: str) -> Optional[str]:
    """Why CloudFormation would refuse `value` for a parameter declared so; None if it would not."""
    kind = str(declaration.get("Type", "String"))
    constraint = declaration.get("ConstraintDescription")
    note = f" ({constraint})" if constraint else ""
    is_list = kind == "CommaDelimitedList" or kind.startswith("List<")
    if not is_list:
        problem = _item_problem(declaration, kind, value) or _string_problem(declaration, value)
        return problem + note if problem else None
    # CloudFormation splits a list at every comma and trims each member; AllowedPattern must
    # match each member, an empty one ("a,,b", "a,") included.
    element = kind[5:-1] if kind.startswith("List<") else kind
    refused: dict[str, list[str]] = {}
    for item in (v.strip() for v in value.split(",")):
        problem = _item_problem(declaration, element, item) or _pattern_problem(declaration, item)
        if problem and _describe_item(item) not in refused.get(problem, []):
            refused.setdefault(problem, []).append(_describe_item(item))
    if not refused:
        return None
    return "; ".join(f"{', '.join(items)}: {problem}" for problem, items in refused.items()) + note


def _describe_item(item: str) -> str:
    if not item:
        return "an empty item (two commas in a row, or a comma at either end)"
    return f"item {item!r}"


def _item_problem(declaration: Mapping[str, Any], kind: str, item: str) -> Optional[str]:
    allowed = declaration.get("AllowedValues")
    if allowed is not None and item not in [str(a) for a in allowed]:
        return "allowed: one of " + ", ".join(str(a) for a in allowed)
    if kind == "Number":
        try:
            number = float(item)
        except ValueError:
            return "allowed: a number"
        if not math.isfinite(number):
            return "allowed: a finite number"
        if _whole(declaration) and not re.fullmatch(r"-?[0-9]+", item):
            # CloudFormation takes 1.5 for a Number, then the property that wants an integer
            # (vCPUs, MiB, GiB, minutes) fails mid-deployment.
            return "allowed: a whole number"
        low, high = declaration.get("MinValue"), declaration.get("MaxValue")
        if low is not None and number < float(low):
            return f"allowed: at least {low}" + (f" and at most {high}" if high is not None else "")
        if high is not None and number > float(high):
            return f"allowed: at most {high}" + (f" and at least {low}" if low is not None else "")
    match = re.fullmatch(r"AWS::EC2::(\w+)::Id", kind)
    if match and match.group(1) in _ID_PREFIXES:
        prefix = _ID_PREFIXES[match.group(1)]
        if not re.fullmatch(rf"{prefix}-[0-9a-f]{{8,17}}", item):
            return f"allowed: an id like {prefix}-0123456789abcdef0"
    if kind == "AWS::EC2::KeyPair::KeyName" and not item:
        return "allowed: the name of an EC2 key pair"
    return None


def _whole(declaration: Mapping[str, Any]) -> bool:
    """Whether a Number parameter takes whole numbers only: its default, bounds and allowed
    values (those it has) are all whole, as in every template rv-batch-cfn generates."""
    given = [declaration.get(k) for k in ("Default", "MinValue", "MaxValue")]
    given = [v for v in given + list(declaration.get("AllowedValues") or []) if v is not None]
    try:
        return bool(given) and all(float(v).is_integer() for v in given)
    except (TypeError, ValueError):
        return False


def kept_value_problems(template: Mapping[str, Any], previous: Mapping[str, str],
                        given: Mapping[str, str]) -> list[Problem]:
    """The stack's current values, kept by an update (not given), that this template refuses:
    an update from an older template whose parameter allowed more (S3Buckets `*` of the
    original raster-vision-aws template). CloudFormation would refuse them too, later."""
    declared = template.get("Parameters") or {}
    problems = []
    for name, value in previous.items():
        if name in given or name not in declared:
            continue
        reason = value_problem(declared[name], value)
        if reason:
            problems.append(Problem(
                f"{name} (the stack's current value, kept when not given)", value,
                f"{reason}; this template no longer accepts it: give --param {name}=..."))
    return problems


def _pattern_problem(declaration: Mapping[str, Any], value: str) -> Optional[str]:
    pattern = declaration.get("AllowedPattern")
    # CloudFormation matches the whole value (each member of a list) against the pattern.
    if pattern is not None and not re.fullmatch(pattern, value):
        return f"allowed: a value matching {pattern}"
    return None


def _string_problem(declaration: Mapping[str, Any], value: str) -> Optional[str]:
    problem = _pattern_problem(declaration, value)
    if problem:
        return problem
    low, high = declaration.get("MinLength"), declaration.get("MaxLength")
    if low is not None and len(value) < int(low):
        return f"allowed: at least {low} characters"
    if high is not None and len(value) > int(high):
        return f"allowed: at most {high} characters"
    return None


def missing_required(template: Mapping[str, Any], known: Sequence[str]) -> None:
    """ConfigError naming every parameter with no default and no value in `known`."""
    declared = template.get("Parameters") or {}
    problems = [Problem(f"--param {name}", None,
                        "required: the parameter has no default. "
                        + str(p.get("Description", "")).split(". ")[0].strip().rstrip("."))
                for name, p in declared.items() if "Default" not in p and name not in known]
    if problems:
        raise ConfigError(problems)


def effective_values(template: Mapping[str, Any], given: Mapping[str, str],
                     previous: Mapping[str, str]) -> dict[str, str]:
    """What each parameter will be: given, else the stack's previous value, else the default."""
    declared = template.get("Parameters") or {}
    values = {}
    for name, p in declared.items():
        if name in given:
            values[name] = given[name]
        elif name in previous:
            values[name] = previous[name]
        elif "Default" in p:
            values[name] = _as_string(p["Default"])
    return values


def _as_string(value: Any) -> str:
    if isinstance(value, (list, tuple)):
        return ",".join(str(v) for v in value)
    return str(value)
