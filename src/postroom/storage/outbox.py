"""The outbox: outbound messages queued in the same transaction as the change that caused them."""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Row, and_, bindparam, insert, or_, select, update

from postroom.errors import NotFoundError
from postroom.records.outbox import OutboxRecord
from postroom.records.statuses import OutboxStatus
from postroom.storage.tables import outbox, work_items


class OutboxRepository:
    """The outbox of one unit of work (`uow.outbox`): plain values in, ids and records out."""

    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    def enqueue(
        self,
        *,
        kind: str,
        work_item_id: int | None,
        sender: str,
        recipients: list[str],
        subject: str,
        message_id: str,
        raw_sha256: str,
        now: datetime,
    ) -> int:
        """Queue one outbound message, due ``now``; returns its outbox id."""
        return enqueue(
            self._conn,
            kind=kind,
            work_item_id=work_item_id,
            sender=sender,
            recipients=recipients,
            subject=subject,
            message_id=message_id,
            raw_sha256=raw_sha256,
            now=now,
        )

    def all(self, work_item_id: int | None = None) -> list[OutboxRecord]:
        """The outbox (or one work item's part of it), oldest first, with item references."""
        q = select(outbox, work_items.c.reference).outerjoin(
            work_items, work_items.c.id == outbox.c.work_item_id
        )
        if work_item_id is not None:
            q = q.where(outbox.c.work_item_id == work_item_id)
        return [OutboxRecord(**row._mapping) for row in self._conn.execute(q.order_by(outbox.c.id))]

    def get(self, outbox_id: int) -> OutboxRecord:
        return OutboxRecord(**get(self._conn, outbox_id)._mapping)

    def requeue(self, outbox_id: int, now: datetime, accepted: dict[str, Any] | None) -> None:
        """Due ``now`` again with attempts from zero; ``accepted`` are the recipient results
        kept (the recipients that took it already are not sent to again)."""
        self._conn.execute(
            update(outbox)
            .where(outbox.c.id == outbox_id)
            .values(
                status=OutboxStatus.QUEUED.value,
                attempts=0,
                next_attempt=now,
                lease_until=None,
                recipient_results=accepted,
            )
        )

    def cancel(self, outbox_id: int, cancellable: tuple[OutboxStatus, ...]) -> None:
        """Never send it, unless a sender took it meanwhile (its status left ``cancellable``)."""
        self._conn.execute(
            update(outbox)
            .where(outbox.c.id == outbox_id, outbox.c.status.in_([s.value for s in cancellable]))
            .values(status=OutboxStatus.CANCELLED.value, next_attempt=None, lease_until=None)
        )

    def mark_bounced(self, outbox_id: int, detail: str) -> None:
        """A bounce came back for this message: it is not retried, and says why."""
        self._conn.execute(
            update(outbox)
            .where(outbox.c.id == outbox_id)
            .values(status=OutboxStatus.BOUNCED.value, last_error=detail)
        )


def enqueue(
    conn: Connection,
    *,
    kind: str,
    work_item_id: int | None,
    sender: str,
    recipients: list[str],
    subject: str,
    message_id: str,
    raw_sha256: str,
    now: datetime,
) -> int:
    return int(
        conn.execute(
            insert(outbox)
            .values(
                kind=kind,
                work_item_id=work_item_id,
                sender=sender,
                recipients=recipients,
                first_recipient=recipients[0].lower() if recipients else None,
                subject=subject,
                message_id=message_id,
                raw_sha256=raw_sha256,
                status=OutboxStatus.QUEUED.value,
                attempts=0,
                next_attempt=now,
                created_at=now,
            )
            .returning(outbox.c.id)
        ).scalar_one()
    )


# ---------------------------------------------------------------------- sending
# A row moves queued -> sending (claimed, lease taken; MAIL, RCPT and the content
# go out under it) -> delivering (just before DATA's final dot) -> sent | queued
# (retry later) | failed; see services/send.py for why ``delivering`` exists and
# why it starts only there.  ``lease_until`` doubles as the claimant's token: every
# later update names it, so a process whose lease was taken over changes nothing.

