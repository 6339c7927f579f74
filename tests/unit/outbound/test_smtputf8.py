"""Internationalised addresses (RFC 6531) and one connection for a whole batch.

A non-ASCII address goes in an SMTPUTF8 transaction when the server offers it, and is
refused on its own, with its reason, when it does not; either way the connection stays
open for the next message. Only a lost connection or a 421 ends it.
"""

from __future__ import annotations

import pytest

from postroom.net.connection import MailUrl
from postroom.outbound import SmtpConnection
from postroom.outbound.envelope import NO_SMTPUTF8, NO_SMTPUTF8_HEADERS, plan, unwritable
from postroom.outbound.wire import header_is_8bit
from postroom.ports.sending import RecipientOutcome, SmtpServer
from unit.outbound.fake_smtp import Script, fake_smtp

CHLOE = "chlo\u00e9.garcia@customer.test"
DESK = "desk@example.test"
RAW = b"From: desk@example.test\r\nTo: x@customer.test\r\nSubject: hi\r\n\r\nbody\r\n"
UTF8_HEADERS = f"From: {DESK}\r\nTo: {CHLOE}\r\nSubject: hi\r\n\r\nbody\r\n".encode()


def server(port: int) -> SmtpServer:
    return SmtpServer(MailUrl.parse(f"smtp://127.0.0.1:{port}?tls=none"), timeout=5)


def test_without_smtputf8_a_batch_keeps_its_connection_past_non_ascii_addresses() -> None:
    with fake_smtp(Script()) as (script, port), SmtpConnection.open(server(port)) as conn:
        first = conn.send(DESK, ["a@customer.test"], RAW)
        mixed = conn.send(DESK, [CHLOE, "bob@customer.test"], RAW)
        from_chloe = conn.send(CHLOE, ["c@customer.test"], RAW)
        last = conn.send(DESK, ["d@customer.test"], RAW)
        assert not conn.broken
    assert script.connections == 1
    assert [r.outcome for r in (first.recipients + last.recipients)] == [
        RecipientOutcome.ACCEPTED
    ] * 2
    chloe, bob = mixed.recipients
    assert (chloe.address, chloe.outcome, chloe.code) == (CHLOE, RecipientOutcome.REFUSED, None)
    assert "SMTPUTF8" in chloe.reply
    assert bob.outcome is RecipientOutcome.ACCEPTED and not mixed.connection_lost
    ((address, outcome, code, reply),) = [
        (r.address, r.outcome, r.code, r.reply) for r in from_chloe.recipients
    ]
    assert (address, outcome, code) == ("c@customer.test", RecipientOutcome.REFUSED, None)
    assert "MAIL FROM" in reply and "SMTPUTF8" in reply
    assert [d.recipients for d in script.delivered] == [
        ["a@customer.test"],
        ["bob@customer.test"],
        ["d@customer.test"],
    ]
    assert all(line.isascii() for line in script.raw_lines)  # nothing encoded or respelled


def test_with_smtputf8_the_address_goes_as_it_is_and_the_next_message_is_plain() -> None:
    with (
        fake_smtp(Script(smtputf8=True)) as (script, port),
        SmtpConnection.open(server(port)) as conn,
    ):
        utf8 = conn.send(CHLOE, [CHLOE, "bob@customer.test"], RAW)
        plain = conn.send(DESK, ["d@customer.test"], RAW)
    assert [r.outcome for r in utf8.recipients + plain.recipients] == [
        RecipientOutcome.ACCEPTED
    ] * 3
    assert script.envelope == [
        f"MAIL FROM:<{CHLOE}> BODY=8BITMIME SMTPUTF8",
        f"RCPT TO:<{CHLOE}>",
        "RCPT TO:<bob@customer.test>",
        f"MAIL FROM:<{DESK}>",
        "RCPT TO:<d@customer.test>",
    ]
    assert f"RCPT TO:<{CHLOE}>\r\n".encode() in script.raw_lines  # UTF-8, not an encoded word
    assert script.delivered[0].sender == CHLOE
    assert script.delivered[0].recipients == [CHLOE, "bob@customer.test"]


@pytest.mark.parametrize(
    ("smtputf8", "outcome", "parameters"),
    [
        (True, RecipientOutcome.ACCEPTED, " BODY=8BITMIME SMTPUTF8"),
        (False, RecipientOutcome.REFUSED, None),
    ],
)
def test_utf8_header_fields_need_smtputf8_even_with_an_ascii_envelope(
    smtputf8: bool, outcome: RecipientOutcome, parameters: str | None
) -> None:
    with (
        fake_smtp(Script(smtputf8=smtputf8)) as (script, port),
        SmtpConnection.open(server(port)) as conn,
    ):
        result = conn.send(DESK, ["x@customer.test"], UTF8_HEADERS)
        after = conn.send(DESK, ["y@customer.test"], RAW)
    assert [r.outcome for r in result.recipients] == [outcome]
    assert after.accepted and script.connections == 1
    mails = [line for line in script.envelope if line.startswith("MAIL")]
    if parameters is None:
        assert result.recipients[0].reply == NO_SMTPUTF8_HEADERS
        assert mails == [f"MAIL FROM:<{DESK}>"]  # the refused message never started
    else:
        assert mails[0] == f"MAIL FROM:<{DESK}>{parameters}"


