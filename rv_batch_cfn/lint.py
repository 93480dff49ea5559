"""cfn-lint through its Python API, with findings as plain data.

cfn-lint takes about a second (most of it importing its rules and schemas), against a few
milliseconds to generate a template. `check_template` therefore remembers the templates it found
clean: by a hash of the text, the regions and the cfn-lint version, in a cache directory
(RV_BATCH_CFN_CACHE_DIR, else $XDG_CACHE_HOME/rv-batch-cfn or ~/.cache/rv-batch-cfn; set
RV_BATCH_CFN_CACHE_DIR to an empty value to turn it off). A template with errors or warnings is
never remembered, and a cache that cannot be read or written is simply not used.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Optional, Sequence

from .errors import InputError, LintError, quote

DEFAULT_REGIONS = ("us-east-1",)
CACHE_VARIABLE = "RV_BATCH_CFN_CACHE_DIR"


@dataclass(frozen=True)
class LintFinding:
    """One cfn-lint match: rule, severity, where, and what it says."""

    rule_id: str
    severity: str  # "error", "warning" or "informational"
    line: int
    column: int
    message: str

    def __str__(self) -> str:
        return f"{self.rule_id} ({self.severity}) line {self.line}:{self.column}: {self.message}"


def lint_template(text: str, regions: Sequence[str] = DEFAULT_REGIONS,
                  informational: bool = True) -> list[LintFinding]:
    """Every finding cfn-lint reports on `text` (YAML or JSON), informational ones included."""
    # Imported here: cfn-lint takes about a second to import, and most commands never lint.
    # Why not cfnlint.api.lint: it reloads every rule on each call; this is its body, rules cached.
    from cfnlint import ConfigMixIn, ManualArgs
    from cfnlint.decode.decode import decode_str
    from cfnlint.exceptions import InvalidRegionException
    from cfnlint.runner import run_template_by_data

    args = ManualArgs(regions=list(regions), include_checks=["I"] if informational else [])
    try:
        config = ConfigMixIn(**args)
        data, matches = decode_str(text)
        if not matches and data is not None:
            matches = list(run_template_by_data(data, config, load_rules()))
    except InvalidRegionException:
        unknown = [r for r in regions if r not in _known_regions()]
        raise InputError(f"--region: got {quote(', '.join(unknown) or ', '.join(regions))}; "
                         "allowed: a region cfn-lint knows, such as us-east-1") from None
    return [LintFinding(m.rule.id, m.rule.severity, m.linenumber, m.columnnumber, m.message)
            for m in matches]


@functools.lru_cache(maxsize=None)
def load_rules() -> Any:
    """cfn-lint's rules, loaded once per process: every rule module imported and each rule
    built, about 0.3 s that cfn-lint.api.lint spends again on every call otherwise. The rules
    keep no state between templates (cfn-lint's command line runs one set over every file it is
    given); which of them apply is the configuration each call passes."""
    from cfnlint import ConfigMixIn
    from cfnlint.runner import Runner

    return Runner(ConfigMixIn(regions=list(DEFAULT_REGIONS))).rules


def _known_regions() -> Sequence[str]:
    from cfnlint.helpers import REGIONS

    return REGIONS


def check_template(text: str, regions: Sequence[str] = DEFAULT_REGIONS, cache: bool = False
                   ) -> list[LintFinding]:
    """Lint `text` and raise LintError when cfn-lint reports any error or warning.

    Returns the informational findings, which do not fail generation. With `cache`, a text this
    cfn-lint version found clean before (see the module's notes) is not linted again.
    """
    entry = _cache_entry(text, regions) if cache else None
    remembered = _read_cache(entry)
    if remembered is not None:
        return remembered
    findings = lint_template(text, regions)
    failing = [f for f in findings if f.severity in ("error", "warning")]
    if failing:
        raise LintError(failing)
    _write_cache(entry, findings)
    return findings


def cache_dir(environ: Optional[dict] = None) -> Optional[Path]:
    """Where check_template remembers clean templates; None when turned off."""
    environ = os.environ if environ is None else environ
    if CACHE_VARIABLE in environ:
        return Path(environ[CACHE_VARIABLE]) if environ[CACHE_VARIABLE] else None
    base = environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "rv-batch-cfn"


def _cache_entry(text: str, regions: Sequence[str]) -> Optional[Path]:
    from importlib.metadata import PackageNotFoundError, version

    directory = cache_dir()
    if directory is None:
        return None
    try:
        linter = version("cfn-lint")
    except PackageNotFoundError:
        return None
    key = json.dumps([linter, sorted(regions), text])
    return directory / "lint" / (hashlib.sha256(key.encode("utf-8")).hexdigest() + ".json")


def _read_cache(entry: Optional[Path]) -> Optional[list[LintFinding]]:
    if entry is None:
        return None
    from .errors import InputError
    from .inputs import read_text_file

    try:
        text = read_text_file(entry, "the lint cache", missing_ok=True)
        return None if text is None else [LintFinding(**f) for f in json.loads(text)]
    except (InputError, ValueError, TypeError):
        return None


def _write_cache(entry: Optional[Path], findings: Sequence[LintFinding]) -> None:
    if entry is None:
        return
    from .errors import OutputError
    from .files import write_atomic

    try:
        write_atomic(entry, json.dumps([asdict(f) for f in findings]))
    except OutputError:
        pass  # a cache is an optimisation: one that cannot be written never fails a command
