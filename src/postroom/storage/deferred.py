"""A batch's deferred writes: what its messages write and nothing reads back before the commit.

A batch of messages is one unit of work in which nothing fails half-way (a batch that
cannot go through whole is redone message by message in a unit that is not a batch's).
Its item events, its SQLite Ticket counter and its queued replies (an outbox row and the
item's ``out`` communication each) are kept here and written at the end, one statement
per table for the whole batch, instead of one statement per row: `DeferredWrites.flush`,
called by the unit just before its commit.

A reply is read back only by a later message of the same batch that names it (its
Message-ID: a bounce, a reply to it) or that the loop guard counts (its first recipient):
`DeferredWrites.names` tells the handler's questions (`storage.handler_store`) when to
write the replies first, so they see what they saw when each reply was written at once.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, bindparam, insert, update

from postroom.storage.communications import CommunicationRepository
from postroom.storage.ordered_insert import OrderedInsert
from postroom.storage.tables import counters, item_events, outbox

INSERT_EVENT = insert(item_events)
"""One item event (or, executed with a list, many)."""
_SET_NUMBER = (
    update(counters).where(counters.c.name == "work_item").values(value=bindparam("value"))
)
_INSERT_OUTBOX = OrderedInsert(outbox)


@dataclass
class DeferredWrites:
    """The batch's rows waiting for its end; owned by the batch's unit of work."""

    events: list[dict[str, Any]] = field(default_factory=list)
    numbers_written: int = 0
    """The Ticket number the SQLite counter row holds (see `ItemRepository.next_number`)."""
    last_number: int = 0
    """The last Ticket number handed out in this batch."""
    replies: list[tuple[dict[str, Any], dict[str, Any]]] = field(default_factory=list)
    """Queued replies: an outbox row's values and its communication's (``outbox_id``
    filled in when the outbox rows are written)."""
    _message_ids: set[str] = field(default_factory=set)
    _recipients: set[str | None] = field(default_factory=set)
    _queued_to: dict[str | None, list[tuple[str, datetime]]] = field(default_factory=dict)

    def queue_reply(self, outbox_row: dict[str, Any], communication: dict[str, Any]) -> None:
        self.replies.append((outbox_row, communication))
        self._message_ids.add(outbox_row["message_id"])
        self._recipients.add(outbox_row["first_recipient"])
        queued = self._queued_to.setdefault(outbox_row["first_recipient"], [])
        queued.append((outbox_row["kind"], outbox_row["created_at"]))

    @property
    def queued_any(self) -> bool:
        """Whether this batch queued a reply yet (written or still waiting)."""
        return bool(self._queued_to)

    def queued_to(self, first_recipient: str) -> list[tuple[str, datetime]]:
        """The kind and time of each reply this batch queued to this first recipient,
        written since or still waiting."""
        return self._queued_to.get(first_recipient, [])

    def names(self, *, message_id: str | None = None, first_recipient: str | None = None) -> bool:
        """Whether a waiting reply has this Message-ID or first recipient (then a question
        about it must see the replies written: `flush_replies`)."""
        if message_id is not None and message_id in self._message_ids:
            return True
        return first_recipient is not None and first_recipient in self._recipients

    def flush(self, conn: Connection) -> None:
        """Write everything waiting: the replies, the item events, the Ticket counter."""
        self.flush_replies(conn)
        events, self.events = self.events, []
        if events:
            conn.execute(INSERT_EVENT, events)
        if self.last_number != self.numbers_written:
            conn.execute(_SET_NUMBER, {"value": self.last_number})
            self.numbers_written = self.last_number

    def flush_replies(self, conn: Connection) -> None:
        """The waiting replies' outbox rows in one INSERT … RETURNING (their ids in the
        order queued: `OrderedInsert`), then their communications in one INSERT."""
        replies, self.replies = self.replies, []
        self._message_ids.clear()
        self._recipients.clear()
        if not replies:
            return
        ids = _INSERT_OUTBOX.ids(conn, [row for row, _ in replies])
        filed = [
            {**comm, "outbox_id": int(out_id)}
            for (_, comm), out_id in zip(replies, ids, strict=True)
        ]
        CommunicationRepository(conn).file_many(filed)
