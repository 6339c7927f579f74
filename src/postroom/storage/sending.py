"""The outbox as the sender works through it: claims, deliveries and outcomes under a lease.

A row moves queued -> sending (claimed, lease taken; MAIL, RCPT and the content go out
under it) -> delivering (just before DATA's final dot) -> sent | queued (retry later) |
failed; services/send.py says why ``delivering`` exists and why it starts only there.
``lease_until`` doubles as the claimant's token: every later update names it, so a
process whose lease was taken over changes nothing.
"""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, and_, bindparam, or_, select, update

from postroom.records.outbox import OutboxRecord
from postroom.records.statuses import OutboxStatus
from postroom.storage import writer_turn
from postroom.storage.prepared import Prepared
from postroom.storage.tables import outbox

_DUE = or_(
    and_(outbox.c.status == OutboxStatus.QUEUED.value, outbox.c.next_attempt <= bindparam("now")),
    and_(outbox.c.status == OutboxStatus.SENDING.value, outbox.c.lease_until < bindparam("now")),
)
_STALE = and_(
    outbox.c.status == OutboxStatus.DELIVERING.value, outbox.c.lease_until < bindparam("now")
)
# Statements built and compiled once (`storage.prepared`): building Core constructs per
# call, or even executing a built one, costs more than the query (the sender runs them for
# every message).
_OURS = and_(outbox.c.id == bindparam("_id"), outbox.c.lease_until == bindparam("_token"))
_START_DELIVERY = Prepared(
    update(outbox)
    .where(_OURS, outbox.c.status == OutboxStatus.SENDING.value)
    .values(
        status=OutboxStatus.DELIVERING.value,
        lease_until=bindparam("_new_token"),
        recipient_results=bindparam("_pending"),
    )
)
_FINISHES: dict[tuple[str, ...], Prepared] = {}


def _finish(columns: tuple[str, ...]) -> Prepared:
    """The outcome's UPDATE setting these columns (and releasing the lease), built once."""
    found = _FINISHES.get(columns)
    if found is None:
        found = _FINISHES[columns] = Prepared(
            update(outbox)
            .where(
                _OURS,
                # Two comparisons, not IN: an IN list is expanded at every execution.
                or_(
                    outbox.c.status == OutboxStatus.SENDING.value,
                    outbox.c.status == OutboxStatus.DELIVERING.value,
                ),
            )
            .values(lease_until=None, **{c: bindparam(c) for c in columns})
        )
    return found


class SendingRepository:
    """The sender's side of the outbox in one unit of work (`uow.sending`)."""

    UNKNOWN_OUTCOME = (
        "outcome unknown: the sending process stopped while the SMTP server was taking the "
        "message; not sent again automatically (check the recipient or the server log for its "
        "Message-ID; `postroom outbox retry ID` sends it again)"
    )
    """What a row found half-delivered says (it is never sent again automatically)."""

    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    @staticmethod
    def lease_token(now: datetime, lease: timedelta) -> datetime:
        """A lease end unique to its claimant (a random microsecond offset on top): the
        token every later update of a claimed row names."""
        offset = timedelta(microseconds=secrets.randbelow(999_999))
        return (now + lease + offset).replace(tzinfo=None)

    def anything_to_do(self, now: datetime) -> bool:
        """A due row or a delivery left by a stopped process (a read: a tick with nothing
        to send does not queue for the write lock)."""
        found = self._conn.execute(
            select(outbox.c.id).where(or_(_DUE, _STALE)).limit(1), {"now": now}
        )
        return found.first() is not None

    def abandon_stale_deliveries(self, now: datetime) -> list[int]:
        """Rows left ``delivering`` by a process that stopped: outcome unknown, never resent.

        One UPDATE that names the rows it changed: a row whose outcome its sender recorded
        meanwhile (PostgreSQL re-checks the condition on the locked row) is not called
        unknown, nor is its work item's communication.
        """
        abandoned = self._conn.execute(
            update(outbox)
            .where(_STALE)
            .values(
                status=OutboxStatus.UNKNOWN.value,
                lease_until=None,
                last_error=self.UNKNOWN_OUTCOME,
            )
            .returning(outbox.c.id),
            {"now": now},
        )
        return sorted(abandoned.scalars())

    def claim_due(self, now: datetime, token: datetime, limit: int = 100) -> list[OutboxRecord]:
        """Lease up to ``limit`` due rows with ``token`` in one statement; each row is
        claimed by one process.

        On PostgreSQL the rows are picked ``FOR UPDATE SKIP LOCKED``: processes claiming
        at the same moment take different rows instead of waiting on each other's locks
        (and the UPDATE checks the row is still due, so a row claimed meanwhile is not
        taken twice). SQLite has one writer at a time, so the pick and the update see
        the same rows.
        """
        picked = (
            select(outbox.c.id)
            .where(_DUE)
            .order_by(outbox.c.next_attempt, outbox.c.id)
            .limit(limit)
        )
        if self._conn.dialect.name == "postgresql":
            # A CTE is evaluated once; a subquery under IN may be scanned again by the
            # plan, each scan locking (and the UPDATE taking) rows past the limit.
            picked = picked.with_for_update(skip_locked=True)
        chosen = picked.cte("chosen").prefix_with("MATERIALIZED", dialect="postgresql")
        rows = self._conn.execute(
            update(outbox)
            .where(outbox.c.id.in_(select(chosen.c.id)), _DUE)
            .values(status=OutboxStatus.SENDING.value, lease_until=token)
            .returning(*outbox.c),
            {"now": now},
        )
        claimed = [OutboxRecord(**row._mapping) for row in rows]
        return sorted(claimed, key=lambda record: record.id)

    def start_delivery(
        self, outbox_id: int, token: datetime, new_token: datetime, pending: dict[str, Any]
    ) -> bool:
        """``sending`` -> ``delivering`` under our lease, renewed to ``new_token``; False
        when another process took the row over.

        Called just before the final dot of DATA (RFC 5321 §4.1.1.4): before it the
        server cannot have taken the message, so a row still ``sending`` is safe to send
        again once its lease expires. ``pending`` marks the recipients RCPT accepted as in
        flight.

        On SQLite the transaction commits without waiting for the disk
        (`writer_turn.flush_later`): the WAL in the OS's cache survives a killed process,
        and the flush runs while the dot goes out and the server answers it. A power loss
        before that flush can undo the mark, and the row is sent again once: the window a
        connection lost after the dot already leaves (RFC 1047). PostgreSQL commits it as
        any other transaction.
        """
        writer_turn.flush_later(self._conn.connection.dbapi_connection)
        result = _START_DELIVERY.execute(
            self._conn,
            {"_id": outbox_id, "_token": token, "_new_token": new_token, "_pending": pending},
        )
        return result.rowcount == 1

    def finish(self, outbox_id: int, token: datetime, **values: Any) -> bool:
        """Record an attempt's outcome and release the lease, only if it is still ours."""
        statement = _finish(tuple(sorted(values)))
        result = statement.execute(self._conn, {"_id": outbox_id, "_token": token, **values})
        return result.rowcount == 1

    def put_back(self, outbox_id: int, token: datetime) -> bool:
        """A claimed row not tried: queued again, due at once (only if still ours)."""
        return self.finish(outbox_id, token, status=OutboxStatus.QUEUED.value)