@pytest.mark.parametrize("bad", ["evil@customer.test\r\nRSET", "nul\x00@customer.test"])
def test_an_address_no_command_can_carry_is_refused_alone(bad: str) -> None:
    with fake_smtp() as (script, port), SmtpConnection.open(server(port)) as conn:
        result = conn.send(DESK, ["a@customer.test", bad], RAW)
        after = conn.send(DESK, ["b@customer.test"], RAW)
        assert not conn.broken
    assert [(r.outcome, r.code) for r in result.recipients] == [
        (RecipientOutcome.ACCEPTED, 250),
        (RecipientOutcome.REFUSED, None),
    ]
    assert "control character" in result.recipients[1].reply
    assert after.accepted and script.connections == 1
    assert [d.recipients for d in script.delivered] == [["a@customer.test"], ["b@customer.test"]]


def test_refusals_of_one_message_leave_the_connection_to_the_next() -> None:
    script = Script(
        replies={"DATA": ["554 5.6.0 line too long", "250 ok"]},
        rcpt={"gone@customer.test": "550 5.1.1 no such user"},
    )
    with fake_smtp(script) as (_, port), SmtpConnection.open(server(port)) as conn:
        refused = conn.send(DESK, ["a@customer.test"], RAW)
        gone = conn.send(DESK, ["gone@customer.test"], RAW)
        sent = conn.send(DESK, ["b@customer.test"], RAW)
        assert not conn.broken
    assert refused.refused and gone.refused and sent.accepted
    assert script.connections == 1 and script.commands.count("RSET") == 2


def test_a_421_ends_the_connection() -> None:
    script = Script(rcpt={"a@customer.test": "421 4.4.2 closing"})
    with fake_smtp(script) as (_, port), SmtpConnection.open(server(port)) as conn:
        result = conn.send(DESK, ["a@customer.test", CHLOE], RAW)
        assert conn.broken and result.connection_lost
    assert [(r.outcome, r.code) for r in result.recipients] == [
        (RecipientOutcome.DEFERRED, 421),
        (RecipientOutcome.REFUSED, None),  # its own reason stands: retrying will not help
    ]


# ---------------------------------------------------------------------- the plan, pure
def test_plan_chooses_parameters_from_content_and_addresses() -> None:
    ascii_ = plan(DESK, ["x@customer.test"], RAW, smtputf8=True, eightbitmime=True)
    body_8bit = plan(
        DESK, ["x@customer.test"], RAW + "\u00e9\r\n".encode(), smtputf8=True, eightbitmime=True
    )
    no_8bitmime = plan(CHLOE, [CHLOE], RAW, smtputf8=True, eightbitmime=False)
    assert (ascii_.parameters, ascii_.utf8) == ((), False)
    assert (body_8bit.parameters, body_8bit.utf8) == (("BODY=8BITMIME",), False)
    assert (no_8bitmime.parameters, no_8bitmime.utf8) == (("SMTPUTF8",), True)


def test_plan_refuses_per_recipient_and_keeps_the_order() -> None:
    envelope = plan(
        DESK, ["a@customer.test", CHLOE, "b@customer.test"], RAW, smtputf8=False, eightbitmime=True
    )
    assert envelope.recipients == ("a@customer.test", "b@customer.test")
    assert list(envelope.refused) == [CHLOE]
    assert envelope.refused[CHLOE].reply == NO_SMTPUTF8
    assert envelope.problem is None


def test_unwritable() -> None:
    assert unwritable(CHLOE, utf8=True) is None
    assert unwritable(CHLOE, utf8=False) == NO_SMTPUTF8
    assert unwritable("x\udce9@customer.test", utf8=True) == "is not valid Unicode text"
    assert unwritable("x@customer.test\n", utf8=True) is not None
    assert unwritable("x@customer.test", utf8=False) is None


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (b"Subject: x\r\n\r\n\xc3\xa9", False),
        (b"Subject: x\n\n\xc3\xa9", False),
        (b"\r\nSubject: \xc3\xa9", False),  # no header fields: all of it is body
        ("Subject: \u00e9\r\n\r\nbody".encode(), True),
        ("To: x@y.test\nFrom: \u00e9@y.test\n\nbody".encode(), True),
        (b"Subject: x\r\n", False),
    ],
)
def test_header_is_8bit(raw: bytes, expected: bool) -> None:
    assert header_is_8bit(raw) is expected
