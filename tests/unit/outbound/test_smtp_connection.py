"""The SMTP adapter against a scripted server: reuse, RSET, per-recipient results, error classes."""

from __future__ import annotations

import socket
import time

import pytest

from postroom.credentials import Secret
from postroom.net.connection import ConnectionFailure, FailureClass, MailUrl, TlsProblem
from postroom.net.sasl import Credentials
from postroom.outbound import SmtpConnection
from postroom.ports.sending import RecipientOutcome, SmtpServer
from unit.outbound.fake_smtp import Script, fake_smtp

RAW = b"From: a@example.test\r\nTo: b@customer.test\r\nSubject: hi\r\n\r\n.leading dot\r\nbody\r\n"


def server(port: int, *, tls: str = "none", login: Credentials | None = None) -> SmtpServer:
    return SmtpServer(MailUrl.parse(f"smtp://127.0.0.1:{port}?tls={tls}"), login, timeout=5)


def test_one_connection_many_messages_with_rset_between() -> None:
    with fake_smtp() as (script, port), SmtpConnection.open(server(port)) as conn:
        for i in range(3):
            result = conn.send("a@example.test", [f"r{i}@customer.test"], RAW)
            assert [r.outcome for r in result.recipients] == [RecipientOutcome.ACCEPTED]
    assert script.connections == 1
    assert script.commands.count("RSET") == 2
    assert script.commands[-1] == "QUIT"
    assert [d.recipients for d in script.delivered] == [[f"r{i}@customer.test"] for i in range(3)]
    assert b"\r\n..leading dot\r\n" in script.delivered[0].data  # dot-stuffed on the wire


def test_a_small_write_is_not_held_back_for_an_acknowledgement() -> None:
    """The final dot follows the content as its own write: under Nagle it would wait for
    the server's delayed ACK, some 40 ms a message."""
    with fake_smtp() as (_, port), SmtpConnection.open(server(port)) as conn:
        sock = conn._client.sock
        assert sock is not None
        assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY)


def test_a_recipient_refused_while_others_are_accepted() -> None:
    script = Script(rcpt={"gone@customer.test": "550 5.1.1 <gone@customer.test>: no such user"})
    with fake_smtp(script) as (_, port), SmtpConnection.open(server(port)) as conn:
        result = conn.send("a@example.test", ["ok@customer.test", "gone@customer.test"], RAW)
    assert [(r.address, r.outcome, r.code) for r in result.recipients] == [
        ("ok@customer.test", RecipientOutcome.ACCEPTED, 250),
        ("gone@customer.test", RecipientOutcome.REFUSED, 550),
    ]
    assert "no such user" in result.refused[0].reply
    assert script.delivered[0].recipients == ["ok@customer.test"]


@pytest.mark.parametrize(
    ("verb", "answer", "outcome"),
    [
        ("MAIL", "451 4.3.0 busy", RecipientOutcome.DEFERRED),
        ("MAIL", "553 5.7.1 sender not allowed", RecipientOutcome.REFUSED),
        ("DATA", "452 4.3.1 out of space", RecipientOutcome.DEFERRED),
        ("DATA", "554 5.7.1 spam", RecipientOutcome.REFUSED),
    ],
)
def test_temporary_and_permanent_replies(verb: str, answer: str, outcome: RecipientOutcome) -> None:
    script = Script(replies={verb: [answer]})
    with fake_smtp(script) as (_, port), SmtpConnection.open(server(port)) as conn:
        result = conn.send("a@example.test", ["x@customer.test", "y@customer.test"], RAW)
    assert {r.outcome for r in result.recipients} == {outcome}
    assert answer.split(" ", 1)[1] in result.recipients[0].reply
    assert not script.delivered


def test_connection_lost_after_data_is_deferred_and_marks_the_connection_broken() -> None:
    with (
        fake_smtp(Script(drop_after_data=True)) as (_, port),
        SmtpConnection.open(server(port)) as conn,
    ):
        result = conn.send("a@example.test", ["x@customer.test"], RAW)
        assert result.connection_lost and conn.broken
        assert result.recipients[0].outcome is RecipientOutcome.DEFERRED
        with pytest.raises(ConnectionFailure):
            conn.send("a@example.test", ["x@customer.test"], RAW)


def test_starttls_is_required_unless_the_url_says_tls_none() -> None:
    with fake_smtp() as (script, port):
        with pytest.raises(ConnectionFailure) as info:
            SmtpConnection.open(server(port, tls="required"))
        assert info.value.kind is FailureClass.TLS
        assert info.value.tls_problem is TlsProblem.NOT_OFFERED
        assert "tls=none" in str(info.value)
        assert "MAIL" not in script.commands


