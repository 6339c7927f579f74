"""Counts for the overview, the dashboard and `/metrics` (`uow.tallies`): one GROUP BY
per question, read at scrape time, so that any number of processes share no counters."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection, func, select

from postroom.storage.tables import messages, outbox


class TallyRepository:
    """Aggregates over the ledger and the outbox; plain values out."""

    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    def ping(self) -> None:
        """One trivial statement: raises (as a unit translates it) when the database does
        not answer."""
        self._conn.execute(select(1)).one()

    def messages(self) -> dict[tuple[int | None, str, str | None], int]:
        """Messages stored, by (channel id or None, status, rule or None)."""
        query = select(
            messages.c.channel_id, messages.c.status, messages.c.rule, func.count()
        ).group_by(messages.c.channel_id, messages.c.status, messages.c.rule)
        return {(row[0], row[1], row[2]): int(row[3]) for row in self._conn.execute(query)}

    def messages_since(self, since: datetime) -> dict[int | None, int]:
        """Messages received at or after ``since`` (naive UTC), by channel id."""
        query = (
            select(messages.c.channel_id, func.count())
            .where(messages.c.received_at >= since)
            .group_by(messages.c.channel_id)
        )
        return {row[0]: int(row[1]) for row in self._conn.execute(query)}

    def outbox(self) -> dict[str, tuple[int, int]]:
        """Outbound messages by status: (how many, send attempts they took)."""
        query = select(
            outbox.c.status, func.count(), func.coalesce(func.sum(outbox.c.attempts), 0)
        ).group_by(outbox.c.status)
        return {row[0]: (int(row[1]), int(row[2])) for row in self._conn.execute(query)}
