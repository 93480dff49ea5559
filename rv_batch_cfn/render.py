"""Deterministic rendering of templates as YAML and JSON (files.py writes them)."""

from __future__ import annotations

import json
from typing import Any, Union

import yaml
from cfn_clean import cfn_literal_parser
from cfn_flip import yaml_dumper as cfn_yaml
from cfn_tools._config import config as cfn_flip_config
from troposphere import Template


# The order a person reads a template in, rather than troposphere's alphabetical one.
SECTION_ORDER = ("AWSTemplateFormatVersion", "Description", "Transform", "Metadata", "Parameters",
                 "Rules", "Mappings", "Conditions", "Resources", "Outputs")
RESOURCE_KEY_ORDER = ("Type", "Condition", "DependsOn", "DeletionPolicy", "UpdateReplacePolicy",
                      "UpdatePolicy", "CreationPolicy", "Metadata", "Properties")


def template_dict(template: Template) -> dict[str, Any]:
    """The template as plain data, sections and resource keys in reading order."""
    body = template.to_dict()
    ordered = {key: body[key] for key in SECTION_ORDER if key in body}
    ordered.update({k: v for k, v in body.items() if k not in ordered})
    if "Resources" in ordered:
        ordered["Resources"] = {
            name: {k: r[k] for k in (*RESOURCE_KEY_ORDER, *sorted(r)) if k in r}
            for name, r in ordered["Resources"].items()
        }
    return ordered


class _ShortFormDumper(cfn_yaml.Dumper):
    """cfn-flip's YAML dumper (short intrinsic forms, its quoting and indentation) for plain,
    insertion-ordered dicts: the same text as `cfn_flip.to_yaml`, without its ordered-dict type,
    whose items() builds a class per key to defeat sorting (most of cfn-flip's time).

    One difference: a multi-line string under an intrinsic function (the launch templates'
    `UserData: !Base64`) is a literal block, as a person would write it and as cfn-flip writes
    multi-line strings that are not under a function, not one double-quoted line of escapes."""

    def represent_scalar(self, tag, value, style=None):
        if style is None and tag.startswith("!") and "\n" in value:
            style = "|"
        return super().represent_scalar(tag, value, style)


def _represent_dict(dumper: yaml.Dumper, value: dict) -> Any:
    if len(value) == 1:  # {"Ref": x} -> !Ref x, {"Fn::Sub": x} -> !Sub x
        (key, inner), = value.items()
        if key in cfn_yaml.CONVERTED_SUFFIXES:
            return cfn_yaml.fn_representer(dumper, key, inner)
        if key.startswith(cfn_yaml.FN_PREFIX):
            return cfn_yaml.fn_representer(dumper, key[len(cfn_yaml.FN_PREFIX):], inner)
    return dumper.represent_mapping(cfn_yaml.TAG_MAP, value, flow_style=False)


_ShortFormDumper.add_representer(dict, _represent_dict)


def render_yaml(template: Union[Template, dict]) -> str:
    """YAML in the short intrinsic style (!Ref, !Sub, ...) a person would write, from a template
    or its `template_dict`; byte for byte what `cfn_flip.to_yaml` writes, but for multi-line
    strings under an intrinsic function (see _ShortFormDumper)."""
    data = template_dict(template) if isinstance(template, Template) else template
    # A copy: cfn-flip's literal parser replaces some values in place (JSON bodies it keeps
    # literal), and the caller's data may still be linted.
    data = cfn_literal_parser(json.loads(json.dumps(data)))
    return yaml.dump(data, Dumper=_ShortFormDumper, default_flow_style=False,
                     allow_unicode=True, width=cfn_flip_config.max_col_width, sort_keys=False)


def render_json(data: dict) -> str:
    """Indented JSON with a trailing newline, keys in the order given (the Packer template)."""
    return json.dumps(data, indent=2) + "\n"
