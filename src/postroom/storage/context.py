"""`HandlerContext` over the database: the read-only questions the Email Handler asks."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import Connection, func, select

from postroom.domain.routes import Route
from postroom.domain.workitems import Reference, WorkItemView
from postroom.storage import workitems
from postroom.storage.tables import channels, communications, messages, outbox, routes, work_items


class SqlHandlerContext:
    """Answers within one transaction; ``exclude_message`` is the row being handled."""

    def __init__(
        self,
        conn: Connection,
        routes: Sequence[Route],
        own_addresses: frozenset[str],
        exclude_message: int | None = None,
    ) -> None:
        self._conn = conn
        self._routes = routes
        self._own = own_addresses
        self._exclude = exclude_message

    def duplicate_of(self, message_id: str | None, content_hash: str) -> int | None:
        q = select(messages.c.id).where(messages.c.content_hash == content_hash)
        q = q.where(
            messages.c.message_id == message_id
            if message_id is not None
            else messages.c.message_id.is_(None)
        )
        if self._exclude is not None:
            q = q.where(messages.c.id != self._exclude)
        q = q.where(messages.c.status != "quarantined").order_by(messages.c.id).limit(1)
        found = self._conn.execute(q).scalar()
        return int(found) if found is not None else None

    def is_own_message_id(self, message_id: str) -> bool:
        q = select(outbox.c.id).where(outbox.c.message_id == message_id).limit(1)
        return self._conn.execute(q).first() is not None

    def own_addresses(self) -> frozenset[str]:
        return self._own

    def outbound_by_message_id(self, message_id: str) -> int | None:
        q = (
            select(communications.c.id)
            .where(communications.c.message_id == message_id, communications.c.direction == "out")
            .order_by(communications.c.id)
            .limit(1)
        )
        found = self._conn.execute(q).scalar()
        return int(found) if found is not None else None

    def items_by_message_id(self, message_id: str) -> Sequence[WorkItemView]:
        q = (
            select(work_items)
            .join(communications, communications.c.work_item_id == work_items.c.id)
            .where(communications.c.message_id == message_id)
            .order_by(communications.c.id)
        )
        seen: set[int] = set()
        views = []
        for row in self._conn.execute(q):
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
        q = select(func.count()).where(
            outbox.c.first_recipient == address.strip().lower(),
            outbox.c.kind.in_(("acknowledgement", "address-not-configured")),
            outbox.c.created_at >= since.replace(tzinfo=None),
        )
        return int(self._conn.execute(q).scalar_one())


def own_addresses(conn: Connection, default_sender: str) -> frozenset[str]:
    """Every address of this installation: channel addresses, route addresses, the sender."""
    found = {default_sender.strip().lower()}
    found.update(a.lower() for a in conn.execute(select(routes.c.address)).scalars() if a)
    found.update(a.lower() for a in conn.execute(select(channels.c.address)).scalars() if a)
    return frozenset(found)
