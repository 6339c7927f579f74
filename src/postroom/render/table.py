"""Aligned tables for people (`channel list`, `smtp list`, …): a header line, then one line
per row, columns padded to their widest cell. Every cell is escaped for the terminal first
(`for_terminal`), so a TAB or a line break in remote text cannot shift a column."""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence

from postroom.domain.display import for_terminal

_GAP = "  "


def width(text: str) -> int:
    """Columns ``text`` takes on a terminal: East Asian wide and full-width characters take
    two, combining marks none."""
    total = 0
    for char in text:
        if unicodedata.combining(char):
            continue
        total += 2 if unicodedata.east_asian_width(char) in ("W", "F") else 1
    return total


def table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """The header and the rows as aligned lines (the last column is not padded)."""
    cells = [[for_terminal("" if v is None else v) for v in row] for row in rows]
    lines = [list(headers), *cells]
    widths = [max(width(line[i]) for line in lines) for i in range(len(headers))]
    out = []
    for line in lines:
        padded = [
            cell + " " * (widths[i] - width(cell)) if i < len(line) - 1 else cell
            for i, cell in enumerate(line)
        ]
        out.append(_GAP.join(padded).rstrip())
    return "\n".join(out)