def test_refused_login_is_an_authentication_failure_without_the_password() -> None:
    script = Script(auth=True, replies={"AUTH": ["535 5.7.8 authentication failed"]})
    login = Credentials("alice@example.test", Secret("hunter2-secret"))
    with fake_smtp(script) as (_, port), pytest.raises(ConnectionFailure) as info:
        SmtpConnection.open(server(port, login=login))
    assert info.value.kind is FailureClass.AUTHENTICATION
    assert "535" in str(info.value)
    assert "hunter2-secret" not in str(info.value) + repr(info.value)


def test_nothing_listening_is_a_connection_failure() -> None:
    with fake_smtp() as (_, port):
        pass
    with pytest.raises(ConnectionFailure) as info:
        SmtpConnection.open(server(port))
    assert info.value.kind is FailureClass.CONNECTION
    assert info.value.transient


# ---------------------------------------------------------------------- before the final dot
class Marks:
    """A `before_end` hook that records what the server had seen when it was called."""

    def __init__(self, script: Script, answer: bool = True) -> None:
        self.script = script
        self.answer = answer
        self.calls: list[tuple[list[str], list[str], int]] = []

    def __call__(self, taken: list[str]) -> bool:
        with self.script.lock:
            seen = (list(taken), list(self.script.commands), len(self.script.delivered))
        self.calls.append(seen)
        return self.answer


def test_the_hook_runs_after_the_envelope_and_before_the_final_dot() -> None:
    script = Script(rcpt={"gone@customer.test": "550 5.1.1 no such user"})
    marks = Marks(script)
    recipients = ["a@customer.test", "gone@customer.test", "b@customer.test"]
    with fake_smtp(script) as (_, port), SmtpConnection.open(server(port)) as conn:
        result = conn.send("s@example.test", recipients, RAW, before_end=marks)
    ((taken, commands, delivered),) = marks.calls
    assert taken == ["a@customer.test", "b@customer.test"]  # only those RCPT accepted
    assert commands[-5:] == ["MAIL", "RCPT", "RCPT", "RCPT", "DATA"]
    assert delivered == 0  # the content is sent, the final dot not yet
    assert [r.outcome for r in result.recipients] == [
        RecipientOutcome.ACCEPTED,
        RecipientOutcome.REFUSED,
        RecipientOutcome.ACCEPTED,
    ]
    assert len(script.delivered) == 1


@pytest.mark.parametrize(
    "script",
    [
        Script(replies={"MAIL": ["451 4.3.0 busy"]}),
        Script(rcpt={"a@customer.test": "550 5.1.1 no such user"}),
        Script(rcpt={"a@customer.test": "452 4.2.2 full"}),
    ],
    ids=["mail-refused", "rcpt-refused", "rcpt-deferred"],
)
def test_no_hook_when_the_envelope_was_not_accepted(script: Script) -> None:
    marks = Marks(script)
    with fake_smtp(script) as (_, port), SmtpConnection.open(server(port)) as conn:
        result = conn.send("s@example.test", ["a@customer.test"], RAW, before_end=marks)
    assert marks.calls == []
    assert result.accepted == []


def test_a_hook_that_says_no_leaves_the_server_without_a_message() -> None:
    script = Script()
    marks = Marks(script, answer=False)
    with fake_smtp(script) as (_, port), SmtpConnection.open(server(port)) as conn:
        result = conn.send("s@example.test", ["a@customer.test"], RAW, before_end=marks)
        assert conn.broken and result.connection_lost
        deadline = time.monotonic() + 5
        while not script.data_seen and time.monotonic() < deadline:
            time.sleep(0.01)
    assert len(marks.calls) == 1
    assert result.accepted == []
    assert not script.delivered
    assert script.data_seen and b"leading dot" in script.data_seen[0]  # the content, no dot


def test_a_hook_that_raises_drops_the_connection_and_the_error_goes_up() -> None:
    script = Script()

    def fails(taken: list[str]) -> bool:
        raise RuntimeError("database gone")

    with fake_smtp(script) as (_, port), SmtpConnection.open(server(port)) as conn:
        with pytest.raises(RuntimeError, match="database gone"):
            conn.send("s@example.test", ["a@customer.test"], RAW, before_end=fails)
        assert conn.broken
    assert not script.delivered


@pytest.mark.parametrize("size", [0, 1, 997, 64 * 1024 + 3])
def test_content_goes_dot_stuffed_and_whole(size: int) -> None:
    body = b"".join(b".%d\r\n" % i if i % 3 == 0 else b"line %d\r\n" % i for i in range(size // 8))
    raw = b"From: a@example.test\r\nTo: b@customer.test\r\n\r\n" + body + b"no newline at end"
    with fake_smtp() as (script, port), SmtpConnection.open(server(port)) as conn:
        conn.send("a@example.test", ["b@customer.test"], raw, before_end=lambda taken: True)
    (delivered,) = script.delivered
    unstuffed = b"\r\n".join(
        line[1:] if line.startswith(b"..") else line for line in delivered.data.split(b"\r\n")
    )
    assert unstuffed == raw + b"\r\n"
