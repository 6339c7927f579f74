"""Communications: the emails on a work item's timeline, the audit record of the mail it saw.

One per item and email: a received message filed on the item (``in``, status ``received``,
with its ledger row) or a message Postroom queued for it (``out``, with its outbox row,
whose status follows the outbox's until a bounce says otherwise). This module is the one
place that writes the table; `CommunicationRepository` is a unit of work's
``uow.communications``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, and_, bindparam, insert, select, update

from postroom.errors import NotFoundError
from postroom.records.items import CommunicationRecord
from postroom.records.statuses import CommunicationStatus
from postroom.storage.prepared import Prepared
from postroom.storage.tables import communications

_INSERT = insert(communications).returning(communications.c.id)
_INSERT_MANY = insert(communications)
_BY_ID = select(communications).where(communications.c.id == bindparam("id"))
_OF_ITEM = (
    select(communications)
    .where(communications.c.work_item_id == bindparam("item"))
    .order_by(communications.c.id)
)
_OF_OUTBOX = and_(
    communications.c.outbox_id == bindparam("_outbox"),
    # A bounce came later than any delivery report: it stays.
    communications.c.status != CommunicationStatus.BOUNCED.value,
)
_NEW_STATUS: dict[str, Any] = {
    "status": bindparam("_status"),
    "status_detail": bindparam("_detail"),
}
_SET_STATUS_OF_OUTBOX = Prepared(update(communications).where(_OF_OUTBOX).values(_NEW_STATUS))
# The sender's, once a message: only for a row of an item (both columns indexed).
_SET_STATUS_OF_SENT = Prepared(
    update(communications)
    .where(communications.c.work_item_id == bindparam("_item"), _OF_OUTBOX)
    .values(_NEW_STATUS)
)


class CommunicationRepository:
    """The communications of one unit of work (`uow.communications`)."""

    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    def file_received(
        self,
        *,
        work_item_id: int,
        message_row_id: int,
        message_id: str | None,
        from_address: str | None,
        subject: str | None,
        rule: str,
        matched_by: str | None,
        now: datetime,
    ) -> int:
        """A received message filed on an item (by the Email Handler's ``rule``); its id."""
        values = {
            "work_item_id": work_item_id,
            "direction": "in",
            "message_row_id": message_row_id,
            "outbox_id": None,
            "message_id": message_id,
            "from_address": from_address,
            "subject": subject,
            "rule": rule,
            "matched_by": matched_by,
            "status": CommunicationStatus.RECEIVED.value,
            "status_detail": None,
            "created_at": now,
        }
        return int(self._conn.execute(_INSERT, values).scalar_one())

    def file(self, values: dict[str, Any]) -> int:
        """One communication of these column values (`queued_values`); its id."""
        return int(self._conn.execute(_INSERT, values).scalar_one())

    def file_many(self, rows: list[dict[str, Any]]) -> None:
        """Several communications in one statement (a batch's replies: their ids are not
        needed, so none is returned)."""
        self._conn.execute(_INSERT_MANY, rows)

    def get(self, communication_id: int) -> CommunicationRecord:
        row = self._conn.execute(_BY_ID, {"id": communication_id}).first()
        if row is None:
            raise NotFoundError(f"no communication {communication_id}")
        return CommunicationRecord(**row._mapping)

    def of_item(self, work_item_id: int) -> list[CommunicationRecord]:
        """The item's timeline, oldest first."""
        rows = self._conn.execute(_OF_ITEM, {"item": work_item_id})
        return [CommunicationRecord(**row._mapping) for row in rows]

    def set_status(
        self, communication_id: int, status: CommunicationStatus, detail: str | None
    ) -> None:
        self._conn.execute(
            update(communications)
            .where(communications.c.id == communication_id)
            .values(status=status.value, status_detail=detail)
        )

    def set_status_of_outbox(
        self, outbox_id: int, status: CommunicationStatus, detail: str | None
    ) -> None:
        """The outbound communication of an outbox message shows what happened to it; a
        bounce, which came later than any delivery report, stays."""
        _SET_STATUS_OF_OUTBOX.execute(
            self._conn, {"_outbox": outbox_id, "_status": status.value, "_detail": detail}
        )

    def set_status_of_sent(
        self,
        outbox_id: int,
        work_item_id: int | None,
        status: CommunicationStatus,
        detail: str | None,
    ) -> None:
        """`set_status_of_outbox` for the sender, which knows the row's work item: the
        outbox row's communication is filed on that item when the row is queued
        (`OutboxRepository.queue_for_item`, `storage.deferred`) and neither moves, so a
        row queued for no item has none to change and costs no statement."""
        if work_item_id is None:
            return
        _SET_STATUS_OF_SENT.execute(
            self._conn,
            {
                "_item": work_item_id,
                "_outbox": outbox_id,
                "_status": status.value,
                "_detail": detail,
            },
        )


def queued_values(
    *,
    work_item_id: int,
    outbox_id: int | None,
    message_id: str,
    from_address: str,
    subject: str,
    rule: str | None,
    now: datetime,
) -> dict[str, Any]:
    """The columns of an ``out`` communication (``outbox_id`` None: filled in when the
    outbox row of a batch's reply is written, `storage.deferred`)."""
    return {
        "work_item_id": work_item_id,
        "direction": "out",
        "message_row_id": None,
        "outbox_id": outbox_id,
        "message_id": message_id,
        "from_address": from_address,
        "subject": subject,
        "rule": rule,
        "matched_by": None,
        "status": CommunicationStatus.QUEUED.value,
        "status_detail": None,
        "created_at": now,
    }
