"""What the Email Handler may ask of the world: a read-only port, plus its settings.

The handler stays a pure function of (mail, context, settings, now); storage
implements `HandlerContext` with queries, tests with an in-memory fake.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Protocol

from postroom.domain.routes import Route
from postroom.domain.workitems import Reference, WorkItemView

OWN_MESSAGE_ID_PREFIX = "<postroom."
"""Every Message-ID Postroom writes starts so (``<postroom.<hex>@domain>``)."""
MARKER_HEADER = "X-Postroom-Marker"
"""Set on every message Postroom sends; with one of our addresses in From it marks own mail (D2)."""


class UnroutedPolicy(StrEnum):
    AUTO_REPLY = "auto-reply"
    UNHANDLED = "unhandled"


@dataclass(frozen=True, slots=True)
class HandlerSettings:
    match_thread: bool = True
    match_plus: bool = True
    match_subject: bool = True
    match_body: bool = True
    unrouted_policy: UnroutedPolicy = UnroutedPolicy.AUTO_REPLY
    autoreply_limit: int = 3
    """Automated replies per recipient address per `autoreply_window`."""
    autoreply_window: timedelta = timedelta(hours=1)
    body_reference_limit: int = 5000


class HandlerContext(Protocol):
    def duplicate_of(self, message_id: str | None, content_hash: str) -> int | None:
        """The id of an already stored message with this Message-ID and content hash
        (content hash alone when ``message_id`` is None), else None."""
        ...

    def routes_handled(
        self, message_id: str | None, content_hash: str, routes: Sequence[str]
    ) -> frozenset[str]:
        """Of ``routes`` (route addresses, lowercased), those a stored copy of this message
        was already handled for; all of them when a copy was handled for routes unknown."""
        ...

    def arrival_address(self) -> str | None:
        """The address of the mailbox (channel) this copy was fetched from, if it has one:
        an address the copy was delivered for, like its Delivered-To."""
        ...

    def is_own_message_id(self, message_id: str) -> bool:
        """True when Postroom sent a message with this Message-ID."""
        ...

    def own_addresses(self) -> frozenset[str]:
        """Lowercased addresses that belong to this installation (channels, routes, senders)."""
        ...

    def outbound_by_message_id(self, message_id: str) -> int | None:
        """The id of the outbound communication with this Message-ID, else None."""
        ...

    def items_by_message_id(self, message_id: str) -> Sequence[WorkItemView]:
        """The work items of the communication(s) with this Message-ID, first opened first."""
        ...

    def item(self, reference: Reference) -> WorkItemView | None: ...

    def routes(self) -> Sequence[Route]: ...

    def auto_replies_since(self, address: str, since: datetime) -> int:
        """How many automated replies went (or are queued) to ``address`` since ``since``."""
        ...
