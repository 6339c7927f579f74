"""New Tickets (docs/handler.md §3, rules N1–N3) and the automated replies they ask for (§5).

Reached when no work item matched, or when the one that matched is closed
(C3, T2).  Routes decide where a new Ticket goes; without a route the
installation's policy decides between a resolved Ticket with an "address not
configured" reply (the seed's behaviour) and the Unhandled list.

Every automated reply passes one gate: it is never sent to automatic mail, to
a message without From or to an address that is not fully qualified
(`automatic.reply_address`), and never more than the per-recipient limit in
the window, acknowledgements included, so that two systems cannot loop.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime

from postroom.domain.automatic import automatic_reason, reply_address
from postroom.domain.decision import AutoReply, AutoReplyKind, NewTicket, Outcome, Rule
from postroom.domain.mail import ParsedMail
from postroom.domain.ports import HandlerContext, HandlerSettings, UnroutedPolicy
from postroom.domain.references import base_address
from postroom.domain.routes import Route
from postroom.domain.workitems import Reference


@dataclass(frozen=True, slots=True)
class NewTicketPlan:
    """What N1, N2 or N3 decided, for the handler to fold into its Decision."""

    rule: Rule
    outcome: Outcome
    clause: str
    """Part of the decision's reason sentence."""
    new_tickets: tuple[NewTicket, ...] = ()
    auto_replies: tuple[AutoReply, ...] = ()
    suppressed_auto_reply: str | None = None


def plan_new_tickets(
    mail: ParsedMail,
    ctx: HandlerContext,
    settings: HandlerSettings,
    now: datetime,
    *,
    linked_to: Reference | None,
    trace: list[str],
    routes: tuple[Route, ...] | None = None,
) -> NewTicketPlan:
    """Apply N1, else N2 or N3 by policy; ``linked_to`` is the closed item of C3/T2.
    ``routes`` are `matched_routes` of ``mail`` and ``ctx``, when the caller has them
    (the handler's D1 matched them already: with many routes, matching costs)."""
    link = f", linked to {linked_to}" if linked_to is not None else ""
    if routes is None:
        routes = matched_routes(mail, ctx.routes())
    if routes:
        tickets = tuple(NewTicket(r, r.address, linked_to=linked_to) for r in routes)
        trace.append("N1: routes " + ", ".join(r.address for r in routes))
        wanted = tuple(
            AutoReply(AutoReplyKind.ACKNOWLEDGEMENT, "", r.address, ticket_index=i)
            for i, r in enumerate(routes)
            if r.acknowledge
        )
        replies, suppressed = gate_auto_replies(wanted, mail, ctx, settings, now, trace=trace)
        noun = "a new Ticket" if len(routes) == 1 else f"{len(routes)} new Tickets"
        where = ", ".join(r.address for r in routes)
        return NewTicketPlan(
            Rule.N1,
            Outcome.NEW_TICKET,
            f"{noun} by route {where}{link}",
            tickets,
            replies,
            suppressed,
        )
    trace.append("N1: no recipient matches a route")
    if settings.unrouted_policy == UnroutedPolicy.UNHANDLED:
        trace.append("N3: policy unhandled")
        return NewTicketPlan(
            Rule.N3,
            Outcome.UNHANDLED,
            f"no route matches a recipient and the policy is unhandled: "
            f"the mail waits in the Unhandled list{link}",
        )
    written_to = address_written_to(mail, ctx.own_addresses())
    trace.append(f"N2: policy auto-reply, written to {written_to or '(nobody)'}")
    ticket = NewTicket(None, written_to, linked_to=linked_to, resolve=True)
    wanted = (AutoReply(AutoReplyKind.ADDRESS_NOT_CONFIGURED, "", written_to, 0),)
    replies, suppressed = gate_auto_replies(wanted, mail, ctx, settings, now, trace=trace)
    return NewTicketPlan(
        Rule.N2,
        Outcome.NEW_TICKET,
        f"no route matches a recipient: a new Ticket, resolved at once{link}, "
        f"with the address-not-configured reply",
        (ticket,),
        replies,
        suppressed,
    )


def matched_routes(mail: ParsedMail, routes: Sequence[Route]) -> tuple[Route, ...]:
    """The routes of the message's recipients, in recipient order, each once.

    ``support+anything@x`` matches the route for ``support@x``: plus tags are
    how people and mail systems sub-address one mailbox.
    """
    by_address: dict[str, Route] = {}
    for route in routes:
        by_address.setdefault(route.address.strip().lower(), route)
    found: dict[str, Route] = {}
    for recipient in mail.recipients():
        address = recipient.normalized
        match = by_address.get(address) or by_address.get(base_address(address))
        if match is not None:
            found.setdefault(match.address.strip().lower(), match)
    return tuple(found.values())


def address_written_to(mail: ParsedMail, own_addresses: frozenset[str]) -> str | None:
    """The first recipient that is one of our addresses, else the first To.

    N2's reply is sent from it, so the sender sees the answer come from the
    address they wrote to.
    """
    for recipient in mail.recipients():
        address = recipient.normalized
        if address and (address in own_addresses or base_address(address) in own_addresses):
            return address
    for recipient in mail.to:
        if recipient.normalized:
            return recipient.normalized
    return None


def gate_auto_replies(
    wanted: tuple[AutoReply, ...],
    mail: ParsedMail,
    ctx: HandlerContext,
    settings: HandlerSettings,
    now: datetime,
    *,
    trace: list[str],
) -> tuple[tuple[AutoReply, ...], str | None]:
    """The replies that may go, addressed; and why any that may not were held back.

    Replies of one message count together against the limit: a message to
    three acknowledging routes uses three of the recipient's allowance.
    """
    if not wanted:
        return (), None
    if mail.from_ is None or not mail.from_.normalized:
        why = "no From address to reply to"
        trace.append(f"auto-reply: suppressed, {why}")
        return (), why
    automatic = automatic_reason(mail, ctx.own_addresses())
    if automatic is not None:
        why = f"automatic mail ({automatic})"
        trace.append(f"auto-reply: suppressed, {why}")
        return (), why
    chosen = reply_address(mail)
    if chosen.address is None:
        trace.append(f"auto-reply: suppressed, {chosen.why}")
        return (), chosen.why
    to = chosen.address.normalized
    trace.extend(f"auto-reply: passed over {skipped}" for skipped in chosen.skipped)
    sent = ctx.auto_replies_since(to, now - settings.autoreply_window)
    room = max(0, settings.autoreply_limit - sent)
    allowed = tuple(replace(reply, to=to) for reply in wanted[:room])
    if len(allowed) == len(wanted):
        trace.append(f"auto-reply: {len(allowed)} to {to} ({sent} sent in the window)")
        return allowed, None
    why = (
        f"rate limit: {sent} automated replies to {to} within {settings.autoreply_window}, "
        f"limit {settings.autoreply_limit}; {len(wanted) - len(allowed)} held back"
    )
    trace.append(f"auto-reply: {len(allowed)} to {to}; {why}")
    return allowed, why
