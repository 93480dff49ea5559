"""The in-process moto server, sooner: what it computes again for every request or template,
computed once, with the same results. None of it is a difference from AWS, so none of it is in
tests/moto_like_aws.py, nor has a canary; tests/test_moto_speed.py shows each gives moto's result.

Templates parsed with libyaml (about ten times sooner), and each text once. moto's
CloudFormation reads every template, JSON included, with PyYAML's pure-Python full loader, four or
five times per change set (the change set, the stack, its comparison with the current template):
about a quarter of the test suite's time went there. This swaps the parser only. `yaml.CLoader` is
libyaml's parser under the very constructor and resolver of `yaml.Loader`, and the short-form tags
go through moto's own constructor (as patched by tests/moto_like_aws.py), so moto builds the same
data. The tests deploy the same few templates again and again, so the data parsed from a text is
kept, pickled, and each parse of that text gets a fresh copy (unpickling the 57 KB template takes
under a millisecond, parsing it 25 ms); moto may change what it gets without changing the next.

Per request, moto lists the folders of its own package (to tell whether a host names a service)
and lists a response class's methods with `inspect.getmembers` (to find the action's handler);
neither changes while the server runs (tests/moto_like_aws.py patches before it starts).
"""

from __future__ import annotations

import functools
import pickle
import types
from typing import Any

import yaml

_APPLIED = False


def _loader() -> Any:
    """The loader class moto parses templates with, as `use_libyaml` installs it."""
    from moto.cloudformation import utils

    class MotoTemplateLoader(yaml.CLoader):  # type: ignore[misc,name-defined]
        pass

    # Looked up at each call: tests/moto_like_aws.py replaces moto's constructor.
    MotoTemplateLoader.add_multi_constructor(
        "", lambda loader, tag, node: utils.yaml_tag_constructor(loader, tag, node))
    return MotoTemplateLoader


def make_moto_faster() -> None:
    """Every change of this module (idempotent)."""
    from moto import backends
    from moto.core import responses

    use_libyaml()
    if not hasattr(backends.list_of_moto_modules, "cache_info"):
        listed = tuple(backends.list_of_moto_modules())
        backends.list_of_moto_modules = functools.lru_cache(maxsize=None)(lambda: listed)
    if not hasattr(responses.method_names_from_class, "cache_info"):
        responses.method_names_from_class = functools.lru_cache(maxsize=None)(
            responses.method_names_from_class)


def use_libyaml() -> bool:
    """Give moto's CloudFormation modules a `yaml` whose load() of `yaml.Loader` uses `_loader()`,
    once per text (idempotent). False, changing nothing, when PyYAML was built without libyaml."""
    global _APPLIED
    if _APPLIED:
        return True
    if not hasattr(yaml, "CLoader"):
        return False
    from moto.cloudformation import models, responses

    fast = _loader()

    @functools.lru_cache(maxsize=64)
    def parsed(text: str) -> bytes:
        return pickle.dumps(yaml.load(text, Loader=fast), protocol=pickle.HIGHEST_PROTOCOL)

    def load(stream: Any, Loader: Any = None) -> Any:  # noqa: N803 - PyYAML's own name
        if Loader not in (None, yaml.Loader):
            return yaml.load(stream, Loader=Loader)
        if isinstance(stream, str):
            return pickle.loads(parsed(stream))
        return yaml.load(stream, Loader=fast)

    shim = types.ModuleType("yaml", "PyYAML, loading with libyaml (tests/moto_speed.py)")
    shim.__dict__.update({k: v for k, v in vars(yaml).items() if not k.startswith("__")})
    shim.load = load  # type: ignore[attr-defined]
    shim.add_multi_constructor = lambda *args, **kwargs: None  # type: ignore[attr-defined]
    for module in (models, responses):
        module.yaml = shim  # type: ignore[attr-defined]
    _APPLIED = True
    return True
