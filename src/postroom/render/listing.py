"""Which rows a list command shows, and in which order, the same for every door.

A time-ordered list (work items, the outbox, quarantined and unhandled mail) is read oldest
first. A person wants the newest: the text output shows the newest first, ``--limit N``
keeps the N newest. The JSON output keeps docs/cli.md's order (oldest first) so scripts
written against it read the same, of the same N newest rows when limited.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypeVar

Row = TypeVar("Row")


def newest(rows: Sequence[Row], limit: int | None, *, newest_first: bool) -> list[Row]:
    """The ``limit`` newest of ``rows`` (given oldest first; all when None), newest first
    when ``newest_first``, else in their order."""
    kept = list(rows[-limit:]) if limit is not None and limit < len(rows) else list(rows)
    return kept[::-1] if newest_first else kept


def more_line(total: int, shown_count: int) -> str | None:
    """``… N older not shown (--limit)`` when the limit left rows out, else None."""
    left = total - shown_count
    return f"… {left} older not shown (raise --limit)" if left > 0 else None
