"""D1 across routes, row by row: a copy of a stored message is a duplicate only for the
routes a copy was already handled for (handler.py, "Copies and routes").

A Bcc'd message reaches each routed mailbox as its own copy, with the same Message-ID and
content; the mailbox it was fetched from (or its Delivered-To) names the route. Each row
sets up the stored copies and the routes they were handled for, hands the next copy to
``decide`` and states what it does and for which routes (``Decision.routes``, the routes
the storage's unique key records).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import pytest

from postroom.domain import copies, newtickets
from postroom.domain.decision import AutoReplyKind, Decision, ItemUpdate, Outcome, Rule
from postroom.domain.handler import decide
from postroom.domain.mail import DeliveryReport, ParsedMail
from postroom.domain.newtickets import matched_routes
from postroom.domain.ports import HandlerSettings
from postroom.domain.routes import Route
from postroom.domain.workitems import State
from unit.domain.fakes import InMemoryHandlerContext
from unit.domain.test_handler_table import (
    CHANNEL,
    NOW,
    SUBJ_T,
    TK,
    TK2,
    UNROUTED,
    Ticket,
    mail,
    n1,
    n2,
    ticket,
    to,
    with_,
    world,
)

MID = "<m1@customer.example>"
HASH = "hash-m1"
SUP = "support@example.com"
BIL = "billing@example.com"
EXTERNAL = to("team@customer.example")
"""What a Bcc'd copy shows in To: nobody of ours."""


@dataclass(frozen=True)
class Row:
    id: str
    mail: ParsedMail
    ctx: Callable[[], InMemoryHandlerContext]
    outcome: Outcome
    path: tuple[Rule, ...]
    routes: tuple[str, ...] = ()
    tickets: tuple[Ticket, ...] = ()
    updates: tuple[ItemUpdate, ...] = ()
    replies: tuple[AutoReplyKind, ...] = ()
    duplicate_of: int | None = None


def copy(
    *routes: str, ident: int = 7, mid: str | None = MID
) -> Callable[[InMemoryHandlerContext], object]:
    return lambda c: c.with_copy(ident, mid, HASH, *routes)


def arriving(address: str) -> Callable[[InMemoryHandlerContext], object]:
    return lambda c: c.with_arrival(address)


def both(
    *changes: Callable[[InMemoryHandlerContext], object],
) -> Callable[[InMemoryHandlerContext], object]:
    def change(c: InMemoryHandlerContext) -> None:
        for one in changes:
            one(c)

    return change


BCC_SUPPORT = mail(to=EXTERNAL, delivered_to=to(SUP))
BCC_BILLING = mail(to=EXTERNAL, delivered_to=to(BIL))
FROM_MAILBOX = mail(to=EXTERNAL)
"""A Bcc'd copy delivered without Delivered-To: only its mailbox names the route."""

