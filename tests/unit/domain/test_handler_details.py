"""What the decision table rows do not show: addressing of replies, ids carried
for D1/D3, the trace and reason `explain` prints, the order of the early rules,
and that odd mail never makes the handler raise."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

from hypothesis import given, settings
from hypothesis import strategies as st

from postroom.domain.decision import AutoReplyKind, MatchedBy, Outcome, Rule
from postroom.domain.handler import decide
from postroom.domain.mail import Address, DeliveryReport, ParsedMail
from postroom.domain.ports import HandlerSettings, UnroutedPolicy
from postroom.domain.routes import Route
from postroom.domain.workitems import ItemType, Reference, State, WorkItemView
from unit.domain.fakes import InMemoryHandlerContext

NOW = datetime(2025, 3, 4, 12, 0, tzinfo=UTC)
TK = Reference(101203, ItemType.TICKET)
SUPPORT = Route("support@example.com", "Acme/Payroll", "Query", "support", acknowledge=True)
BILLING = Route("billing@example.com", "Acme/Billing", "Invoice", "billing", acknowledge=True)
MAIL = ParsedMail(
    from_=Address("Alice@Customer.example"),
    to=(Address("support@example.com"),),
    message_id="<m1@customer.example>",
    content_hash="h1",
)


def ctx() -> InMemoryHandlerContext:
    return InMemoryHandlerContext().with_route(SUPPORT).with_route(BILLING)


def test_acknowledgements_are_sent_from_each_route_to_the_sender() -> None:
    mail = replace(MAIL, cc=(Address("billing+x@example.com"),))
    d = decide(mail, ctx(), HandlerSettings(), NOW)
    assert [(r.kind, r.to, r.sender, r.ticket_index) for r in d.auto_replies] == [
        (AutoReplyKind.ACKNOWLEDGEMENT, "alice@customer.example", "support@example.com", 0),
        (AutoReplyKind.ACKNOWLEDGEMENT, "alice@customer.example", "billing@example.com", 1),
    ]
    assert [t.route for t in d.new_tickets] == [SUPPORT, BILLING]


def test_address_not_configured_goes_to_reply_to_from_the_address_written_to() -> None:
    mail = replace(
        MAIL,
        to=(Address("someone@partner.example"),),
        delivered_to=(Address("Desk@Example.com"),),
        reply_to=(Address("Helpdesk@Customer.example"),),
    )
    d = decide(mail, ctx().with_address("desk@example.com"), HandlerSettings(), NOW)
    assert d.rule is Rule.N2
    (reply,) = d.auto_replies
    assert (reply.to, reply.sender) == ("helpdesk@customer.example", "desk@example.com")
    (ticket,) = d.new_tickets
    assert (ticket.route, ticket.recipient, ticket.resolve) == (None, "desk@example.com", True)


def test_limit_zero_suppresses_every_reply() -> None:
    d = decide(MAIL, ctx(), HandlerSettings(autoreply_limit=0), NOW)
    assert d.auto_replies == ()
    assert d.suppressed_auto_reply is not None
    assert "rate limit" in d.suppressed_auto_reply


def test_d1_carries_the_stored_id_and_wins_over_d2() -> None:
    world = (
        ctx()
        .with_stored(9, "<m1@customer.example>", "h1")
        .with_own_message_id("<m1@customer.example>")
    )
    d = decide(MAIL, world, HandlerSettings(), NOW)
    assert (d.outcome, d.rule, d.duplicate_of) == (Outcome.IGNORED, Rule.D1, 9)
    assert (d.new_tickets, d.updates, d.auto_replies) == ((), (), ())


def test_d2_wins_over_d3() -> None:
    mail = replace(MAIL, report=DeliveryReport(("<out@example.com>",)))
    world = ctx().with_outbound("<out@example.com>", 3).with_own_message_id("<m1@customer.example>")
    assert decide(mail, world, HandlerSettings(), NOW).rule is Rule.D2


def test_d3_names_the_bounced_outbound_and_never_replies() -> None:
    mail = replace(
        MAIL,
        from_=Address("MAILER-DAEMON@mx.example"),
        report=DeliveryReport(("<gone@x>", "<out@example.com>")),
    )
    world = ctx().with_outbound("<out@example.com>", 3)
    d = decide(mail, world, HandlerSettings(), NOW)
    assert (d.outcome, d.rule, d.bounced_outbound) == (Outcome.UPDATED, Rule.D3, 3)
    assert (d.new_tickets, d.auto_replies) == ((), ())
    assert d.matched_by is None


def test_trace_lists_every_strategy_tried() -> None:
    world = ctx().with_item(WorkItemView(TK, State.TODO))
    mail = replace(MAIL, in_reply_to="<nope@x>", subject="999999-T", body_text="101203-T")
    d = decide(mail, world, HandlerSettings(match_plus=False), NOW)
    assert d.matched_by is MatchedBy.BODY
    text = "\n".join(d.trace)
    for expected in (
        "D1: not a duplicate",
        "D2: not own mail",
        "D3: not a delivery report",
        "thread: <nope@x> is no stored message",
        "thread: miss",
        "plus-address: switched off",
        "subject: 999999-T names no work item, skipped",
        "subject: miss",
        "body: hit 101203-T",
        "T4:",
    ):
        assert expected in text
    assert d.reason == (
        "Ticket 101203-T found by reference in the body; "
        "Ticket 101203-T is to-do: updated and put back in queue."
    )


def test_reason_follows_the_chain() -> None:
    case_ref = Reference(101203, ItemType.CASE)
    world = (
        ctx()
        .with_item(WorkItemView(TK, State.WAITING, case=case_ref))
        .with_item(WorkItemView(case_ref, State.CLOSED))
    )
    d = decide(replace(MAIL, subject="[101203-T]"), world, HandlerSettings(), NOW)
    assert d.path == (Rule.T3, Rule.C3, Rule.N1)
    assert "started Case 101203-C" in d.reason
    assert "Case 101203-C is closed" in d.reason
    assert "linked to 101203-C" in d.reason


def test_the_handler_only_reads_the_context() -> None:
    world = ctx().with_item(WorkItemView(TK, State.TODO))
    before = (dict(world.items), dict(world.threads), list(world.replies))
    decide(replace(MAIL, subject="101203-T"), world, HandlerSettings(), NOW)
    assert (world.items, world.threads, world.replies) == before


addresses = st.builds(
    Address,
    st.one_of(
        st.just(""),
        st.just("support@example.com"),
        st.just("support+101203-T@example.com"),
        st.text(max_size=30),
    ),
)
odd_mail = st.builds(
    ParsedMail,
    from_=st.one_of(st.none(), addresses),
    to=st.tuples(addresses) | st.just(()),
    cc=st.lists(addresses, max_size=2).map(tuple),
    reply_to=st.lists(addresses, max_size=2).map(tuple),
    delivered_to=st.lists(addresses, max_size=1).map(tuple),
    subject=st.text(max_size=40) | st.just("[101203-T]"),
    message_id=st.one_of(st.none(), st.text(max_size=20)),
    in_reply_to=st.one_of(st.none(), st.text(max_size=20), st.just("<a@x> <b@x>")),
    references=st.lists(st.text(max_size=20), max_size=3).map(tuple),
    body_text=st.text(max_size=200),
    html=st.one_of(st.none(), st.text(max_size=100), st.just("<p>101203-C-A2</p><script>")),
    content_type=st.sampled_from(["text/plain", "multipart/report", "", "garbage"]),
    report=st.one_of(
        st.none(), st.builds(DeliveryReport, st.lists(st.text(max_size=10), max_size=2).map(tuple))
    ),
    headers=st.dictionaries(
        st.sampled_from(["auto-submitted", "precedence", "return-path", "x-postroom-marker"]),
        st.text(max_size=10),
    ),
)


@settings(max_examples=200, deadline=None)
@given(odd_mail, st.sampled_from(list(State)), st.booleans())
def test_odd_mail_never_raises(mail: ParsedMail, state: State, unhandled: bool) -> None:
    world = (
        ctx().with_item(WorkItemView(TK, state)).with_thread("<a@x>", TK).with_outbound("<b@x>", 1)
    )
    policy = HandlerSettings(
        unrouted_policy=UnroutedPolicy.UNHANDLED if unhandled else UnroutedPolicy.AUTO_REPLY
    )
    d = decide(mail, world, policy, NOW)
    assert d.path
    assert d.rule is d.path[-1]
    assert d.reason
