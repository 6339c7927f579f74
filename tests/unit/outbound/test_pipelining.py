"""PIPELINING (RFC 2920) against the scripted server: the envelope (RSET, MAIL, RCPT, DATA)
in one write where it is offered, one command at a time where it is not, with the same
per-recipient results, the hook before the final dot and SMTPUTF8 unchanged."""

from __future__ import annotations

from postroom.net.connection import MailUrl
from postroom.outbound import SmtpConnection
from postroom.ports.sending import RecipientOutcome, SmtpServer
from unit.outbound.fake_smtp import Script, fake_smtp

RAW = b"From: a@example.test\r\nTo: b@customer.test\r\nSubject: hi\r\n\r\nbody\r\n"
CHLOE = "chlo\u00e9.garcia@customer.test"


def server(port: int) -> SmtpServer:
    return SmtpServer(MailUrl.parse(f"smtp://127.0.0.1:{port}?tls=none"), None, timeout=5)


def test_the_envelope_goes_in_one_write_and_each_recipient_keeps_its_reply() -> None:
    script = Script(pipelining=True, rcpt={"gone@customer.test": "550 5.1.1 no such user"})
    marked: list[list[str]] = []

    def before_end(accepted: list[str]) -> bool:
        marked.append(accepted)
        assert script.delivered == []  # the final dot is not sent yet
        return True

    recipients = ["ok@customer.test", "gone@customer.test", "too@customer.test"]
    with fake_smtp(script) as (_, port), SmtpConnection.open(server(port)) as conn:
        first = conn.send("a@example.test", recipients, RAW, before_end)
        second = conn.send("a@example.test", ["again@customer.test"], RAW)
    assert script.pipelined == [True, True]
    assert [(r.address, r.outcome, r.code) for r in first.recipients] == [
        ("ok@customer.test", RecipientOutcome.ACCEPTED, 250),
        ("gone@customer.test", RecipientOutcome.REFUSED, 550),
        ("too@customer.test", RecipientOutcome.ACCEPTED, 250),
    ]
    assert marked == [["ok@customer.test", "too@customer.test"]]
    assert [r.outcome for r in second.recipients] == [RecipientOutcome.ACCEPTED]
    assert [d.recipients for d in script.delivered] == [
        ["ok@customer.test", "too@customer.test"],
        ["again@customer.test"],
    ]


def test_without_pipelining_each_command_waits_for_its_reply() -> None:
    script = Script(watch_pipelining=True)
    with fake_smtp(script) as (_, port), SmtpConnection.open(server(port)) as conn:
        result = conn.send("a@example.test", ["ok@customer.test", "b@customer.test"], RAW)
    assert len(result.accepted) == 2
    assert script.pipelined == [False]
    assert script.commands[1:4] == ["MAIL", "RCPT", "RCPT"]


def test_a_refused_mail_from_refuses_every_recipient_and_keeps_the_connection() -> None:
    script = Script(pipelining=True, replies={"MAIL": ["550 5.7.1 not you", "250 ok"]})
    with fake_smtp(script) as (_, port), SmtpConnection.open(server(port)) as conn:
        refused = conn.send("a@example.test", ["x@customer.test", "y@customer.test"], RAW)
        accepted = conn.send("a@example.test", ["z@customer.test"], RAW)
    assert [r.outcome for r in refused.recipients] == [RecipientOutcome.REFUSED] * 2
    assert not conn.broken and accepted.accepted
    assert [d.recipients for d in script.delivered] == [["z@customer.test"]]


def test_a_421_to_a_recipient_ends_the_connection() -> None:
    script = Script(pipelining=True, rcpt={"b@customer.test": "421 4.3.2 shutting down"})
    with fake_smtp(script) as (_, port), SmtpConnection.open(server(port)) as conn:
        result = conn.send("a@example.test", ["a@customer.test", "b@customer.test"], RAW)
        assert conn.broken and result.connection_lost
    assert [r.outcome for r in result.recipients] == [RecipientOutcome.DEFERRED] * 2
    assert script.delivered == []


def test_smtputf8_travels_in_the_pipelined_envelope() -> None:
    script = Script(pipelining=True, smtputf8=True)
    with fake_smtp(script) as (_, port), SmtpConnection.open(server(port)) as conn:
        result = conn.send(CHLOE, [CHLOE, "b@customer.test"], RAW)
    assert [r.outcome for r in result.recipients] == [RecipientOutcome.ACCEPTED] * 2
    assert script.envelope[0] == f"MAIL FROM:<{CHLOE}> BODY=8BITMIME SMTPUTF8"
    assert script.envelope[1:] == [f"RCPT TO:<{CHLOE}>", "RCPT TO:<b@customer.test>"]
    assert script.pipelined == [True]


def test_rset_mail_rcpt_and_data_go_in_one_write() -> None:
    """Two round trips a message where the server pipelines: RSET (from the second message
    on), MAIL, RCPT and DATA, then the content and its dot."""
    script = Script(pipelining=True)
    with fake_smtp(script) as (_, port), SmtpConnection.open(server(port)) as conn:
        for n in range(2):
            assert conn.send("a@example.test", [f"b{n}@customer.test"], RAW).accepted
    assert script.commands[1:] == ["MAIL", "RCPT", "DATA", "RSET", "MAIL", "RCPT", "DATA", "QUIT"]
    assert script.followed == [("RCPT", True), ("RSET", True), ("RCPT", True)]
    assert [d.recipients for d in script.delivered] == [["b0@customer.test"], ["b1@customer.test"]]


def test_no_content_follows_a_pipelined_envelope_nobody_accepted() -> None:
    script = Script(pipelining=True, rcpt={"gone@customer.test": "550 5.1.1 no such user"})
    with fake_smtp(script) as (_, port), SmtpConnection.open(server(port)) as conn:
        refused = conn.send("a@example.test", ["gone@customer.test"], RAW)
        assert not conn.broken  # the server refused DATA: the connection goes on
        accepted = conn.send("a@example.test", ["ok@customer.test"], RAW)
    assert [(r.outcome, r.code) for r in refused.recipients] == [(RecipientOutcome.REFUSED, 550)]
    assert accepted.accepted and script.data_seen == [RAW]
    assert [d.recipients for d in script.delivered] == [["ok@customer.test"]]


def test_a_server_that_takes_data_without_recipients_gets_no_content() -> None:
    """RFC 2920 §3.1 has a server refuse DATA when no recipient was accepted; one that says
    354 all the same waits for content: the line is dropped, nothing is sent."""
    script = Script(
        pipelining=True,
        data_without_recipients=True,
        rcpt={"gone@customer.test": "550 5.1.1 no such user"},
    )
    with fake_smtp(script) as (_, port), SmtpConnection.open(server(port)) as conn:
        result = conn.send("a@example.test", ["gone@customer.test"], RAW)
        assert conn.broken and result.connection_lost
    assert [(r.outcome, r.code) for r in result.recipients] == [(RecipientOutcome.REFUSED, 550)]
    assert script.data_seen == [b""] and script.delivered == []
