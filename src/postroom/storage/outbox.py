"""The outbox: outbound messages queued in the same transaction as the change that caused them.

What the sender does with a queued row (claims, deliveries, outcomes under a lease) is
`storage.sending`; this module is the queue as the use cases see it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, insert, select, update

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
        return int(
            self._conn.execute(
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

    def all(self, work_item_id: int | None = None) -> list[OutboxRecord]:
        """The outbox (or one work item's part of it), oldest first, with item references."""
        q = select(outbox, work_items.c.reference).outerjoin(
            work_items, work_items.c.id == outbox.c.work_item_id
        )
        if work_item_id is not None:
            q = q.where(outbox.c.work_item_id == work_item_id)
        return [OutboxRecord(**row._mapping) for row in self._conn.execute(q.order_by(outbox.c.id))]

    def get(self, outbox_id: int) -> OutboxRecord:
        row = self._conn.execute(select(outbox).where(outbox.c.id == outbox_id)).first()
        if row is None:
            raise NotFoundError(f"no outbox message {outbox_id} (see: postroom outbox list)")
        return OutboxRecord(**row._mapping)

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