# fmt: off
ROWS: list[Row] = [
    # -- the copy's routes were handled: a duplicate, as before ---------------------
    Row("same-route-again", BCC_SUPPORT, with_(world(), copy(SUP)),
        Outcome.IGNORED, (Rule.D1,), duplicate_of=7),
    Row("same-mailbox-again", FROM_MAILBOX, with_(world(), both(copy(SUP), arriving(SUP))),
        Outcome.IGNORED, (Rule.D1,), duplicate_of=7),
    Row("to-and-cc-both-handled", mail(to=to(SUP), cc=to(BIL)),
        with_(world(), copy(SUP, BIL)), Outcome.IGNORED, (Rule.D1,), duplicate_of=7),
    Row("copy-for-no-route", mail(to=UNROUTED), with_(world(), copy(SUP)),
        Outcome.IGNORED, (Rule.D1,), duplicate_of=7),
    Row("routes-of-copy-unknown", BCC_BILLING,
        with_(world(), lambda c: c.with_stored(7, MID, HASH)),
        Outcome.IGNORED, (Rule.D1,), duplicate_of=7),
    Row("the-first-copy-wins", BCC_SUPPORT,
        with_(world(), both(copy(BIL, ident=7), copy(SUP, ident=8))),
        Outcome.IGNORED, (Rule.D1,), duplicate_of=7),
    # -- a copy for a route no copy was handled for: that route's Ticket -----------
    Row("bcc-delivered-to-other-route", BCC_SUPPORT, with_(world(), copy(BIL)),
        Outcome.NEW_TICKET, (Rule.N1,), (SUP,), tickets=(n1(),)),
    Row("bcc-mailbox-of-other-route", FROM_MAILBOX,
        with_(world(), both(copy(BIL), arriving(SUP))),
        Outcome.NEW_TICKET, (Rule.N1,), (SUP,), tickets=(n1(),)),
    Row("only-the-new-route", mail(to=to(SUP), cc=to(BIL)), with_(world(), copy(SUP)),
        Outcome.NEW_TICKET, (Rule.N1,), (BIL,), tickets=(n1(route=BIL),),
        replies=(AutoReplyKind.ACKNOWLEDGEMENT,)),
    Row("to-one-route-bcc-another", mail(to=to(SUP)),
        with_(world(), both(copy(SUP), arriving(BIL))),
        Outcome.NEW_TICKET, (Rule.N1,), (BIL,), tickets=(n1(route=BIL),),
        replies=(AutoReplyKind.ACKNOWLEDGEMENT,)),
    Row("first-copy-went-to-no-route", BCC_SUPPORT, with_(world(), copy()),
        Outcome.NEW_TICKET, (Rule.N1,), (SUP,), tickets=(n1(),)),
    Row("without-message-id", mail(message_id=None, to=EXTERNAL, delivered_to=to(SUP)),
        with_(world(), copy(BIL, mid=None)),
        Outcome.NEW_TICKET, (Rule.N1,), (SUP,), tickets=(n1(),)),
    Row("closed-ticket-linked-again", mail(subject=SUBJ_T, to=EXTERNAL, delivered_to=to(SUP)),
        with_(world(ticket(State.CLOSED)), copy(BIL)),
        Outcome.NEW_TICKET, (Rule.T2, Rule.N1), (SUP,), tickets=(n1(TK),)),
    # -- a copy for a new route that matches an item ---------------------------------
    Row("item-holds-the-first-copy", mail(subject=SUBJ_T, to=EXTERNAL, delivered_to=to(SUP)),
        with_(world(ticket(State.TODO)), both(copy(BIL), lambda c: c.with_thread(MID, TK))),
        Outcome.IGNORED, (Rule.D1,), duplicate_of=7),
    Row("item-holds-it-without-message-id",
        mail(message_id=None, subject=SUBJ_T, to=EXTERNAL, delivered_to=to(SUP)),
        with_(world(ticket(State.TODO)), copy(BIL, mid=None)),
        Outcome.IGNORED, (Rule.D1,), duplicate_of=7),
    Row("plus-address-of-the-new-route",
        mail(to=EXTERNAL, delivered_to=to("support+100007-T@example.com")),
        with_(world(ticket(State.TODO), ticket(State.TODO, ref=TK2)),
              both(copy(BIL), lambda c: c.with_thread(MID, TK))),
        Outcome.UPDATED, (Rule.T4,), (SUP,), updates=(ItemUpdate(TK2),)),
    Row("delivery-report-copy", mail(to=EXTERNAL, delivered_to=to(SUP),
                                     report=DeliveryReport(("<out1@example.com>",))),
        with_(world(ticket(State.WAITING)),
              both(copy(BIL), lambda c: c.with_outbound("<out1@example.com>", 42, TK))),
        Outcome.IGNORED, (Rule.D1,), duplicate_of=7),
    # -- the mailbox a message came from is an address it was delivered for ----------
    Row("mailbox-routes-a-bcc", FROM_MAILBOX, with_(world(), arriving(SUP)),
        Outcome.NEW_TICKET, (Rule.N1,), (SUP,), tickets=(n1(),)),
    Row("mailbox-adds-its-route", mail(to=to(SUP)), with_(world(), arriving(BIL)),
        Outcome.NEW_TICKET, (Rule.N1,), (SUP, BIL),
        tickets=(n1(), n1(route=BIL)), replies=(AutoReplyKind.ACKNOWLEDGEMENT,)),
    Row("mailbox-already-a-recipient", mail(to=to(SUP), delivered_to=to(SUP)),
        with_(world(), arriving("Support@Example.com")),
        Outcome.NEW_TICKET, (Rule.N1,), (SUP,), tickets=(n1(),)),
    Row("unrouted-mailbox-is-written-to", FROM_MAILBOX, with_(world(), arriving(CHANNEL)),
        Outcome.NEW_TICKET, (Rule.N2,), tickets=(n2(recipient=CHANNEL),),
        replies=(AutoReplyKind.ADDRESS_NOT_CONFIGURED,)),
    Row("not-a-copy-records-its-routes", mail(to=to(SUP), cc=to(BIL)), world(),
        Outcome.NEW_TICKET, (Rule.N1,), (SUP, BIL),
        tickets=(n1(), n1(route=BIL)), replies=(AutoReplyKind.ACKNOWLEDGEMENT,)),
    Row("an-update-records-its-routes", mail(subject=SUBJ_T), world(ticket(State.TODO)),
        Outcome.UPDATED, (Rule.T4,), (SUP,), updates=(ItemUpdate(TK),)),
]
# fmt: on


