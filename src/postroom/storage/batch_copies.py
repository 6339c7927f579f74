"""The stored copies of a batch's messages, found by one query before the batch is handled.

The Email Handler asks, for every message, whether a copy of it is stored (D1:
`SqlHandlerContext.duplicate_of`): one query per message. A batch's unit asks for all of
its messages at once instead (`HandlerStore.look_up_copies`): the first row that is not
in quarantine for each (Message-ID, content hash), by content hash ``IN (...)``. The
batch's own rows carry no content hash until its outcomes are written, so the answer is
the one the query per message would give; the copies earlier in the batch are
`BatchSeen`'s. A copy another process commits meanwhile is caught by the ledger's
unique `dedupe_key`, as before (the batch is then handled message by message).
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import Connection, bindparam, func, select

from postroom.records.statuses import MessageStatus
from postroom.storage.tables import messages

_FIRST_COPIES = (
    select(messages.c.message_id, messages.c.content_hash, func.min(messages.c.id))
    .where(
        messages.c.content_hash.in_(bindparam("hashes", expanding=True)),
        messages.c.status != MessageStatus.QUARANTINED.value,
    )
    .group_by(messages.c.message_id, messages.c.content_hash)
)
_IN_CHUNK = 500
"""Content hashes per ``IN (...)``: well under every engine's limit of bound parameters."""


def first_copies(conn: Connection, hashes: Iterable[str]) -> dict[tuple[str | None, str], int]:
    """The lowest row id stored under each (Message-ID, content hash) with one of
    ``hashes``, quarantined rows left out."""
    wanted = sorted({h for h in hashes if h})
    found: dict[tuple[str | None, str], int] = {}
    for start in range(0, len(wanted), _IN_CHUNK):
        params = {"hashes": wanted[start : start + _IN_CHUNK]}
        for message_id, content_hash, row_id in conn.execute(_FIRST_COPIES, params):
            found[(message_id, content_hash)] = int(row_id)
    return found
