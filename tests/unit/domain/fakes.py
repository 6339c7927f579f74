"""An in-memory HandlerContext: the world as the handler sees it, set up in a few lines."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from postroom.domain.routes import Route
from postroom.domain.workitems import Reference, WorkItemView


@dataclass
class InMemoryHandlerContext:
    """Holds items, stored messages, routes and sent replies in plain collections.

    Builders return ``self`` so a test row can describe its world in one expression.
    """

    items: dict[Reference, WorkItemView] = field(default_factory=dict)
    threads: dict[str, list[Reference]] = field(default_factory=dict)
    """Message-ID -> the items its communication belongs to, first opened first."""
    stored: list[tuple[int, str | None, str]] = field(default_factory=list)
    """(id, Message-ID, content hash) of every stored inbound message."""
    handled: dict[tuple[str | None, str], set[str] | None] = field(default_factory=dict)
    """(Message-ID, content hash) -> the routes its stored copies were handled for;
    None: unknown (a copy stored by `with_stored`), every route counts as handled."""
    arrival: str | None = None
    """The address of the mailbox the message under test was fetched from."""
    own_message_ids: set[str] = field(default_factory=set)
    outbound: dict[str, int] = field(default_factory=dict)
    addresses: set[str] = field(default_factory=set)
    route_list: list[Route] = field(default_factory=list)
    replies: list[tuple[str, datetime]] = field(default_factory=list)
    calls: list[str] = field(default_factory=list)
    """Names of the port methods the handler called, for tests about order."""

    # -- builders ---------------------------------------------------------

    def with_item(self, item: WorkItemView) -> InMemoryHandlerContext:
        self.items[item.reference] = item
        return self

    def with_thread(self, message_id: str, *refs: Reference) -> InMemoryHandlerContext:
        self.threads.setdefault(message_id, []).extend(refs)
        return self

    def with_stored(
        self, ident: int, message_id: str | None, content_hash: str
    ) -> InMemoryHandlerContext:
        self.stored.append((ident, message_id, content_hash))
        self.handled[(message_id, content_hash)] = None
        return self

    def with_copy(
        self, ident: int, message_id: str | None, content_hash: str, *routes: str
    ) -> InMemoryHandlerContext:
        """A stored copy that was handled for ``routes`` (none: it went to no route)."""
        self.stored.append((ident, message_id, content_hash))
        known = self.handled.setdefault((message_id, content_hash), set())
        if known is not None:
            known.update(r.lower() for r in routes)
        return self

    def with_arrival(self, address: str) -> InMemoryHandlerContext:
        self.arrival = address
        return self

    def with_own_message_id(self, message_id: str) -> InMemoryHandlerContext:
        self.own_message_ids.add(message_id)
        return self

    def with_outbound(
        self, message_id: str, ident: int, *refs: Reference
    ) -> InMemoryHandlerContext:
        self.outbound[message_id] = ident
        self.own_message_ids.add(message_id)
        return self.with_thread(message_id, *refs)

    def with_address(self, address: str) -> InMemoryHandlerContext:
        self.addresses.add(address.lower())
        return self

    def with_route(self, route: Route) -> InMemoryHandlerContext:
        self.route_list.append(route)
        self.addresses.add(route.address.lower())
        return self

    def with_replies(self, address: str, *when: datetime) -> InMemoryHandlerContext:
        self.replies.extend((address.lower(), w) for w in when)
        return self

    # -- HandlerContext ---------------------------------------------------

    def duplicate_of(self, message_id: str | None, content_hash: str) -> int | None:
        self.calls.append("duplicate_of")
        for ident, stored_id, stored_hash in self.stored:
            if stored_hash != content_hash:
                continue
            if message_id is None or stored_id == message_id:
                return ident
        return None

    def routes_handled(
        self, message_id: str | None, content_hash: str, routes: Sequence[str]
    ) -> frozenset[str]:
        self.calls.append("routes_handled")
        found: set[str] = set()
        for (stored_id, stored_hash), known in self.handled.items():
            if stored_hash != content_hash or (message_id is not None and stored_id != message_id):
                continue
            found.update(routes if known is None else (r for r in routes if r in known))
        return frozenset(found)

    def arrival_address(self) -> str | None:
        self.calls.append("arrival_address")
        return self.arrival

    def is_own_message_id(self, message_id: str) -> bool:
        self.calls.append("is_own_message_id")
        return message_id in self.own_message_ids

    def own_addresses(self) -> frozenset[str]:
        return frozenset(self.addresses)

    def outbound_by_message_id(self, message_id: str) -> int | None:
        self.calls.append("outbound_by_message_id")
        return self.outbound.get(message_id)

    def items_by_message_id(self, message_id: str) -> Sequence[WorkItemView]:
        self.calls.append("items_by_message_id")
        return [self.items[r] for r in self.threads.get(message_id, []) if r in self.items]

    def item(self, reference: Reference) -> WorkItemView | None:
        self.calls.append("item")
        return self.items.get(reference)

    def routes(self) -> Sequence[Route]:
        return list(self.route_list)

    def auto_replies_since(self, address: str, since: datetime) -> int:
        return sum(1 for a, when in self.replies if a == address.lower() and when >= since)
