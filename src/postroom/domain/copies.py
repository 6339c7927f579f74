"""Copies of one message and the routes they arrive for: rule D1, per route.

A message Bcc'd to two routed addresses reaches Postroom as two copies with the same
Message-ID and content (docs/handler.md §4: the headers added in transit are not content).
Each copy was delivered for its own address, and an address decides a route (N1). So:

1. The addresses a copy was delivered for are its recipients (To, Cc, Delivered-To,
   X-Original-To, Envelope-To, Resent-To) **and the address of the mailbox it was fetched
   from**: Dovecot's LMTP, given one message for several mailboxes at once, writes no
   Delivered-To at all, and then the mailbox is the only trace of the Bcc.
2. A copy is a duplicate (D1) when a copy stored earlier was handled for every route it is
   delivered for, or when it is delivered for no route at all: the same message through two
   mailboxes of one route, or To/Cc naming both routes (the first copy opened both Tickets),
   is filed once, as before.
3. A copy delivered for a route no copy was handled for is handled for those routes only:
   without a matching work item it opens their Tickets (N1, acknowledgements included); when
   it matches an item (a reply, Bcc'd), it is a duplicate if that item holds the message
   already (a copy without Message-ID always is: nothing tells where its twin went), else
   that item is updated (a plus address of the new route can name another item).
   A delivery report is about our message, not a route: its second copy is a duplicate.

The routes a copy was handled for go with the decision (`Decision.routes`); storage keeps
them in the message's unique key, so that two processes handling copies for the same routes
at once cannot both commit, while copies for different routes can.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime

from postroom.domain.mail import Address, ParsedMail
from postroom.domain.newtickets import matched_routes
from postroom.domain.ports import HandlerContext
from postroom.domain.routes import Route
from postroom.domain.workitems import Reference, WorkItemView


def delivered_also_to(mail: ParsedMail, address: str | None) -> ParsedMail:
    """The mail with the address of its mailbox among the envelope recipients (rule 1),
    unless a recipient names it already."""
    if not address or not address.strip():
        return mail
    wanted = address.strip().lower()
    if any(recipient.normalized == wanted for recipient in mail.recipients()):
        return mail
    return replace(mail, envelope_to=(*mail.envelope_to, Address(wanted)))


@dataclass(frozen=True, slots=True)
class Copies:
    """What rule D1 found for one arrival."""

    first: int | None
    """The id of the first stored copy; None when nothing like it is stored."""
    routes: tuple[Route, ...]
    """The routes to handle this copy for (rules 2 and 3); empty for a duplicate."""
    handled: tuple[str, ...] = ()
    """The routes of this copy an earlier copy was handled for."""

    @property
    def duplicate(self) -> bool:
        return self.first is not None and not self.routes


def find_copies(mail: ParsedMail, ctx: HandlerContext) -> Copies:
    """Rule D1 for ``mail`` (its mailbox already among its recipients)."""
    routes = matched_routes(mail, ctx.routes())
    first = ctx.duplicate_of(mail.message_id, mail.content_hash)
    if first is None:
        return Copies(None, routes)
    if not routes:
        return Copies(first, ())
    addresses = [_key(route) for route in routes]
    done = ctx.routes_handled(mail.message_id, mail.content_hash, addresses)
    new = tuple(route for route in routes if _key(route) not in done)
    return Copies(first, new, tuple(a for a in addresses if a in done))


def filed_already(mail: ParsedMail, ctx: HandlerContext, reference: Reference) -> bool:
    """Does the item hold this message already (rule 3)? Without a Message-ID nobody can
    tell, and the answer that never files a message twice is yes."""
    if mail.message_id is None:
        return True
    return any(item.reference == reference for item in ctx.items_by_message_id(mail.message_id))


def _key(route: Route) -> str:
    return route.address.strip().lower()


class RoutesOnly:
    """The world as the handler sees it, with only the given routes (rule 3): new Tickets
    and acknowledgements for the routes no earlier copy was handled for, and no others."""

    def __init__(self, ctx: HandlerContext, routes: Sequence[Route]) -> None:
        self._ctx = ctx
        self._routes = tuple(routes)

    def routes(self) -> Sequence[Route]:
        return self._routes

    def duplicate_of(self, message_id: str | None, content_hash: str) -> int | None:
        return self._ctx.duplicate_of(message_id, content_hash)

    def routes_handled(
        self, message_id: str | None, content_hash: str, routes: Sequence[str]
    ) -> frozenset[str]:
        return self._ctx.routes_handled(message_id, content_hash, routes)

    def arrival_address(self) -> str | None:
        return self._ctx.arrival_address()

    def is_own_message_id(self, message_id: str) -> bool:
        return self._ctx.is_own_message_id(message_id)

    def own_addresses(self) -> frozenset[str]:
        return self._ctx.own_addresses()

    def outbound_by_message_id(self, message_id: str) -> int | None:
        return self._ctx.outbound_by_message_id(message_id)

    def items_by_message_id(self, message_id: str) -> Sequence[WorkItemView]:
        return self._ctx.items_by_message_id(message_id)

    def item(self, reference: Reference) -> WorkItemView | None:
        return self._ctx.item(reference)

    def auto_replies_since(self, address: str, since: datetime) -> int:
        return self._ctx.auto_replies_since(address, since)
