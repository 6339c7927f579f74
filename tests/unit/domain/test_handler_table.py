"""The decision table (docs/handler.md), one row per rule and per matching case.

Each row sets up a small world in an InMemoryHandlerContext, hands one parsed
mail to ``decide`` and states the Decision the table asks for.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

import pytest

from postroom.domain.decision import (
    AutoReplyKind,
    Decision,
    ItemUpdate,
    MatchedBy,
    Outcome,
    Rule,
)
from postroom.domain.handler import decide
from postroom.domain.mail import Address, DeliveryReport, ParsedMail
from postroom.domain.ports import HandlerSettings, UnroutedPolicy
from postroom.domain.routes import Route
from postroom.domain.workitems import ItemType, Reference, State, WorkItemView
from unit.domain.fakes import InMemoryHandlerContext

NOW = datetime(2025, 3, 4, 12, 0, tzinfo=UTC)

TK = Reference(101203, ItemType.TICKET)
CS = Reference(101203, ItemType.CASE)
AC = Reference(101203, ItemType.ACTION, 2)
TK2 = Reference(100007, ItemType.TICKET)
TK3 = Reference(100008, ItemType.TICKET)

SUPPORT = Route("support@example.com", "Acme/Payroll", "Query", "support")
BILLING = Route("billing@example.com", "Acme/Billing", "Invoice", "billing", acknowledge=True)
SALES = Route("sales@example.com", "Acme/Sales", "Lead", "sales", acknowledge=True)
CHANNEL = "info@example.com"

BASE = ParsedMail(
    from_=Address("alice@customer.example", "Alice"),
    to=(Address("support@example.com"),),
    subject="Hello",
    message_id="<m1@customer.example>",
    body_text="Hi there,\nplease help.\n",
    content_hash="hash-m1",
)

OFF = {
    "thread": HandlerSettings(match_thread=False),
    "plus": HandlerSettings(match_plus=False),
    "subject": HandlerSettings(match_subject=False),
    "body": HandlerSettings(match_body=False),
}
DEFAULTS = HandlerSettings()
UNHANDLED = HandlerSettings(unrouted_policy=UnroutedPolicy.UNHANDLED)


def mail(**changes: object) -> ParsedMail:
    return replace(BASE, **changes)  # type: ignore[arg-type]


def to(*addresses: str) -> tuple[Address, ...]:
    return tuple(Address(a) for a in addresses)


def ticket(state: State, case: Reference | None = None, ref: Reference = TK) -> WorkItemView:
    return WorkItemView(ref, state, queue="support", case=case)


def case(state: State, owner: str | None = None) -> WorkItemView:
    return WorkItemView(CS, state, queue="cases", owner=owner)


def action(state: State) -> WorkItemView:
    return WorkItemView(AC, state, queue="actions", case=CS)


def world(*items: WorkItemView) -> Callable[[], InMemoryHandlerContext]:
    """A fresh context per test: routes support@ and billing@ (acknowledging),
    one channel address, and the given items."""

    def build() -> InMemoryHandlerContext:
        ctx = InMemoryHandlerContext().with_route(SUPPORT).with_route(BILLING)
        ctx.with_address(CHANNEL)
        for item in items:
            ctx.with_item(item)
        return ctx

    return build


def with_(
    base: Callable[[], InMemoryHandlerContext],
    change: Callable[[InMemoryHandlerContext], object],
) -> Callable[[], InMemoryHandlerContext]:
    def build() -> InMemoryHandlerContext:
        ctx = base()
        change(ctx)
        return ctx

    return build


Ticket = tuple[str | None, str | None, Reference | None, bool]
"""(route address, recipient, linked_to, resolve) of one NewTicket."""


def n1(linked: Reference | None = None, route: str = "support@example.com") -> Ticket:
    return (route, route, linked, False)


def n2(linked: Reference | None = None, recipient: str | None = "nobody@example.com") -> Ticket:
    return (None, recipient, linked, True)


@dataclass(frozen=True)
class Row:
    id: str
    mail: ParsedMail
    ctx: Callable[[], InMemoryHandlerContext]
    outcome: Outcome
    path: tuple[Rule, ...]
    matched_by: MatchedBy | None = None
    updates: tuple[ItemUpdate, ...] = ()
    tickets: tuple[Ticket, ...] = ()
    replies: tuple[AutoReplyKind, ...] = ()
    suppressed: str | None = None
    settings: HandlerSettings = DEFAULTS


UNROUTED = to("nobody@example.com")
SUBJ_T = "Re: [101203-T] payroll"
SUBJ_C = "Re: [101203-C] payroll"
SUBJ_A = "Re: [101203-C-A2] payroll"
BODY_LIMIT = HandlerSettings().body_reference_limit


def long_body(ref_end: int) -> str:
    """A body whose only reference, 101203-T, ends at character ``ref_end``."""
    ref = "101203-T"
    return "x " * ((ref_end - len(ref) - 1) // 2) + " " * ((ref_end - len(ref) - 1) % 2) + " " + ref


def automatic(headers: dict[str, str] | None = None, **changes: object) -> ParsedMail:
    """Unrouted mail (so N2 wants to reply) with automatic-mail signals."""
    return mail(to=UNROUTED, headers=headers or {}, **changes)


# fmt: off
ROWS: list[Row] = [
    # -- Actions -------------------------------------------------------------
    Row("A1", mail(subject=SUBJ_A), world(action(State.IN_PROGRESS), case(State.WAITING)),
        Outcome.UPDATED, (Rule.A1,), MatchedBy.SUBJECT, (ItemUpdate(AC),)),
    Row("A2-C1", mail(subject=SUBJ_A), world(action(State.CLOSED), case(State.WAITING, "bob")),
        Outcome.UPDATED, (Rule.A2, Rule.C1), MatchedBy.SUBJECT,
        (ItemUpdate(CS, assign_to_owner=True),)),
    Row("A2-C2", mail(subject=SUBJ_A), world(action(State.CLOSED), case(State.RESOLVED)),
        Outcome.UPDATED, (Rule.A2, Rule.C2), MatchedBy.SUBJECT, (ItemUpdate(CS, reopen=True),)),
    Row("A2-C3-N1", mail(subject=SUBJ_A), world(action(State.CLOSED), case(State.CLOSED)),
        Outcome.NEW_TICKET, (Rule.A2, Rule.C3, Rule.N1), MatchedBy.SUBJECT, tickets=(n1(CS),)),
    Row("A2-C3-N2", mail(subject=SUBJ_A, to=UNROUTED),
        world(action(State.CLOSED), case(State.CLOSED)),
        Outcome.NEW_TICKET, (Rule.A2, Rule.C3, Rule.N2), MatchedBy.SUBJECT, tickets=(n2(CS),),
        replies=(AutoReplyKind.ADDRESS_NOT_CONFIGURED,)),
    Row("A2-C3-N3", mail(subject=SUBJ_A, to=UNROUTED),
        world(action(State.CLOSED), case(State.CLOSED)),
        Outcome.UNHANDLED, (Rule.A2, Rule.C3, Rule.N3), MatchedBy.SUBJECT, settings=UNHANDLED),
    Row("A2-case-missing", mail(subject=SUBJ_A), world(action(State.CLOSED)),
        Outcome.NEW_TICKET, (Rule.A2, Rule.N1), MatchedBy.SUBJECT, tickets=(n1(AC),)),
    # -- Cases -----------------------------------------------------------------
    Row("C1-owner", mail(subject=SUBJ_C), world(case(State.IN_PROGRESS, "bob")),
        Outcome.UPDATED, (Rule.C1,), MatchedBy.SUBJECT, (ItemUpdate(CS, assign_to_owner=True),)),
    Row("C1-no-owner", mail(subject=SUBJ_C), world(case(State.TODO)),
        Outcome.UPDATED, (Rule.C1,), MatchedBy.SUBJECT, (ItemUpdate(CS),)),
    Row("C1-waiting", mail(subject=SUBJ_C), world(case(State.WAITING)),
        Outcome.UPDATED, (Rule.C1,), MatchedBy.SUBJECT, (ItemUpdate(CS),)),
    Row("C2", mail(subject=SUBJ_C), world(case(State.RESOLVED, "bob")),
        Outcome.UPDATED, (Rule.C2,), MatchedBy.SUBJECT,
        (ItemUpdate(CS, reopen=True, assign_to_owner=True),)),
    Row("C3", mail(subject=SUBJ_C), world(case(State.CLOSED)),
        Outcome.NEW_TICKET, (Rule.C3, Rule.N1), MatchedBy.SUBJECT, tickets=(n1(CS),)),
    # -- Tickets ---------------------------------------------------------------
    Row("T1", mail(subject=SUBJ_T), world(ticket(State.RESOLVED)),
        Outcome.UPDATED, (Rule.T1,), MatchedBy.SUBJECT, (ItemUpdate(TK, reopen=True),)),
    Row("T1-with-case", mail(subject=SUBJ_T), world(ticket(State.RESOLVED, CS), case(State.TODO)),
        Outcome.UPDATED, (Rule.T1,), MatchedBy.SUBJECT, (ItemUpdate(TK, reopen=True),)),
    Row("T2-N1", mail(subject=SUBJ_T), world(ticket(State.CLOSED)),
        Outcome.NEW_TICKET, (Rule.T2, Rule.N1), MatchedBy.SUBJECT, tickets=(n1(TK),)),
    Row("T2-N2", mail(subject=SUBJ_T, to=UNROUTED), world(ticket(State.CLOSED)),
        Outcome.NEW_TICKET, (Rule.T2, Rule.N2), MatchedBy.SUBJECT, tickets=(n2(TK),),
        replies=(AutoReplyKind.ADDRESS_NOT_CONFIGURED,)),
    Row("T2-N3", mail(subject=SUBJ_T, to=UNROUTED), world(ticket(State.CLOSED)),
        Outcome.UNHANDLED, (Rule.T2, Rule.N3), MatchedBy.SUBJECT, settings=UNHANDLED),
    Row("T3-C1", mail(subject=SUBJ_T), world(ticket(State.WAITING, CS), case(State.TODO, "bob")),
        Outcome.UPDATED, (Rule.T3, Rule.C1), MatchedBy.SUBJECT,
        (ItemUpdate(CS, assign_to_owner=True),)),
    Row("T3-C2", mail(subject=SUBJ_T), world(ticket(State.WAITING, CS), case(State.RESOLVED)),
        Outcome.UPDATED, (Rule.T3, Rule.C2), MatchedBy.SUBJECT, (ItemUpdate(CS, reopen=True),)),
    Row("T3-C3", mail(subject=SUBJ_T), world(ticket(State.WAITING, CS), case(State.CLOSED)),
        Outcome.NEW_TICKET, (Rule.T3, Rule.C3, Rule.N1), MatchedBy.SUBJECT, tickets=(n1(CS),)),
    Row("T4-to-do", mail(subject=SUBJ_T), world(ticket(State.TODO)),
        Outcome.UPDATED, (Rule.T4,), MatchedBy.SUBJECT, (ItemUpdate(TK),)),
    Row("T4-in-progress", mail(subject=SUBJ_T), world(ticket(State.IN_PROGRESS)),
        Outcome.UPDATED, (Rule.T4,), MatchedBy.SUBJECT, (ItemUpdate(TK),)),
    Row("T4-waiting", mail(subject=SUBJ_T), world(ticket(State.WAITING)),
        Outcome.UPDATED, (Rule.T4,), MatchedBy.SUBJECT, (ItemUpdate(TK),)),
    Row("T4-case-missing", mail(subject=SUBJ_T), world(ticket(State.WAITING, CS)),
        Outcome.UPDATED, (Rule.T4,), MatchedBy.SUBJECT, (ItemUpdate(TK),)),
    # -- New Tickets -----------------------------------------------------------
    Row("N1-single", mail(), world(), Outcome.NEW_TICKET, (Rule.N1,), tickets=(n1(),)),
    Row("N1-multiple-routes", mail(to=to("support@example.com"), cc=to("Billing@Example.com")),
        world(), Outcome.NEW_TICKET, (Rule.N1,),
        tickets=(n1(), n1(route="billing@example.com")),
        replies=(AutoReplyKind.ACKNOWLEDGEMENT,)),
    Row("N1-route-once", mail(to=to("support@example.com"), cc=to("support+x@example.com"),
                              delivered_to=to("support@example.com")),
        world(), Outcome.NEW_TICKET, (Rule.N1,), tickets=(n1(),)),
    Row("N1-plus-address-route", mail(to=to("support+urgent@example.com")), world(),
        Outcome.NEW_TICKET, (Rule.N1,), tickets=(n1(),)),
    Row("N1-delivered-to", mail(to=to("staff@lists.example"),
                                delivered_to=to("support@example.com")),
        world(), Outcome.NEW_TICKET, (Rule.N1,), tickets=(n1(),)),
    Row("N1-x-original-to", mail(to=to("alias@example.com"),
                                 x_original_to=to("billing@example.com")),
        world(), Outcome.NEW_TICKET, (Rule.N1,), tickets=(n1(route="billing@example.com"),),
        replies=(AutoReplyKind.ACKNOWLEDGEMENT,)),
    Row("N1-envelope-to", mail(to=(), envelope_to=to("support@example.com")), world(),
        Outcome.NEW_TICKET, (Rule.N1,), tickets=(n1(),)),
    Row("N1-resent-to", mail(to=to("x@elsewhere.example"), resent_to=to("support@example.com")),
        world(), Outcome.NEW_TICKET, (Rule.N1,), tickets=(n1(),)),
    Row("N2", mail(to=UNROUTED), world(), Outcome.NEW_TICKET, (Rule.N2,), tickets=(n2(),),
        replies=(AutoReplyKind.ADDRESS_NOT_CONFIGURED,)),
    Row("N2-written-to-channel", mail(to=to("team@partner.example"), cc=to("INFO@example.com")),
        world(), Outcome.NEW_TICKET, (Rule.N2,), tickets=(n2(recipient=CHANNEL),),
        replies=(AutoReplyKind.ADDRESS_NOT_CONFIGURED,)),
    Row("N2-no-recipients", mail(to=()), world(), Outcome.NEW_TICKET, (Rule.N2,),
        tickets=(n2(recipient=None),), replies=(AutoReplyKind.ADDRESS_NOT_CONFIGURED,)),
    Row("N3", mail(to=UNROUTED), world(), Outcome.UNHANDLED, (Rule.N3,), settings=UNHANDLED),
    # -- Before the handler ----------------------------------------------------
    Row("D1", mail(),
        with_(world(), lambda c: c.with_stored(7, "<m1@customer.example>", "hash-m1")),
        Outcome.IGNORED, (Rule.D1,)),
    Row("D1-no-message-id", mail(message_id=None),
        with_(world(), lambda c: c.with_stored(7, "<other@x>", "hash-m1")),
        Outcome.IGNORED, (Rule.D1,)),
    Row("D1-same-id-other-content", mail(),
        with_(world(), lambda c: c.with_stored(7, "<m1@customer.example>", "hash-other")),
        Outcome.NEW_TICKET, (Rule.N1,), tickets=(n1(),)),
    Row("D2-message-id", mail(subject=SUBJ_T),
        with_(world(ticket(State.TODO)), lambda c: c.with_own_message_id("<m1@customer.example>")),
        Outcome.IGNORED, (Rule.D2,)),
    Row("D2-marker", mail(from_=Address("Support@Example.com"),
                          headers={"x-postroom-marker": "1"}),
        world(), Outcome.IGNORED, (Rule.D2,)),
    Row("D2-marker-foreign-sender", mail(headers={"x-postroom-marker": "1"}), world(),
        Outcome.NEW_TICKET, (Rule.N1,), tickets=(n1(),)),
    Row("D3", mail(content_type="multipart/report",
                   report=DeliveryReport(("<out1@example.com>",), ("bob@x.example",))),
        with_(world(ticket(State.WAITING)),
              lambda c: c.with_outbound("<out1@example.com>", 42, TK)),
        Outcome.UPDATED, (Rule.D3,), updates=(ItemUpdate(TK, requeue=False),)),
    Row("D3-report-id-without-brackets",
        mail(report=DeliveryReport(("out1@example.com",))),
        with_(world(), lambda c: c.with_outbound("<out1@example.com>", 42)),
        Outcome.UPDATED, (Rule.D3,)),
    Row("DSN-not-ours", mail(to=UNROUTED, content_type="multipart/report",
                             report=DeliveryReport(("<unknown@x>",))),
        world(), Outcome.NEW_TICKET, (Rule.N2,), tickets=(n2(),), suppressed="multipart/report"),
    # -- Matching strategies ---------------------------------------------------
    Row("thread-in-reply-to", mail(in_reply_to="<out@example.com>"),
        with_(world(ticket(State.TODO)), lambda c: c.with_thread("<out@example.com>", TK)),
        Outcome.UPDATED, (Rule.T4,), MatchedBy.THREAD, (ItemUpdate(TK),)),
    Row("thread-references-newest-first",
        mail(references=("<a@x>", "<b@x>", "<c@x>")),
        with_(world(ticket(State.TODO), ticket(State.TODO, ref=TK2)),
              lambda c: c.with_thread("<a@x>", TK).with_thread("<b@x>", TK2)),
        Outcome.UPDATED, (Rule.T4,), MatchedBy.THREAD, (ItemUpdate(TK2),)),
    Row("thread-before-subject", mail(in_reply_to="<a@x>", subject="[100007-T]"),
        with_(world(ticket(State.TODO), ticket(State.TODO, ref=TK2)),
              lambda c: c.with_thread("<a@x>", TK)),
        Outcome.UPDATED, (Rule.T4,), MatchedBy.THREAD, (ItemUpdate(TK),)),
    Row("thread-id-without-brackets", mail(in_reply_to="out@example.com"),
        with_(world(ticket(State.TODO)), lambda c: c.with_thread("<out@example.com>", TK)),
        Outcome.UPDATED, (Rule.T4,), MatchedBy.THREAD, (ItemUpdate(TK),)),
    Row("thread-two-tickets-first", mail(in_reply_to="<a@x>"),
        with_(world(ticket(State.TODO, ref=TK2), ticket(State.TODO, ref=TK3)),
              lambda c: c.with_thread("<a@x>", TK2, TK3)),
        Outcome.UPDATED, (Rule.T4,), MatchedBy.THREAD, (ItemUpdate(TK2),)),
    Row("thread-off", mail(in_reply_to="<a@x>", subject="[100007-T]"),
        with_(world(ticket(State.TODO), ticket(State.TODO, ref=TK2)),
              lambda c: c.with_thread("<a@x>", TK)),
        Outcome.UPDATED, (Rule.T4,), MatchedBy.SUBJECT, (ItemUpdate(TK2),),
        settings=OFF["thread"]),
    Row("plus-address", mail(to=to("support+101203-t@example.com")), world(ticket(State.TODO)),
        Outcome.UPDATED, (Rule.T4,), MatchedBy.PLUS_ADDRESS, (ItemUpdate(TK),)),
    Row("plus-address-channel", mail(to=to("x@y.example"), cc=to("info+101203-T@example.com")),
        world(ticket(State.TODO)),
        Outcome.UPDATED, (Rule.T4,), MatchedBy.PLUS_ADDRESS, (ItemUpdate(TK),)),
    Row("plus-address-foreign-domain", mail(to=to("support+101203-T@other.example")),
        world(ticket(State.TODO)), Outcome.NEW_TICKET, (Rule.N2,),
        tickets=(n2(recipient="support+101203-t@other.example"),),
        replies=(AutoReplyKind.ADDRESS_NOT_CONFIGURED,)),
    Row("plus-address-off", mail(to=to("support+101203-T@example.com")),
        world(ticket(State.TODO)), Outcome.NEW_TICKET, (Rule.N1,), tickets=(n1(),),
        settings=OFF["plus"]),
    Row("subject", mail(subject="Payroll question (ref 101203-T)"), world(ticket(State.TODO)),
        Outcome.UPDATED, (Rule.T4,), MatchedBy.SUBJECT, (ItemUpdate(TK),)),
    Row("subject-off", mail(subject=SUBJ_T), world(ticket(State.TODO)),
        Outcome.NEW_TICKET, (Rule.N1,), tickets=(n1(),), settings=OFF["subject"]),
    Row("subject-off-body-hit", mail(subject=SUBJ_T, body_text="About 100007-T."),
        world(ticket(State.TODO), ticket(State.TODO, ref=TK2)),
        Outcome.UPDATED, (Rule.T4,), MatchedBy.BODY, (ItemUpdate(TK2),), settings=OFF["subject"]),
    Row("subject-skips-unknown", mail(subject="999999-T, 101203-T"), world(ticket(State.TODO)),
        Outcome.UPDATED, (Rule.T4,), MatchedBy.SUBJECT, (ItemUpdate(TK),)),
    Row("subject-unknown-falls-to-body", mail(subject="999999-T", body_text="see 101203-T"),
        world(ticket(State.TODO)),
        Outcome.UPDATED, (Rule.T4,), MatchedBy.BODY, (ItemUpdate(TK),)),
    Row("body", mail(body_text="Hello,\n> On ... wrote:\n> [101203-T]\n"),
        world(ticket(State.TODO)),
        Outcome.UPDATED, (Rule.T4,), MatchedBy.BODY, (ItemUpdate(TK),)),
    Row("body-html-only", mail(body_text="", html="<p>Ref</p><p>101203-T</p>"),
        world(ticket(State.TODO)),
        Outcome.UPDATED, (Rule.T4,), MatchedBy.BODY, (ItemUpdate(TK),)),
    Row("body-off", mail(body_text="see 101203-T"), world(ticket(State.TODO)),
        Outcome.NEW_TICKET, (Rule.N1,), tickets=(n1(),), settings=OFF["body"]),
    Row("body-ends-at-limit", mail(body_text=long_body(BODY_LIMIT)), world(ticket(State.TODO)),
        Outcome.UPDATED, (Rule.T4,), MatchedBy.BODY, (ItemUpdate(TK),)),
    Row("body-ends-beyond-limit", mail(body_text=long_body(BODY_LIMIT + 1)),
        world(ticket(State.TODO)), Outcome.NEW_TICKET, (Rule.N1,), tickets=(n1(),)),
    Row("word-boundary", mail(subject="Order x101203-Ty"), world(ticket(State.TODO)),
        Outcome.NEW_TICKET, (Rule.N1,), tickets=(n1(),)),
    # -- Automated replies -----------------------------------------------------
    Row("reply-to-used", mail(to=UNROUTED, reply_to=to("desk@customer.example")), world(),
        Outcome.NEW_TICKET, (Rule.N2,), tickets=(n2(),),
        replies=(AutoReplyKind.ADDRESS_NOT_CONFIGURED,)),
    Row("auto-submitted-no", automatic({"auto-submitted": "no"}), world(),
        Outcome.NEW_TICKET, (Rule.N2,), tickets=(n2(),),
        replies=(AutoReplyKind.ADDRESS_NOT_CONFIGURED,)),
    Row("return-path-present", automatic({"return-path": "<alice@customer.example>"}), world(),
        Outcome.NEW_TICKET, (Rule.N2,), tickets=(n2(),),
        replies=(AutoReplyKind.ADDRESS_NOT_CONFIGURED,)),
    Row("no-from", automatic(from_=None), world(), Outcome.NEW_TICKET, (Rule.N2,),
        tickets=(n2(),), suppressed="no From"),
    Row("no-from-but-reply-to", automatic(from_=None, reply_to=to("a@b.example")), world(),
        Outcome.NEW_TICKET, (Rule.N2,), tickets=(n2(),), suppressed="no From"),
    Row("ack-suppressed-automatic", mail(to=to("billing@example.com"),
                                        headers={"precedence": "bulk"}),
        world(), Outcome.NEW_TICKET, (Rule.N1,), tickets=(n1(route="billing@example.com"),),
        suppressed="Precedence: bulk"),
    Row("rate-limit", mail(to=UNROUTED),
        with_(world(), lambda c: c.with_replies("alice@customer.example", *(
            NOW - timedelta(minutes=m) for m in (5, 20, 50)))),
        Outcome.NEW_TICKET, (Rule.N2,), tickets=(n2(),), suppressed="rate limit"),
    Row("rate-limit-window-passed", mail(to=UNROUTED),
        with_(world(), lambda c: c.with_replies("Alice@Customer.example", *(
            NOW - timedelta(minutes=m) for m in (5, 20, 61)))),
        Outcome.NEW_TICKET, (Rule.N2,), tickets=(n2(),),
        replies=(AutoReplyKind.ADDRESS_NOT_CONFIGURED,)),
    Row("rate-limit-acks-count-together",
        mail(to=to("billing@example.com", "sales@example.com")),
        with_(world(), lambda c: c.with_route(SALES).with_replies(
            "alice@customer.example", NOW - timedelta(minutes=1), NOW - timedelta(minutes=2))),
        Outcome.NEW_TICKET, (Rule.N1,),
        tickets=(n1(route="billing@example.com"), n1(route="sales@example.com")),
        replies=(AutoReplyKind.ACKNOWLEDGEMENT,), suppressed="rate limit"),
]

AUTOMATIC_SIGNALS: list[tuple[str, ParsedMail, str]] = [
    ("auto-submitted", automatic({"auto-submitted": "auto-replied"}), "Auto-Submitted"),
    ("auto-generated", automatic({"auto-submitted": "auto-generated; x=1"}), "Auto-Submitted"),
    ("x-autoreply", automatic({"x-autoreply": "yes"}), "X-Autoreply"),
    ("x-autorespond", automatic({"x-autorespond": "vacation"}), "X-Autorespond"),
    ("precedence-bulk", automatic({"precedence": "bulk"}), "Precedence: bulk"),
    ("precedence-junk", automatic({"precedence": "Junk"}), "Precedence: junk"),
    ("precedence-list", automatic({"precedence": "list"}), "Precedence: list"),
    ("list-id", automatic({"list-id": "<team.lists.example>"}), "List-Id"),
    ("multipart-report", automatic(content_type="multipart/report"), "multipart/report"),
    ("return-path-empty", automatic({"return-path": "<>"}), "Return-Path: <>"),
    ("mailer-daemon", automatic(from_=Address("MAILER-DAEMON@mx.example")), "system mailbox"),
    ("postmaster", automatic(from_=Address("postmaster@mx.example")), "system mailbox"),
    ("no-reply", automatic(from_=Address("no-reply@shop.example")), "system mailbox"),
    ("noreply", automatic(from_=Address("NoReply@shop.example")), "system mailbox"),
    ("do-not-reply", automatic(from_=Address("do-not-reply@bank.example")), "system mailbox"),
    ("reply-to-noreply", automatic(reply_to=to("noreply@shop.example")), "system mailbox"),
    ("own-address", automatic(from_=Address("Support@example.com")), "our own addresses"),
]

# fmt: on

for _name, _mail, _why in AUTOMATIC_SIGNALS:
    ROWS.append(
        Row(
            f"suppressed-{_name}",
            _mail,
            world(),
            Outcome.NEW_TICKET,
            (Rule.N2,),
            tickets=(n2(),),
            suppressed=_why,
        )
    )


def _run(row: Row) -> Decision:
    return decide(row.mail, row.ctx(), row.settings, NOW)


@pytest.mark.parametrize("row", ROWS, ids=[r.id for r in ROWS])
def test_decision_table(row: Row) -> None:
    d = _run(row)
    assert (d.outcome, d.rule, d.path, d.matched_by) == (
        row.outcome,
        row.path[-1],
        row.path,
        row.matched_by,
    ), d.trace
    assert d.updates == row.updates
    tickets = tuple(
        (t.route.address if t.route else None, t.recipient, t.linked_to, t.resolve)
        for t in d.new_tickets
    )
    assert tickets == row.tickets
    assert tuple(r.kind for r in d.auto_replies) == row.replies
    if row.suppressed is None:
        assert d.suppressed_auto_reply is None
    else:
        assert d.suppressed_auto_reply is not None
        assert row.suppressed in d.suppressed_auto_reply
    assert d.reason.endswith(".")
    assert d.trace
