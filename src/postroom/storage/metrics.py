"""Poll and handling durations as cumulative tallies (`uow.metrics`), read by `/metrics`.

Each poll adds 1 to its channel's row for its outcome (one upsert); each batch of messages
adds its handling durations to one row (one upsert with the batch's commit). A row holds a
count, a sum of seconds and fixed histogram buckets, each the number of observations up to
its bound and above the bound before it (the last: above every bound). Rows only grow: a
channel removed keeps its poll rows (the histogram of all polls never goes down), and a
channel added again under the same name continues its counters.

Handling rows are keyed by the arrival's channel id (0 without one) only so that batches
of different channels, in different processes, do not wait for the same row lock; the
histogram adds them all up.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, Table, bindparam, func, select
from sqlalchemy.sql.dml import Insert

if TYPE_CHECKING:
    from sqlalchemy.dialects import postgresql, sqlite

from postroom.storage.tables import BUCKETS, channels, handling_tallies, poll_tallies

POLL_BOUNDS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0)
"""Upper bounds (seconds) of the poll buckets; a poll stops after 120 s (`PollService`)."""
HANDLING_BOUNDS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 5.0)
"""Upper bounds (seconds) of the buckets of one message's handling."""
assert len(POLL_BOUNDS) == len(HANDLING_BOUNDS) == BUCKETS - 1


@dataclass(frozen=True, slots=True)
class Tally:
    """A histogram as stored: bucket counts (not cumulative; the last is above every
    bound), how many observations and their sum in seconds."""

    bounds: tuple[float, ...]
    buckets: tuple[int, ...]
    count: int
    seconds: float


class MetricsRepository:
    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    def add_poll(self, channel: str, outcome: str, seconds: float) -> None:
        """One poll of ``channel`` that ended with ``outcome``, which took ``seconds``."""
        self._add(poll_tallies, {"channel": channel, "outcome": outcome}, POLL_BOUNDS, [seconds])

    def add_handling(self, channel_id: int | None, seconds: Sequence[float]) -> None:
        """The handling durations of a batch's messages (nothing when empty)."""
        if seconds:
            self._add(handling_tallies, {"shard": channel_id or 0}, HANDLING_BOUNDS, seconds)

    def polls(self) -> dict[tuple[str, str], int]:
        """Polls by (channel, outcome), for the channels there are now."""
        query = (
            select(poll_tallies.c.channel, poll_tallies.c.outcome, poll_tallies.c.count)
            .join(channels, channels.c.name == poll_tallies.c.channel)
            .order_by(poll_tallies.c.channel, poll_tallies.c.outcome)
        )
        return {(row[0], row[1]): int(row[2]) for row in self._conn.execute(query)}

    def poll_durations(self) -> Tally:
        """Every poll ever recorded, removed channels' included."""
        return self._sum(poll_tallies, POLL_BOUNDS)

    def handling_durations(self) -> Tally:
        return self._sum(handling_tallies, HANDLING_BOUNDS)

    def _sum(self, table: Table, bounds: tuple[float, ...]) -> Tally:
        columns = [
            table.c["count"],
            table.c["seconds"],
            *(table.c[f"b{i}"] for i in range(BUCKETS)),
        ]
        row = self._conn.execute(select(*(func.coalesce(func.sum(c), 0) for c in columns))).one()
        return Tally(bounds, tuple(int(v) for v in row[2:]), int(row[0]), float(row[1]))

    def _add(
        self, table: Table, key: dict[str, Any], bounds: tuple[float, ...], seconds: Sequence[float]
    ) -> None:
        """One upsert: the row is created with these figures or has them added. The
        statement is built once per table and dialect (`_upsert`): building it anew (its
        ``excluded`` alias copies every column) cost ~0.8 ms, the upsert itself ~0.05 ms."""
        spans = [max(0.0, s) for s in seconds]
        values: dict[str, Any] = {f"b{i}": 0 for i in range(BUCKETS)}
        for span in spans:  # le: a span equal to a bound is in its bucket
            values[f"b{bisect_left(bounds, span)}"] += 1
        values.update(key, count=len(spans), seconds=sum(spans))
        self._conn.execute(_upsert(table, tuple(key), self._conn.dialect.name), values)


_UPSERTS: dict[tuple[str, tuple[str, ...], str], Insert] = {}


def _upsert(table: Table, key: tuple[str, ...], dialect: str) -> Insert:
    """``INSERT … ON CONFLICT (key) DO UPDATE`` adding every count of the row inserted to
    the row there, with a bound parameter per column: one statement object per table,
    which SQLAlchemy compiles once."""
    found = _UPSERTS.get((table.name, key, dialect))
    if found is None:
        added = ["count", "seconds", *(f"b{i}" for i in range(BUCKETS))]
        values: dict[str, Any] = {name: bindparam(name) for name in (*key, *added)}
        statement = _insert(table, dialect).values(values)
        grown = {name: table.c[name] + statement.excluded[name] for name in added}
        found = statement.on_conflict_do_update(index_elements=list(key), set_=grown)
        _UPSERTS[(table.name, key, dialect)] = found
    return found


def _insert(table: Table, dialect: str) -> postgresql.Insert | sqlite.Insert:
    """The dialect's INSERT (with ON CONFLICT), its module imported only when used: a
    SQLite process need not load PostgreSQL's."""
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        return pg_insert(table)
    from sqlalchemy.dialects.sqlite import insert as sqlite_insert

    return sqlite_insert(table)
