"""cfn-lint through its Python API, with findings as plain data."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

from .errors import InputError, LintError, quote

DEFAULT_REGIONS = ("us-east-1",)


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
    from cfnlint.api import ManualArgs, lint
    from cfnlint.exceptions import InvalidRegionException

    args = ManualArgs(regions=list(regions), include_checks=["I"] if informational else [])
    try:
        matches = lint(text, config=args)
    except InvalidRegionException:
        unknown = [r for r in regions if r not in _known_regions()]
        raise InputError(f"--region: got {quote(', '.join(unknown) or ', '.join(regions))}; "
                         "allowed: a region cfn-lint knows, such as us-east-1") from None
    return [LintFinding(m.rule.id, m.rule.severity, m.linenumber, m.columnnumber, m.message)
            for m in matches]


def _known_regions() -> Sequence[str]:
    from cfnlint.helpers import REGIONS

    return REGIONS


def check_template(text: str, regions: Sequence[str] = DEFAULT_REGIONS) -> list[LintFinding]:
    """Lint `text` and raise LintError when cfn-lint reports any error or warning.

    Returns the informational findings, which do not fail generation.
    """
    findings = lint_template(text, regions)
    failing = [f for f in findings if f.severity in ("error", "warning")]
    if failing:
        raise LintError(failing)
    return [f for f in findings if f not in failing]
