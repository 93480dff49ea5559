"""The one rule for counts and the one for aligned columns (rv_batch_cfn/text.py)."""

from __future__ import annotations

from rv_batch_cfn.text import plural, table


def test_plural_agrees_with_the_count():
    assert [plural(n, "job") for n in (0, 1, 2)] == ["0 jobs", "1 job", "2 jobs"]
    assert plural(3, "quota", "quotas") == "3 quotas"
    assert plural(2, "entry", "entries") == "2 entries"


def test_table_aligns_columns_and_drops_trailing_spaces():
    lines = table([["DAY", "TOTAL", "NOTE"], ["2026-01-01", "$1.50", ""],
                   ["total", "$12.00", "x"]], indent="  ", right=[1])
    assert lines == ["  DAY          TOTAL  NOTE",
                     "  2026-01-01   $1.50",
                     "  total       $12.00  x"]


def test_table_keeps_a_minimum_width_and_takes_short_rows():
    assert table([["ok", "check"], ["", "", "fix: this"]], min_widths=[7]) == [
        "ok       check", "                fix: this"]
    assert table([]) == []
