"""How counts and tables are written for people to read, each rule in one place: `plural` for
"1 job" / "2 jobs", `table` for columns aligned with spaces (the AWS CLI's text output)."""

from __future__ import annotations

from typing import Collection, Optional, Sequence


def plural(count: int, noun: str, nouns: Optional[str] = None) -> str:
    """`count` and the noun it takes: "1 job", "0 jobs", "2 increases"; `nouns` where the
    plural is not the noun with an "s"."""
    return f"{count} {noun if count == 1 else nouns or noun + 's'}"


def table(rows: Sequence[Sequence[str]], indent: str = "", gap: str = "  ",
          right: Collection[int] = (), min_widths: Sequence[int] = ()) -> list[str]:
    """`rows` of cells as lines: each column as wide as its widest cell (at least
    `min_widths[i]`), `gap` between columns, left-aligned except the columns numbered in
    `right`; no trailing spaces."""
    if not rows:
        return []
    columns = max(len(row) for row in rows)
    widths = [max([len(row[i]) for row in rows if i < len(row)]
                  + [min_widths[i] if i < len(min_widths) else 0]) for i in range(columns)]
    return [(indent + gap.join(cell.rjust(w) if i in right else cell.ljust(w)
                               for i, (cell, w) in enumerate(zip(row, widths)))).rstrip()
            for row in rows]
