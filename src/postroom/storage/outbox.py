"""The outbox: outbound messages queued in the same transaction as the change that caused them."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Row, insert, select

from postroom.storage.tables import outbox, work_items


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
                status="queued",
                attempts=0,
                next_attempt=now,
                created_at=now,
            )
            .returning(outbox.c.id)
        ).scalar_one()
    )


def rows(conn: Connection, work_item_id: int | None = None) -> list[Row[Any]]:
    q = select(outbox, work_items.c.reference).outerjoin(
        work_items, work_items.c.id == outbox.c.work_item_id
    )
    if work_item_id is not None:
        q = q.where(outbox.c.work_item_id == work_item_id)
    return list(conn.execute(q.order_by(outbox.c.id)))
