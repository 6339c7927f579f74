"""Arrivals of raw messages: the ledger that makes every step idempotent.

One row per arrival. A channel arrival is keyed by (channel, UIDL, SHA-256 of
the bytes): storing it again finds the existing row instead of a second one,
so a message downloaded twice (a crash between store and DELE) is handled once,
while new mail under a UIDL the server reused (RFC 1939 §7 allows it once the
old message is gone) gets a row of its own.

A poll reads the ledger only for the UIDLs it lists (`MessageRepository.stored_under`),
never a channel's whole history. Messages too large to retrieve are remembered per
(channel, UIDL) in ``pop3_oversize`` so later polls leave them on the server.
`MessageRepository` is a unit of work's ``uow.messages``.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, bindparam, delete, insert, select, update

from postroom.errors import NotFoundError
from postroom.records.mail import MessageRecord
from postroom.records.statuses import MessageStatus
from postroom.storage.ordered_insert import OrderedInsert
from postroom.storage.tables import messages, pop3_oversize

IN_CHUNK = 500
"""UIDLs per ``IN (...)``: well under every engine's limit of bound parameters."""

_INSERT = insert(messages).returning(messages.c.id)
_INSERT_MANY = OrderedInsert(messages)
_UPDATE = update(messages).where(messages.c.id == bindparam("_row"))
_BY_ID = select(messages).where(messages.c.id == bindparam("id"))
_ARRIVAL = select(messages).where(
    messages.c.channel_id == bindparam("channel"),
    messages.c.source_uid == bindparam("uid"),
    messages.c.raw_sha256 == bindparam("sha"),
)


