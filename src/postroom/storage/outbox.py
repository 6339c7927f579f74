"""The outbox: outbound messages queued in the same transaction as the change that caused them.

What the sender does with a queued row (claims, deliveries, outcomes under a lease) is
`storage.sending`; this module is the queue as the use cases see it. A message queued for
a work item is filed on its timeline in the same step (`OutboxRepository.queue_for_item`);
in a batch's unit both rows wait for the batch's end (`storage.deferred`).

A message's bytes are kept in its row when it is small (`INLINE_MAX`, `keep`): an
automated reply then costs no blob file (created, flushed with the batch, read back by
the sender). A larger one (an agent's reply with attachments) is a blob, as arrivals are.
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, insert, select, update

from postroom.errors import NotFoundError
from postroom.records.outbox import OutboxRecord
from postroom.records.statuses import OutboxStatus
from postroom.storage.blobs import StagedBlobs
from postroom.storage.communications import CommunicationRepository, queued_values
from postroom.storage.deferred import DeferredWrites
from postroom.storage.tables import outbox, work_items

_INSERT = insert(outbox).returning(outbox.c.id)
_LISTED = [c for c in outbox.c if c.name != "raw"]
"""A listing's columns: the messages' bytes stay in the database."""

INLINE_MAX = 64 * 1024
"""Outbound messages up to this size are kept in their outbox row; larger ones are blobs."""


def keep(data: bytes, staged: StagedBlobs) -> tuple[str, bytes | None]:
    """Where a queued message's bytes go: its SHA-256 and the bytes for its row (small),
    or None once they are staged as a blob (large)."""
    if len(data) <= INLINE_MAX:
        return hashlib.sha256(data).hexdigest(), data
    return staged.put(data), None


class OutboxRepository:
    """The outbox of one unit of work (`uow.outbox`): plain values in, ids and records out."""

    def __init__(self, conn: Connection, deferred: DeferredWrites | None = None) -> None:
        self._conn = conn
        self._deferred = deferred

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
        raw: bytes | None = None,
    ) -> int:
        """Queue one outbound message, due ``now``; returns its outbox id. ``raw``: its
        bytes, kept in the row (None: they are the blob named ``raw_sha256``)."""
        values = _row(
            kind, work_item_id, sender, recipients, subject, message_id, raw_sha256, raw, now
        )
        return int(self._conn.execute(_INSERT, values).scalar_one())

    def queue_for_item(
        self,
        *,
        kind: str,
        work_item_id: int,
        sender: str,
        recipients: list[str],
        subject: str,
        message_id: str,
        raw_sha256: str,
        rule: str | None,
        now: datetime,
        raw: bytes | None = None,
    ) -> int | None:
        """Queue one outbound message for a work item, due ``now``, and file it on the
        item's timeline (its ``out`` communication, naming the ``rule`` of an automated
        reply, none for an agent's); its outbox id. In a batch's unit both rows are written
        at the batch's end, with the other replies of the batch (one statement per table),
        and the id is None: nothing there needs it. ``raw`` as for `enqueue`."""
        row = _row(
            kind, work_item_id, sender, recipients, subject, message_id, raw_sha256, raw, now
        )
        filed = queued_values(
            work_item_id=work_item_id,
            outbox_id=None,
            message_id=message_id,
            from_address=sender,
            subject=subject,
            rule=rule,
            now=now,
        )
        if self._deferred is not None:
            self._deferred.queue_reply(row, filed)
            return None
        outbox_id = int(self._conn.execute(_INSERT, row).scalar_one())
        filed["outbox_id"] = outbox_id
        CommunicationRepository(self._conn).file(filed)
        return outbox_id

    def all(self, work_item_id: int | None = None) -> list[OutboxRecord]:
        """The outbox (or one work item's part of it), oldest first, with item references."""
        q = select(*_LISTED, work_items.c.reference).outerjoin(
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

    def requeue(
        self,
        outbox_id: int,
        now: datetime,
        accepted: dict[str, Any] | None,
        retryable: tuple[OutboxStatus, ...],
    ) -> bool:
        """Due ``now`` again with attempts from zero; ``accepted`` are the recipient results
        kept (the recipients that took it already are not sent to again). False, and nothing
        changed, when a sender took it meanwhile (its status left ``retryable``): a message
        on its way is never put back in the queue."""
        done = self._conn.execute(
            update(outbox)
            .where(outbox.c.id == outbox_id, outbox.c.status.in_([s.value for s in retryable]))
            .values(
                status=OutboxStatus.QUEUED.value,
                attempts=0,
                next_attempt=now,
                lease_until=None,
                recipient_results=accepted,
            )
        )
        return done.rowcount == 1

    def cancel(self, outbox_id: int, cancellable: tuple[OutboxStatus, ...]) -> bool:
        """Never send it; False, and nothing changed, when a sender took it meanwhile (its
        status left ``cancellable``)."""
        done = self._conn.execute(
            update(outbox)
            .where(outbox.c.id == outbox_id, outbox.c.status.in_([s.value for s in cancellable]))
            .values(status=OutboxStatus.CANCELLED.value, next_attempt=None, lease_until=None)
        )
        return done.rowcount == 1

    def mark_bounced(self, outbox_id: int, detail: str) -> None:
        """A bounce came back for this message: it is not retried, and says why."""
        self._conn.execute(
            update(outbox)
            .where(outbox.c.id == outbox_id)
            .values(status=OutboxStatus.BOUNCED.value, last_error=detail)
        )


def _row(
    kind: str,
    work_item_id: int | None,
    sender: str,
    recipients: list[str],
    subject: str,
    message_id: str,
    raw_sha256: str,
    raw: bytes | None,
    now: datetime,
) -> dict[str, Any]:
    """The values of a new outbox row: queued, due ``now``."""
    return {
        "kind": kind,
        "work_item_id": work_item_id,
        "sender": sender,
        "recipients": recipients,
        "first_recipient": recipients[0].lower() if recipients else None,
        "subject": subject,
        "message_id": message_id,
        "raw_sha256": raw_sha256,
        "raw": raw,
        "status": OutboxStatus.QUEUED.value,
        "attempts": 0,
        "next_attempt": now,
        "created_at": now,
    }
