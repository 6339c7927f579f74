"""Many rows in one INSERT … RETURNING, their ids in the order of the rows given.

A batch's ledger rows and its replies' outbox rows go in as one statement each, and the
caller needs each row's id. PostgreSQL's statement returns them in the order of the rows
(SQLAlchemy's ``sort_by_parameter_order``). On SQLite that option costs one statement
per row; there the rows of one multi-row INSERT get ascending ids in the order of its
VALUES (each new rowid exceeds the largest before it, and the transaction is the only
writer), so the returned ids sorted are in the order of the rows.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, Table, insert


class OrderedInsert:
    """The statements of one table with an integer ``id`` key, built once."""

    def __init__(self, table: Table) -> None:
        self._sorted = insert(table).returning(table.c.id, sort_by_parameter_order=True)
        self._plain = insert(table).returning(table.c.id)

    def ids(self, conn: Connection, rows: Sequence[dict[str, Any]]) -> list[int]:
        """Insert ``rows`` (same keys in each); their ids, in the same order."""
        if not rows:
            return []
        if conn.dialect.name == "sqlite":
            return sorted(int(i) for i in conn.execute(self._plain, list(rows)).scalars())
        return [int(i) for i in conn.execute(self._sorted, list(rows)).scalars()]