class MessageRepository:
    """The ledger of one unit of work (`uow.messages`)."""

    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    # -- arrivals and their outcomes (ingest) -------------------------------------------

    def insert_arrival(
        self,
        *,
        raw_sha256: str,
        size: int,
        now: datetime,
        channel_id: int | None = None,
        source_uid: str | None = None,
        status: MessageStatus = MessageStatus.STORED,
        content_hash: str | None = None,
        message_id: str | None = None,
    ) -> int:
        """One ledger row; its id. Unique per channel, UIDL and content: storing the same
        arrival again breaks the key (the unit raises `StorageConflictError`)."""
        params = {
            "content_hash": content_hash,
            "message_id": message_id,
            "raw_sha256": raw_sha256,
            "size": size,
            "channel_id": channel_id,
            "source_uid": source_uid,
            "received_at": now,
            "status": status.value,
            "attempts": 0,
        }
        return int(self._conn.execute(_INSERT, params).scalar_one())

    def insert_arrivals(
        self, arrivals: list[tuple[str, int, int | None, str | None]], now: datetime
    ) -> list[int]:
        """Ledger rows for several arrivals ``(raw_sha256, size, channel_id, source_uid)`` in
        one statement, their ids in the same order. Their Message-ID and content hash are
        left empty: `set_outcomes` fills them in when the batch is handled."""
        params = [
            {
                "raw_sha256": sha,
                "size": size,
                "channel_id": channel_id,
                "source_uid": source_uid,
                "received_at": now,
                "status": MessageStatus.STORED.value,
                "attempts": 0,
            }
            for sha, size, channel_id, source_uid in arrivals
        ]
        return _INSERT_MANY.ids(self._conn, params)

    def find_arrival(
        self, channel_id: int | None, source_uid: str | None, raw_sha256: str
    ) -> MessageRecord | None:
        """The ledger row of this arrival through a channel (None for other arrivals)."""
        if channel_id is None or source_uid is None:
            return None
        row = self._conn.execute(
            _ARRIVAL, {"channel": channel_id, "uid": source_uid, "sha": raw_sha256}
        ).first()
        return MessageRecord(**row._mapping) if row is not None else None

    def get(self, message_row_id: int) -> MessageRecord:
        row = self._conn.execute(_BY_ID, {"id": message_row_id}).first()
        if row is None:
            raise NotFoundError(f"no stored message {message_row_id}")
        return MessageRecord(**row._mapping)

    def set_outcome(self, message_row_id: int, **values: Any) -> None:
        """Set columns of one row (``status``, ``decision``, ``error``, …)."""
        self._conn.execute(_UPDATE, {"_row": message_row_id, **values})

    def take_quarantined(self, message_row_id: int) -> bool:
        """`take_in` quarantine."""
        return self.take_in(message_row_id, MessageStatus.QUARANTINED)

    def take_in(self, message_row_id: int, status: MessageStatus) -> bool:
        """Whether this row is in ``status`` (quarantined, unhandled), holding it so until
        the unit ends (a row lock on PostgreSQL, the writer's turn on SQLite): of two
        retries of one message, the second finds it handled and handles it no more."""
        still = (
            update(messages)
            .where(messages.c.id == message_row_id, messages.c.status == status.value)
            .values(status=status.value)
        )
        return self._conn.execute(still).rowcount == 1

    def set_outcomes(self, outcomes: list[dict[str, Any]]) -> None:
        """Several `set_outcome`s with the same columns in one executemany (``_row`` names
        the row): a batch's outcomes in one statement."""
        if outcomes:
            self._conn.execute(_UPDATE, outcomes)

    def by_status(self, status: MessageStatus) -> list[MessageRecord]:
        """The messages in ``status``, oldest first (`quarantine list`, `unhandled list`)."""
        q = select(messages).where(messages.c.status == status.value).order_by(messages.c.id)
        return [MessageRecord(**row._mapping) for row in self._conn.execute(q)]

    # -- what a poll reads of the ledger ---------------------------------------------------

    def stored_under(
        self, channel_id: int, uids: Collection[str]
    ) -> dict[str, list[tuple[int, str]]]:
        """The ledger rows of the listed ``uids`` of a channel: UIDL -> [(size, SHA-256), ...].

        Only what a listing needs, an ``IN`` of `IN_CHUNK` UIDLs at a time (the arrival key
        ``(channel_id, source_uid, raw_sha256)`` is the index): a channel's history grows
        without bound, a mailbox listing does not.
        """
        found: dict[str, list[tuple[int, str]]] = {}
        for chunk in _chunks(sorted(set(uids))):
            q = select(messages.c.source_uid, messages.c.size, messages.c.raw_sha256).where(
                messages.c.channel_id == channel_id, messages.c.source_uid.in_(chunk)
            )
            for uid, size, sha in self._conn.execute(q):
                found.setdefault(uid, []).append((int(size), sha))
        return found

    def too_large(self, channel_id: int) -> dict[str, tuple[int, int, str]]:
        """Messages of a channel remembered as too large: UIDL -> (LIST size, limit then,
        reason).

        Only messages still on the server are kept (`forget_too_large`), so this is bounded
        by the mailbox, not by the channel's history.
        """
        t = pop3_oversize.c
        q = select(t.source_uid, t.size, t.limit_bytes, t.reason).where(t.channel_id == channel_id)
        rows = self._conn.execute(q)
        return {uid: (int(size), int(limit), reason) for uid, size, limit, reason in rows}

    def remember_too_large(
        self,
        channel_id: int,
        source_uid: str,
        *,
        size: int,
        limit: int,
        reason: str,
        now: datetime,
    ) -> None:
        """Remember (or update) a message left on the server because it is over ``limit``."""
        self.forget_too_large(channel_id, [source_uid])
        self._conn.execute(
            insert(pop3_oversize).values(
                channel_id=channel_id,
                source_uid=source_uid,
                size=size,
                limit_bytes=limit,
                reason=reason,
                seen_at=now,
            )
        )

    def forget_too_large(self, channel_id: int, uids: Collection[str]) -> None:
        """Forget these remembered messages (gone from the server, or to be tried again)."""
        for chunk in _chunks(sorted(set(uids))):
            self._conn.execute(
                delete(pop3_oversize).where(
                    pop3_oversize.c.channel_id == channel_id,
                    pop3_oversize.c.source_uid.in_(chunk),
                )
            )


def _chunks(items: Sequence[str]) -> Iterator[Sequence[str]]:
    for start in range(0, len(items), IN_CHUNK):
        yield items[start : start + IN_CHUNK]
