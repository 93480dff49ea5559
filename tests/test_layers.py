"""The layers of ARCHITECTURE.md, held against the code: every module is imported, and its own
imports (read from its source, so an import inside a function counts too, and so do the names a
package face imports on first use) may only reach down.

    core (config/, errors, render, lint, ...)  <-  template/  <-  account/  <-  cli/

The package face, `rv_batch_cfn/__init__.py`, hands on the library's API (the core's and
`build_template`): it may reach the core and the template layer, never account/ or cli/.
"""

from __future__ import annotations

import ast
import importlib
import pkgutil
import subprocess
import sys
from pathlib import Path

import pytest

import rv_batch_cfn

PACKAGE = Path(rv_batch_cfn.__file__).parent
# What each layer may import of the package, besides itself. The entry point may import cli.
ALLOWED = {
    "face": {"core", "template"},
    "core": {"core"},
    "template": {"core", "template"},
    "account": {"core", "template", "account"},
    "cli": {"face", "core", "template", "account", "cli"},
    "entry": {"cli"},
}


def module_names() -> list[str]:
    return sorted(m.name for m in pkgutil.walk_packages([str(PACKAGE)], "rv_batch_cfn."))


def layer(module: str) -> str:
    parts = module.split(".")
    if module == "rv_batch_cfn":
        return "face"
    if module == "rv_batch_cfn.__main__":
        return "entry"
    if len(parts) > 1 and parts[1] in ("template", "account", "cli"):
        return parts[1]
    return "core"


def source_path(module: str) -> Path:
    spec = importlib.util.find_spec(module)
    assert spec is not None and spec.origin, module
    return Path(spec.origin)


def lazy_imports(module: str) -> set[str]:
    """The submodules a package face imports on first use (PEP 562 `__getattr__`): the values of
    its table `_API` (name -> submodule), which its `__getattr__` hands to `import_module`."""
    table = getattr(importlib.import_module(module), "_API", {})
    return {f"{module}.{sub}" for sub in table.values()}


def type_checking_nodes(tree: ast.AST) -> set[int]:
    """The ids of the nodes under `if TYPE_CHECKING:`: imports for annotations only, which
    never run, so they make no import cycle (they still may not reach up a layer)."""
    skipped: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and ast.unparse(node.test).endswith("TYPE_CHECKING"):
            skipped |= {id(inner) for stmt in node.body for inner in ast.walk(stmt)}
    return skipped


def package_imports(module: str, *, at_run_time: bool = False) -> set[str]:
    """The rv_batch_cfn modules `module` imports, anywhere in its source; with `at_run_time`,
    without those imported for annotations only."""
    path = source_path(module)
    is_package = path.name == "__init__.py"
    base = module.split(".") if is_package else module.split(".")[:-1]
    found: set[str] = lazy_imports(module) if is_package else set()
    tree = ast.parse(path.read_text(encoding="utf-8"))
    skipped = type_checking_nodes(tree) if at_run_time else set()
    for node in ast.walk(tree):
        if id(node) in skipped:
            continue
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.startswith("rv_batch_cfn")}
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                anchor = base[:len(base) - node.level + 1]
                target = ".".join(anchor + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if not target.startswith("rv_batch_cfn"):
                continue
            # `from . import x` names submodules; `from .x import name` names module x.
            subs = [f"{target}.{a.name}" for a in node.names]
            found |= {s for s in subs if s in KNOWN} or {target}
    return found


MODULES = ["rv_batch_cfn", *module_names()]
KNOWN = set(MODULES)


def test_every_module_imports():
    for name in MODULES:
        if name != "rv_batch_cfn.__main__":
            importlib.import_module(name)


@pytest.mark.parametrize("module", MODULES)
def test_imports_reach_only_down(module):
    own = layer(module)
    wrong = sorted(f"{target} ({layer(target)})" for target in package_imports(module)
                   if layer(target) not in ALLOWED[own])
    assert not wrong, f"{module} ({own} layer) imports {wrong}; allowed: {sorted(ALLOWED[own])}"


def test_a_layer_violation_is_caught(tmp_path, monkeypatch):
    # The check itself can fail: a template module that imports the AWS layer is reported.
    bad = tmp_path / "bad.py"
    bad.write_text("def f():\n    from ..account import session\n    from ..cli import main\n")
    monkeypatch.setattr(sys.modules[__name__], "source_path", lambda module: bad)
    found = package_imports("rv_batch_cfn.template.bad")
    assert found == {"rv_batch_cfn.account.session", "rv_batch_cfn.cli"}
    assert {layer(m) for m in found} - ALLOWED["template"] == {"account", "cli"}


def test_what_a_package_face_imports_on_first_use_is_read():
    # Every module that imports by name (import_module) is a face whose table the check reads,
    # so no import hides from it.
    by_name = [m for m in MODULES if "import_module" in source_path(m).read_text()]
    assert by_name == ["rv_batch_cfn", "rv_batch_cfn.template"]
    assert all(lazy_imports(m) for m in by_name)
    assert {"rv_batch_cfn.template", "rv_batch_cfn.config"} <= package_imports("rv_batch_cfn")
    assert "rv_batch_cfn.template.stack_template" in package_imports("rv_batch_cfn.template")


def test_imports_for_annotations_only_make_no_cycle_but_keep_their_layer(tmp_path, monkeypatch):
    typed = tmp_path / "typed.py"
    typed.write_text("from typing import TYPE_CHECKING\n"
                     "from . import limits\n"
                     "if TYPE_CHECKING:\n"
                     "    from .model import StackConfig\n"
                     "    from ..cli import main\n")
    monkeypatch.setattr(sys.modules[__name__], "source_path", lambda module: typed)
    module = "rv_batch_cfn.config.typed"
    assert package_imports(module, at_run_time=True) == {"rv_batch_cfn.config.limits"}
    assert package_imports(module) == {"rv_batch_cfn.config.limits",
                                       "rv_batch_cfn.config.model", "rv_batch_cfn.cli"}


def test_no_import_cycles():
    graph = {m: {t for t in package_imports(m, at_run_time=True) if t in KNOWN and t != m}
             for m in MODULES}
    # A package importing its own submodules is not a cycle of layers; the submodule importing
    # the package back (rather than a sibling) would be.
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                cycle = stack[stack.index(nxt):] + [nxt]
                pytest.fail("import cycle: " + " -> ".join(cycle))
            if nxt not in state:
                visit(nxt)
        stack.pop()
        state[node] = 2

    for module in MODULES:
        if module not in state:
            visit(module)


def test_importing_the_library_loads_no_aws_sdk_and_no_argument_parser():
    # A library user who only generates templates pays for neither.
    code = ("import sys, rv_batch_cfn; "
            "print(sorted(m for m in ('boto3', 'botocore', 'argparse', 'rv_batch_cfn.cli') "
            "if m in sys.modules))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True)
    assert done.stdout.strip() == "[]"
