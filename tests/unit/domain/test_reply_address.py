"""Who may receive mail Postroom writes: fully qualified addresses only (issue 10, item 8).

`Reply-To: all-staff` once led a relay to deliver an acknowledgement to
``all-staff@<its own domain>``.  The rule is pure: a table of unqualified forms,
generated qualified ones, and the choice between Reply-To and From, down to
what the handler decides and records.
"""

from __future__ import annotations

import string
from dataclasses import replace
from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from postroom.domain import automatic
from postroom.domain.automatic import address_problem, reply_address
from postroom.domain.handler import decide
from postroom.domain.mail import Address, ParsedMail
from postroom.domain.ports import HandlerSettings
from postroom.domain.routes import Route
from unit.domain.fakes import InMemoryHandlerContext

NOW = datetime(2025, 3, 4, 12, 0, tzinfo=UTC)
SUPPORT = Route("support@example.com", "Acme/Payroll", "Query", "support", acknowledge=True)

UNQUALIFIED = [
    "all-staff",
    "",
    " ",
    "@",
    "@@",
    "@example.com",
    "user@",
    "user@localhost",
    "user@LOCALHOST",
    "user@mail",
    "user@intranet-01",
    "user@host.localhost",
    "root@localhost.localdomain",
    "staff@corp.local",
    "staff@dc1.internal",
    '"all staff"@example.com',
    '"all-staff"@example.com',
    '"a"@example.com',
    "all staff@example.com",
    "user@@example.com",
    "a@b@example.com",
    "user@-bad.example.com",
    "user@bad-.example.com",
    "user@exa_mple.com",
    "user@example..com",
    "user@.example.com",
    "user@example.com.",
    "user@[192.0.2.1]",
    "user@192.0.2.1",
    "user@example.123",
    ".user@example.com",
    "user.@example.com",
    "us..er@example.com",
    "user(comment)@example.com",
    "user,other@example.com",
    "<user@example.com>",
    "user@example.com\x00",
    "us\ter@example.com",
    "user\x1b[2J@example.com",
    "user@exam\u2028ple.com",
    "us\x85er@example.com",
    "user\x7f@example.com",
    # internationalised (RFC 6531), but not writable as they are
    "jos\u00e9\u202e@example.com",  # a bidi override (Cf)
    "jo\u200bs\u00e9@example.com",  # a zero-width space (Cf)
    "jos\u00e9\u00a0@example.com",  # a no-break space
    "jos\u00e9\u3000x@example.com",  # an ideographic space
    "\u00e9" * 33 + "@example.com",  # 66 octets of local part
    "jos\u00e9..x@example.com",
    "jos\u00e9@b\u00fccher",
    "user@b\u00fccher-.example",
    "user@\u0301b\u00fccher.example",  # a U-label cannot start with a combining mark
    "user@stra\u00dfe.example",  # IDNA 2003 and 2008 disagree: strasse or stra\u00dfe
    "user@" + "\u00e9" * 60 + ".example",  # an A-label longer than 63
    "user@b\u00fccher.\u0661\u0662",  # digits, in another script
    "user@mail.corp\u3002local",  # an ideographic full stop: mail.corp.local to a relay
    "user@198.51.100\u30021",  # 198.51.100.1 to a relay
    "x" * 65 + "@example.com",
    "user@" + "a" * 64 + ".example.com",
    "user@" + ".".join(["abcdefghi"] * 30) + ".com",
]


@pytest.mark.parametrize("address", UNQUALIFIED)
def test_unqualified_and_unwritable_forms_are_refused_with_a_reason(address: str) -> None:
    problem = address_problem(address)
    assert problem is not None
    assert problem.strip()


_ATEXT = string.ascii_letters + string.digits + "!#$%&'*+-/=?^_`{|}~"
_LDH = string.ascii_letters + string.digits


@st.composite
def qualified(draw: st.DrawFn) -> str:
    words = draw(st.lists(st.text(_ATEXT, min_size=1, max_size=12), min_size=1, max_size=3))
    local = ".".join(words)
    labels = draw(
        st.lists(
            st.builds(
                lambda a, mid, b: a + mid + b,
                st.text(_LDH, min_size=1, max_size=1),
                st.text(_LDH + "-", max_size=20),
                st.text(_LDH, min_size=1, max_size=1),
            ),
            min_size=1,
            max_size=3,
        )
    )
    tld = draw(st.text(string.ascii_letters, min_size=2, max_size=6))
    if tld.lower() in ("local", "localhost", "localdomain", "internal"):
        tld = "com"
    return f"{local}@{'.'.join(labels)}.{tld}"


INTERNATIONAL = [
    "chlo\u00e9.garcia@example.com",
    "jos\u00e9@customer.test",
    "\u00e9l\u00e8ve@customer.test",
    "\u5f20\u4f1f@example.com",
    "user@b\u00fccher.example",
    "user@B\u00dcCHER.example",
    "\u043f\u043e\u0447\u0442\u0430@\u043f\u0440\u0438\u043c\u0435\u0440.\u0440\u0444",
    "\u5f20\u4f1f@\u4f8b\u5b50.\u4e2d\u56fd",
    "user@\u0645\u062b\u0627\u0644.example",
    "user@xn--bcher-kva.example",
    "\u00e9" * 32 + "@example.com",  # 64 octets
    "d\u00e9sk+ticket.1@b\u00fccher-haus.example",
]


@pytest.mark.parametrize("address", INTERNATIONAL)
def test_internationalised_addresses_are_accepted(address: str) -> None:
    assert address_problem(address) is None


