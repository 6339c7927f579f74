"""The four ways to find the work item an inbound message belongs to (docs/handler.md §1).

Strategies run in a fixed order and the first hit wins: thread headers (the
most reliable: the sender's client wrote them), then a reference in a plus
address, the Subject, and the start of the body.  Each one can be switched
off, and each writes what it tried into the trace, so ``explain`` can show
why a message landed where it did, or why it landed nowhere.

The body rule reads only what a person sees of the body (issue 10): for HTML
mail that is ``ParsedMail.visible_text``, without hidden elements, comments,
link targets or ``alt`` text (the rules are in ``postroom.domain.visibility``),
so a reference hidden in the markup moves nothing. The display text
(``body_text``) may show link targets and ``alt`` text; it is not searched
when visible text is there.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from postroom.domain.decision import MatchedBy
from postroom.domain.mail import ParsedMail
from postroom.domain.ports import HandlerContext, HandlerSettings
from postroom.domain.references import find_references, plus_reference
from postroom.domain.visibility import visible_text
from postroom.domain.workitems import Reference, WorkItemView

_MESSAGE_ID = re.compile(r"<[^<>\s]+>")


@dataclass(frozen=True, slots=True)
class Match:
    """The work item found for a message, and how."""

    item: WorkItemView
    matched_by: MatchedBy
    via: str
    """What led to it: a Message-ID, a recipient address or a reference as written."""


Trace = list[str]
Strategy = Callable[[ParsedMail, HandlerContext, HandlerSettings, Trace], "Match | None"]


def find_match(
    mail: ParsedMail, ctx: HandlerContext, settings: HandlerSettings, trace: Trace
) -> Match | None:
    """Run the switched-on strategies in order; the first hit wins."""
    strategies: tuple[tuple[MatchedBy, bool, Strategy], ...] = (
        (MatchedBy.THREAD, settings.match_thread, _by_thread),
        (MatchedBy.PLUS_ADDRESS, settings.match_plus, _by_plus_address),
        (MatchedBy.SUBJECT, settings.match_subject, _by_subject),
        (MatchedBy.BODY, settings.match_body, _by_body),
    )
    for name, enabled, strategy in strategies:
        if not enabled:
            trace.append(f"{name}: switched off")
            continue
        found = strategy(mail, ctx, settings, trace)
        if found is not None:
            return found
    return None


MAX_LOOKUPS = 100
"""Distinct ids, references or plus addresses one strategy looks up in storage at most.

Every one is a query inside the write transaction, and the sender decides how many
there are: a References field of 600 KB holds 100,000 ids. In-Reply-To and the newest
References come first, so the cap only ever drops the oldest ancestors of a thread."""


def thread_message_ids(mail: ParsedMail) -> tuple[str, ...]:
    """In-Reply-To first, then References newest (last) first, each once.

    In-Reply-To may hold several ids (RFC 5322 §3.6.4); all count, in order.
    """
    ids: list[str] = []
    if mail.in_reply_to:
        ids.extend(_message_ids(mail.in_reply_to))
    for ref in reversed(mail.references):
        ids.extend(_message_ids(ref))
    return tuple(dict.fromkeys(ids))


def _message_ids(text: str) -> list[str]:
    found = _MESSAGE_ID.findall(text)
    if found:
        return found
    # Some clients drop the angle brackets; stored ids keep them (mail.py).
    stripped = text.strip()
    return [stripped, f"<{stripped}>"] if stripped else []


def _by_thread(
    mail: ParsedMail, ctx: HandlerContext, settings: HandlerSettings, trace: Trace
) -> Match | None:
    ids = thread_message_ids(mail)
    if not ids:
        trace.append("thread: miss (no In-Reply-To or References)")
        return None
    if len(ids) > MAX_LOOKUPS:
        trace.append(f"thread: only the newest {MAX_LOOKUPS} of {len(ids)} ids looked up")
    for message_id in ids[:MAX_LOOKUPS]:
        items = ctx.items_by_message_id(message_id)
        if items:
            # A message that opened several Tickets (one per route) matches the
            # first of them; the context returns them first opened first.
            item = items[0]
            more = f" (first of {len(items)} items)" if len(items) > 1 else ""
            trace.append(f"thread: hit {message_id} -> {item.reference}{more}")
            return Match(item, MatchedBy.THREAD, message_id)
        trace.append(f"thread: {message_id} is no stored message")
    trace.append("thread: miss")
    return None


def _by_plus_address(
    mail: ParsedMail, ctx: HandlerContext, settings: HandlerSettings, trace: Trace
) -> Match | None:
    ours = ctx.own_addresses() | {route.address.lower() for route in ctx.routes()}
    looked_up = foreign = 0
    for recipient in mail.recipients():
        parsed = plus_reference(recipient.address)
        if parsed is None:
            continue
        if looked_up == MAX_LOOKUPS:
            trace.append(f"plus-address: only the first {MAX_LOOKUPS} looked up")
            break
        base, reference = parsed
        if base not in ours:
            foreign += 1
            if foreign <= MAX_LOOKUPS:  # the trace is stored: one line each is enough
                shown = recipient.address[:200]
                trace.append(f"plus-address: {shown} is not one of our addresses")
            continue
        looked_up += 1
        item = _existing(ctx, reference, MatchedBy.PLUS_ADDRESS, trace)
        if item is not None:
            return Match(item, MatchedBy.PLUS_ADDRESS, recipient.address)
    if foreign > MAX_LOOKUPS:
        trace.append(f"plus-address: {foreign - MAX_LOOKUPS} more are not our addresses")
    trace.append("plus-address: miss")
    return None


def _by_subject(
    mail: ParsedMail, ctx: HandlerContext, settings: HandlerSettings, trace: Trace
) -> Match | None:
    return _first_existing(ctx, find_references(mail.subject or ""), MatchedBy.SUBJECT, trace)


def _by_body(
    mail: ParsedMail, ctx: HandlerContext, settings: HandlerSettings, trace: Trace
) -> Match | None:
    refs = find_references(body_text(mail), settings.body_reference_limit)
    return _first_existing(ctx, refs, MatchedBy.BODY, trace)


def _first_existing(
    ctx: HandlerContext, refs: Iterable[Reference], by: MatchedBy, trace: Trace
) -> Match | None:
    for index, reference in enumerate(dict.fromkeys(refs)):
        if index == MAX_LOOKUPS:
            trace.append(f"{by}: only the first {MAX_LOOKUPS} references looked up")
            break
        item = _existing(ctx, reference, by, trace)
        if item is not None:
            return Match(item, by, str(reference))
    trace.append(f"{by}: miss")
    return None


def _existing(
    ctx: HandlerContext, reference: Reference, by: MatchedBy, trace: Trace
) -> WorkItemView | None:
    item = ctx.item(reference)
    if item is None:
        trace.append(f"{by}: {reference} names no work item, skipped")
        return None
    trace.append(f"{by}: hit {reference}")
    return item


def body_text(mail: ParsedMail) -> str:
    """The body as a person sees it: the words the body rule searches.

    The MIME layer sets ``visible_text`` when the body is HTML; a message
    built without it (no plain text, only HTML) is read here by the same
    rules. ``visible_text`` never runs ``html.parser`` on remote markup: it
    is linear in the length of the HTML.
    """
    if mail.visible_text is not None:
        return mail.visible_text
    if mail.body_text or not mail.html:
        return mail.body_text or ""
    return visible_text(mail.html)