def _run(row: Row) -> Decision:
    return decide(row.mail, row.ctx(), HandlerSettings(), NOW)


@pytest.mark.parametrize("row", ROWS, ids=[r.id for r in ROWS])
def test_copies_and_routes(row: Row) -> None:
    d = _run(row)
    assert (d.outcome, d.rule, d.path) == (row.outcome, row.path[-1], row.path), d.trace
    assert d.routes == row.routes, d.trace
    tickets = tuple(
        (t.route.address if t.route else None, t.recipient, t.linked_to, t.resolve)
        for t in d.new_tickets
    )
    assert tickets == row.tickets
    assert d.updates == row.updates
    assert tuple(r.kind for r in d.auto_replies) == row.replies
    assert d.duplicate_of == row.duplicate_of
    assert d.reason.endswith(".")


def test_a_copy_for_a_new_route_says_so_in_the_trace_and_reason() -> None:
    d = _run(ROWS[[r.id for r in ROWS].index("bcc-delivered-to-other-route")])
    text = "\n".join(d.trace)
    assert "D1: a copy of stored message 7" in text
    assert SUP in text
    assert "copy of stored message 7" in d.reason


def test_a_duplicate_names_the_routes_already_handled() -> None:
    d = _run(ROWS[[r.id for r in ROWS].index("same-route-again")])
    assert SUP in d.reason


def test_a_duplicate_never_asks_about_routes_of_a_message_seen_first() -> None:
    ctx = world()()
    decide(BCC_SUPPORT, ctx, HandlerSettings(), NOW)
    assert "routes_handled" not in ctx.calls


def test_the_routes_are_matched_once_a_message(monkeypatch: pytest.MonkeyPatch) -> None:
    # D1 matches the recipients to the routes; N1 takes what it found (with many routes,
    # matching them is the costly part of deciding).
    matched: list[ParsedMail] = []

    def counted(message: ParsedMail, routes: Sequence[Route]) -> tuple[Route, ...]:
        matched.append(message)
        return matched_routes(message, routes)

    for module in (copies, newtickets):
        monkeypatch.setattr(module, "matched_routes", counted)
    for message in (mail(to=to(SUP), cc=to(BIL)), BCC_SUPPORT, mail(to=UNROUTED)):
        matched.clear()
        decide(message, world()(), HandlerSettings(), NOW)
        assert len(matched) == 1