@pytest.mark.parametrize(
    ("address", "why"),
    [
        ("jos\u00e9\u202e@example.com", "format character (U+202E)"),
        ("x\udce9@example.com", "surrogate"),
        ("user@stra\u00dfe.example", "U-label"),
        ("\u00e9" * 33 + "@example.com", "64 octets"),
        ("user@\u0301b\u00fccher.example", "combining mark"),
        ("user@b\u00fccher\u3002example.com", "a dot other than"),
    ],
)
def test_an_internationalised_address_is_refused_with_its_reason(address: str, why: str) -> None:
    assert why in (address_problem(address) or "")


@settings(max_examples=300, deadline=None)
@given(qualified())
def test_generated_qualified_addresses_are_accepted(address: str) -> None:
    assert address_problem(address) is None, address


@settings(max_examples=200, deadline=None)
@given(
    st.text(
        st.characters(categories=["Ll", "Lu", "Lo", "Nd", "So"], min_codepoint=0x80),
        min_size=1,
        max_size=6,  # 24 octets at most: the local part stays within 64
    ),
    qualified(),
)
def test_any_non_ascii_letters_make_a_writable_local_part(word: str, address: str) -> None:
    assert address_problem(f"{word}.{address}") is None, word


MAIL = ParsedMail(
    from_=Address("Carol@Customer.example"),
    to=(Address("support@example.com"),),
    message_id="<m1@customer.example>",
    content_hash="h1",
)


@pytest.mark.parametrize("bad", UNQUALIFIED)
def test_an_unqualified_reply_to_falls_back_to_from(bad: str) -> None:
    chosen = reply_address(replace(MAIL, reply_to=(Address(bad),)))
    assert chosen.address is not None
    assert chosen.address.address == "Carol@Customer.example"
    assert chosen.skipped  # why the Reply-To was passed over is kept


@pytest.mark.parametrize("address", INTERNATIONAL)
def test_the_handler_acknowledges_an_internationalised_sender_as_written(address: str) -> None:
    ctx = InMemoryHandlerContext().with_route(SUPPORT)
    mail = replace(MAIL, from_=Address(address))
    d = decide(mail, ctx, HandlerSettings(), NOW)
    assert [r.to for r in d.auto_replies] == [Address(address).normalized]
    assert d.suppressed_auto_reply is None


def test_the_first_qualified_reply_to_wins_over_from() -> None:
    mail = replace(MAIL, reply_to=(Address("all-staff"), Address("Desk@Partner.example")))
    assert reply_address(mail).address == Address("Desk@Partner.example")


@pytest.mark.parametrize("bad", UNQUALIFIED)
def test_nothing_qualified_means_no_address_and_a_reason(bad: str) -> None:
    mail = replace(MAIL, from_=Address(bad), reply_to=(Address("all-staff"),))
    chosen = reply_address(mail)
    assert chosen.address is None
    assert "all-staff" in chosen.why


@pytest.mark.parametrize("bad", UNQUALIFIED)
def test_the_handler_acknowledges_the_qualified_from_instead(bad: str) -> None:
    ctx = InMemoryHandlerContext().with_route(SUPPORT)
    d = decide(replace(MAIL, reply_to=(Address(bad),)), ctx, HandlerSettings(), NOW)
    assert [r.to for r in d.auto_replies] == ["carol@customer.example"]
    assert any("Reply-To" in line for line in d.trace)


@pytest.mark.parametrize("bad", UNQUALIFIED)
def test_the_handler_sends_nothing_and_records_why(bad: str) -> None:
    ctx = InMemoryHandlerContext().with_route(SUPPORT)
    mail = replace(MAIL, from_=Address(bad), reply_to=(Address("all-staff"),))
    d = decide(mail, ctx, HandlerSettings(), NOW)
    assert d.auto_replies == ()
    assert d.suppressed_auto_reply is not None
    expected = "no From address" if not bad.strip() else "fully qualified"
    assert expected in d.suppressed_auto_reply
    assert len(d.new_tickets) == 1  # the Ticket is opened all the same


def test_a_long_reply_to_is_described_in_a_few_lines() -> None:
    # A Reply-To of 600 KB holds 100,000 unqualified addresses: one trace line each
    # made 11 MB of trace for one message.
    mail = replace(MAIL, reply_to=tuple(Address(f"desk{i}@intranet") for i in range(10_000)))
    chosen = reply_address(mail)
    assert chosen.address == MAIL.from_
    assert len(chosen.skipped) == 11
    assert chosen.skipped[-1] == "9990 more addresses passed over"
    d = decide(mail, InMemoryHandlerContext().with_route(SUPPORT), HandlerSettings(), NOW)
    assert [r.to for r in d.auto_replies] == ["carol@customer.example"]
    assert len(d.trace) < 30


def test_a_long_reply_to_is_judged_only_so_far(monkeypatch: pytest.MonkeyPatch) -> None:
    # A Reply-To of 600 KB holds 3,000 addresses of IDNA labels, each ~2 ms to judge.
    judged: list[str] = []
    real = automatic.address_problem

    def counting(address: str, *, qualified: bool = True) -> str | None:
        judged.append(address)
        return real(address, qualified=qualified)

    monkeypatch.setattr(automatic, "address_problem", counting)
    mail = replace(MAIL, reply_to=tuple(Address(f"desk{i}@b\u00fccher.local") for i in range(3000)))
    chosen = reply_address(mail)
    assert chosen.address == MAIL.from_
    assert len(judged) == automatic._MAX_EXAMINED + 1  # and From
    assert chosen.skipped[-1] == f"{3000 - automatic._MAX_SKIPPED} more addresses passed over"
