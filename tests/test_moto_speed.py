"""tests/moto_speed.py gives moto's own results: parsing with libyaml builds the very data PyYAML's
pure-Python loader builds, for every template the tests deploy and every short-form tag; the
remembered module list and method names are what moto computes."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import pytest
import yaml

from tests.moto_like_aws import make_moto_like_aws
from rv_batch_cfn.inputs import template_loader
from tests.moto_speed import make_moto_faster, use_libyaml
from tests.samples import SHORT_FORMS

ROOT = Path(__file__).resolve().parents[1]
# The two committed templates hold every construct the named configurations' templates do (those
# differ in parameter defaults only); parsing each with the pure-Python loader takes a while.
TEMPLATES = sorted(ROOT.glob("cloudformation/*.yml"))


def _as_moto_reads(text: str) -> object:
    """What moto's own parse builds (PyYAML's pure-Python yaml.Loader)."""
    from moto.cloudformation import utils

    class PurePython(yaml.Loader):
        pass

    PurePython.add_multi_constructor(
        "", lambda loader, tag, node: utils.yaml_tag_constructor(loader, tag, node))
    return yaml.load(text, Loader=PurePython)


@pytest.fixture(scope="module", autouse=True)
def patched_moto():
    make_moto_like_aws()
    make_moto_faster()
    if not use_libyaml():
        pytest.skip("this PyYAML was built without libyaml: moto keeps its own parser")


def _texts() -> list:
    texts = []
    for path in TEMPLATES:
        text = path.read_text()
        texts.append(pytest.param(text, id=path.name))
        # deploy sends templates over 51,200 bytes as compact JSON; moto parses that as YAML too
        compact = json.dumps(yaml.load(text, Loader=template_loader()), separators=(",", ":"))
        texts.append(pytest.param(compact, id=f"{path.name}-as-json"))
    return [*texts, pytest.param(SHORT_FORMS, id="short-forms")]


@pytest.mark.parametrize("text", _texts())
def test_moto_builds_the_same_template_data(text):
    from moto.cloudformation.models import Stack

    assert _comparable(Stack.parse_template(text)) == _comparable(_as_moto_reads(text))


def _comparable(data: object) -> object:
    """`data` with the YAML nodes moto leaves in it (`!GetAtt [a, b]` keeps its scalar nodes)
    as (tag, value) pairs, which compare by value."""
    if isinstance(data, dict):
        return {key: _comparable(value) for key, value in data.items()}
    if isinstance(data, list):
        return [_comparable(value) for value in data]
    if isinstance(data, yaml.Node):
        return (data.tag, _comparable(data.value))
    return data


def test_moto_parses_with_libyaml(monkeypatch):
    from moto.cloudformation.models import Stack

    loaders = []
    original = yaml.load

    def recording_load(stream, Loader=None):  # noqa: N803 - PyYAML's own name
        loaders.append(Loader)
        return original(stream, Loader=Loader)

    monkeypatch.setattr(yaml, "load", recording_load)
    text = f"A: {uuid.uuid4()}"  # a text this process has not parsed yet
    Stack.parse_template(text)
    assert len(loaders) == 1 and issubclass(loaders[0], yaml.CLoader)
    Stack.parse_template(text)
    assert len(loaders) == 1  # a text is parsed once


def test_each_parse_of_a_text_gets_its_own_data():
    from moto.cloudformation.models import Stack

    text = TEMPLATES[0].read_text()
    first = Stack.parse_template(text)
    first["Resources"].clear()  # moto changing what it got
    second = Stack.parse_template(text)
    assert second["Resources"] and second is not first
    assert _comparable(second) == _comparable(_as_moto_reads(text))


def test_the_module_list_and_method_names_are_what_moto_computes():
    import inspect
    import os

    import moto
    from moto import backends
    from moto.batch.responses import BatchResponse
    from moto.core import responses

    folder = os.path.dirname(moto.__file__)
    assert list(backends.list_of_moto_modules()) == [
        name for name in sorted(os.listdir(folder))
        if os.path.isdir(os.path.join(folder, name)) and not name.startswith("__")]
    assert "cloudformation" in backends.list_of_moto_modules()
    assert responses.method_names_from_class(BatchResponse) == [
        name for name, _ in inspect.getmembers(BatchResponse, inspect.isfunction)]
