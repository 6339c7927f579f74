"""Arrivals of raw messages: the ledger that makes every step idempotent.

One row per arrival. A channel arrival is keyed by (channel, UIDL, SHA-256 of
the bytes): storing it again finds the existing row instead of a second one,
so a message downloaded twice (a crash between store and DELE) is handled once.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Row, bindparam, insert, select, update

from postroom.errors import NotFoundError
from postroom.storage.tables import messages

_INSERT = insert(messages).returning(messages.c.id)
_INSERT_MANY = insert(messages).returning(messages.c.id, sort_by_parameter_order=True)
_UPDATE = update(messages).where(messages.c.id == bindparam("_row"))
_ARRIVAL = select(messages).where(
    messages.c.channel_id == bindparam("channel"),
    messages.c.source_uid == bindparam("uid"),
    messages.c.raw_sha256 == bindparam("sha"),
)


def find_arrival(
    conn: Connection, channel_id: int | None, source_uid: str | None, raw_sha256: str
) -> Row[Any] | None:
    if channel_id is None or source_uid is None:
        return None
    return conn.execute(
        _ARRIVAL, {"channel": channel_id, "uid": source_uid, "sha": raw_sha256}
    ).first()


def uids_seen(conn: Connection, channel_id: int) -> set[str]:
    """UIDLs of this channel already stored (to skip their RETR and go straight to DELE)."""
    q = select(messages.c.source_uid).where(messages.c.channel_id == channel_id)
    return {uid for uid in conn.execute(q).scalars() if uid is not None}


def insert_arrival(
    conn: Connection,
    *,
    raw_sha256: str,
    size: int,
    now: datetime,
    channel_id: int | None = None,
    source_uid: str | None = None,
    status: str = "stored",
    content_hash: str | None = None,
    message_id: str | None = None,
) -> int:
    params = {
        "content_hash": content_hash,
        "message_id": message_id,
        "raw_sha256": raw_sha256,
        "size": size,
        "channel_id": channel_id,
        "source_uid": source_uid,
        "received_at": now,
        "status": status,
        "attempts": 0,
    }
    return int(conn.execute(_INSERT, params).scalar_one())


def insert_arrivals(
    conn: Connection, arrivals: list[tuple[str, int, int | None, str | None]], now: datetime
) -> list[int]:
    """Ledger rows for several arrivals ``(raw_sha256, size, channel_id, source_uid)`` in one
    statement, their ids in the same order. Their Message-ID and content hash are left
    empty: `set_outcomes` fills them in when the batch is handled."""
    params = [
        {
            "raw_sha256": sha,
            "size": size,
            "channel_id": channel_id,
            "source_uid": source_uid,
            "received_at": now,
            "status": "stored",
            "attempts": 0,
        }
        for sha, size, channel_id, source_uid in arrivals
    ]
    return [int(row_id) for row_id in conn.execute(_INSERT_MANY, params).scalars()]


def get(conn: Connection, message_row_id: int) -> Row[Any]:
    row = conn.execute(select(messages).where(messages.c.id == message_row_id)).first()
    if row is None:
        raise NotFoundError(f"no stored message {message_row_id}")
    return row


def set_outcome(conn: Connection, message_row_id: int, **values: Any) -> None:
    conn.execute(_UPDATE, {"_row": message_row_id, **values})


def set_outcomes(conn: Connection, outcomes: list[dict[str, Any]]) -> None:
    """Several `set_outcome`s with the same fields in one executemany (``_row`` names the row)."""
    if outcomes:
        conn.execute(_UPDATE, outcomes)


def by_status(conn: Connection, status: str) -> list[Row[Any]]:
    return list(
        conn.execute(select(messages).where(messages.c.status == status).order_by(messages.c.id))
    )