_DUE = or_(
    and_(outbox.c.status == OutboxStatus.QUEUED.value, outbox.c.next_attempt <= bindparam("now")),
    and_(outbox.c.status == OutboxStatus.SENDING.value, outbox.c.lease_until < bindparam("now")),
)
_STALE = and_(
    outbox.c.status == OutboxStatus.DELIVERING.value, outbox.c.lease_until < bindparam("now")
)


def lease_token(now: datetime, lease: timedelta) -> datetime:
    """A lease end unique to its claimant: a random microsecond offset on top."""
    return (now + lease + timedelta(microseconds=secrets.randbelow(999_999))).replace(tzinfo=None)


def anything_to_do(conn: Connection, now: datetime) -> bool:
    """Whether `send_due` has work: a due row or a delivery left by a stopped process (a read,
    so the service's every tick does not queue for the write lock for nothing)."""
    found = conn.execute(select(outbox.c.id).where(or_(_DUE, _STALE)).limit(1), {"now": now})
    return found.first() is not None


def abandon_stale_deliveries(conn: Connection, now: datetime) -> list[int]:
    """Rows left ``delivering`` by a process that stopped: outcome unknown, never resent."""
    stale = list(conn.execute(select(outbox.c.id).where(_STALE), {"now": now}).scalars())
    for row_id in stale:
        conn.execute(
            update(outbox)
            .where(outbox.c.id == row_id, outbox.c.status == OutboxStatus.DELIVERING.value)
            .values(status=OutboxStatus.UNKNOWN.value, lease_until=None, last_error=UNKNOWN_OUTCOME)
        )
    return stale


UNKNOWN_OUTCOME = (
    "outcome unknown: the sending process stopped while the SMTP server was taking the "
    "message; not sent again automatically (check the recipient or the server log for its "
    "Message-ID; `postroom outbox retry ID` sends it again)"
)


def claim_due(conn: Connection, now: datetime, token: datetime, limit: int = 100) -> list[Row[Any]]:
    """Take a lease on up to ``limit`` due rows; each is claimed by one process only."""
    candidates = list(
        conn.execute(
            select(outbox.c.id)
            .where(_DUE)
            .order_by(outbox.c.next_attempt, outbox.c.id)
            .limit(limit),
            {"now": now},
        ).scalars()
    )
    claimed: list[int] = []
    for row_id in candidates:
        result = conn.execute(
            update(outbox)
            .where(outbox.c.id == row_id, _DUE)
            .values(status=OutboxStatus.SENDING.value, lease_until=token),
            {"now": now},
        )
        if result.rowcount == 1:
            claimed.append(row_id)
    if not claimed:
        return []
    return list(conn.execute(select(outbox).where(outbox.c.id.in_(claimed)).order_by(outbox.c.id)))


def start_delivery(
    conn: Connection, row_id: int, token: datetime, new_token: datetime, pending: dict[str, Any]
) -> bool:
    """``sending`` -> ``delivering`` under our lease (renewed to ``new_token``).

    Called just before the final dot of DATA (RFC 5321 §4.1.1.4): before it the
    server cannot have taken the message, so a row still ``sending`` is safe to
    send again once its lease expires.  ``pending`` marks the recipients RCPT
    accepted as in flight.
    """
    result = conn.execute(
        update(outbox)
        .where(
            outbox.c.id == row_id,
            outbox.c.status == OutboxStatus.SENDING.value,
            outbox.c.lease_until == token,
        )
        .values(
            status=OutboxStatus.DELIVERING.value, lease_until=new_token, recipient_results=pending
        )
    )
    return result.rowcount == 1


def finish(conn: Connection, row_id: int, token: datetime, **values: Any) -> bool:
    """Record the outcome of an attempt and release the lease (only if still ours)."""
    result = conn.execute(
        update(outbox)
        .where(
            outbox.c.id == row_id,
            outbox.c.status.in_((OutboxStatus.SENDING.value, OutboxStatus.DELIVERING.value)),
            outbox.c.lease_until == token,
        )
        .values(lease_until=None, **values)
    )
    return result.rowcount == 1


def get(conn: Connection, row_id: int) -> Row[Any]:
    row = conn.execute(select(outbox).where(outbox.c.id == row_id)).first()
    if row is None:
        raise NotFoundError(f"no outbox message {row_id} (see: postroom outbox list)")
    return row
