"""Canaries of the emulator's patches: each `_patch_*` function of a tests/moto_like_aws*.py module
makes up for a way moto differs from AWS, and each has tests (canaries) that show the difference
on an unpatched server. When moto catches up, its canary fails and says what can go.

One registry per patch module, used by its canary module:

    CANARIES = Canaries(moto_like_aws, moto_like_aws.make_moto_like_aws)
    canary, remove = CANARIES.mark, CANARIES.remove

    @canary("_patch_parameters")
    def test_...(aws):
        assert fails(...), remove("_patch_parameters")

    def test_every_patch_has_a_canary():
        CANARIES.check()
"""

from __future__ import annotations

import ast
import inspect
import textwrap
from types import ModuleType
from typing import Callable, Optional


class Canaries:
    """The canaries of one patch module, and the check that every patch it applies has one."""

    def __init__(self, module: ModuleType, apply: Callable) -> None:
        self.module = module
        self.apply = apply  # the function that applies every _patch_* of the module
        self.by_patch: dict[str, list[str]] = {}

    def mark(self, patch: str) -> Callable[[Callable], Callable]:
        """A decorator recording that the test is a canary for `patch`."""
        def mark(test: Callable) -> Callable:
            self.by_patch.setdefault(patch, []).append(test.__name__)
            return test
        return mark

    def remove(self, patch: str, part: Optional[str] = None) -> str:
        """A canary's failure message: moto now does this right, and what can go."""
        what = f"{part} from {patch}" if part else f"{patch} (and its call in {self.apply.__name__})"
        path = self.module.__name__.replace(".", "/") + ".py"
        return f"moto now behaves like AWS here: remove {what} in {path}, and this canary"

    def check(self) -> None:
        """Fail unless the module applies every `_patch_*` function it defines, and each has a
        canary (a new patch without one, or a canary of a patch that is gone)."""
        source = ast.parse(textwrap.dedent(inspect.getsource(self.apply)))
        applied = {node.func.id for node in ast.walk(source) if isinstance(node, ast.Call)
                   and isinstance(node.func, ast.Name) and node.func.id.startswith("_patch_")}
        defined = {name for name, value in vars(self.module).items()
                   if name.startswith("_patch_") and callable(value)}
        assert applied == defined, f"{self.apply.__name__}() should apply every _patch_* function"
        with_canary = {patch for patch in self.by_patch if patch.startswith("_patch_")}
        assert applied == with_canary, (
            f"without a canary: {sorted(applied - with_canary)}; canaries of no patch: "
            f"{sorted(with_canary - applied)}")
