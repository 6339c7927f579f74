"""`HandlerContext` over the database: the read-only questions the Email Handler asks."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime

from sqlalchemy import Connection, bindparam, func, select

from postroom.domain.context import OWN_MESSAGE_ID_PREFIX
from postroom.domain.routes import Route
from postroom.domain.workitems import Reference, WorkItemView
from postroom.storage import workitems
from postroom.storage.tables import channels, communications, messages, outbox, routes, work_items

_OWN_ID = select(outbox.c.id).where(outbox.c.message_id == bindparam("mid")).limit(1)
_OUTBOUND = (
    select(communications.c.id)
    .where(communications.c.message_id == bindparam("mid"), communications.c.direction == "out")
    .order_by(communications.c.id)
    .limit(1)
)
_ITEMS_BY_MID = (
    select(work_items)
    .join(communications, communications.c.work_item_id == work_items.c.id)
    .where(communications.c.message_id == bindparam("mid"))
    .order_by(communications.c.id)
)
_AUTO_REPLIES = select(func.count()).where(
    outbox.c.first_recipient == bindparam("address"),
    outbox.c.kind.in_(("acknowledgement", "address-not-configured")),
    outbox.c.created_at >= bindparam("since"),
)
_DUP_BASE = select(messages.c.id).where(
    messages.c.content_hash == bindparam("hash"),
    messages.c.id != bindparam("exclude"),
    messages.c.status != "quarantined",
)
_DUP_WITH_ID = (
    _DUP_BASE.where(messages.c.message_id == bindparam("mid")).order_by(messages.c.id).limit(1)
)
_DUP_WITHOUT_ID = _DUP_BASE.where(messages.c.message_id.is_(None)).order_by(messages.c.id).limit(1)


BatchSeen = Mapping[tuple[str | None, str], int]
"""The messages handled earlier in a batch whose rows do not yet carry their Message-ID and
content hash: (Message-ID, content hash) -> the first one's row id."""


class SqlHandlerContext:
    """Answers within one transaction; ``exclude_message`` is the row being handled."""

    def __init__(
        self,
        conn: Connection,
        routes: Sequence[Route],
        own_addresses: frozenset[str],
        exclude_message: int | None = None,
        batch_seen: BatchSeen | None = None,
    ) -> None:
        self._conn = conn
        self._routes = routes
        self._own = own_addresses
        self._exclude = exclude_message
        self._batch_seen = batch_seen or {}

    def duplicate_of(self, message_id: str | None, content_hash: str) -> int | None:
        if not content_hash:
            return None
        params = {"hash": content_hash, "exclude": self._exclude or 0, "mid": message_id}
        stmt = _DUP_WITH_ID if message_id is not None else _DUP_WITHOUT_ID
        found = self._conn.execute(stmt, params).scalar()
        if found is None:  # rows of earlier batches come first: their ids are lower
            return self._batch_seen.get((message_id, content_hash))
        return int(found)

    def is_own_message_id(self, message_id: str) -> bool:
        if not message_id.startswith(OWN_MESSAGE_ID_PREFIX):
            return False  # every message Postroom composes has this prefix (mime.compose)
        return self._conn.execute(_OWN_ID, {"mid": message_id}).first() is not None

    def own_addresses(self) -> frozenset[str]:
        return self._own

    def outbound_by_message_id(self, message_id: str) -> int | None:
        found = self._conn.execute(_OUTBOUND, {"mid": message_id}).scalar()
        return int(found) if found is not None else None

    def items_by_message_id(self, message_id: str) -> Sequence[WorkItemView]:
        seen: set[int] = set()
        views = []
        for row in self._conn.execute(_ITEMS_BY_MID, {"mid": message_id}):
            if row.id not in seen:
                seen.add(row.id)
                views.append(workitems.view(self._conn, row))
        return views

    def item(self, reference: Reference) -> WorkItemView | None:
        row = workitems.find(self._conn, reference)
        return workitems.view(self._conn, row) if row is not None else None

    def routes(self) -> Sequence[Route]:
        return self._routes

    def auto_replies_since(self, address: str, since: datetime) -> int:
        params = {"address": address.strip().lower(), "since": since.replace(tzinfo=None)}
        return int(self._conn.execute(_AUTO_REPLIES, params).scalar_one())


def own_addresses(conn: Connection, default_sender: str) -> frozenset[str]:
    """Every address of this installation: channel addresses, route addresses, the sender."""
    found = {default_sender.strip().lower()}
    found.update(a.lower() for a in conn.execute(select(routes.c.address)).scalars() if a)
    found.update(a.lower() for a in conn.execute(select(channels.c.address)).scalars() if a)
    return frozenset(found)
