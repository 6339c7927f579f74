"""The port contracts as the fakes keep them, and an outbox attempt settled from a fake
SMTP server's answers (`services.delivery` through `postroom.ports.sending` only)."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from postroom.net.connection import ConnectionFailure, FailureClass, MailUrl
from postroom.ports.mailbox import MessageTooLarge
from postroom.ports.sending import SmtpServer
from postroom.records.statuses import OutboxStatus
from postroom.services.delivery import RetryPolicy, settle
from unit.services.fake_ports import FakeMailbox, FakeSmtp

SERVER = SmtpServer(MailUrl.parse("submission://relay.example.test"))
NOW = datetime(2026, 11, 2, 9, 0)


def test_deletions_take_effect_only_at_commit() -> None:
    box = FakeMailbox({"u1": b"one\r\n", "u2": b"two\r\n"})
    with box.open() as session:
        session.delete(1)
    assert list(box.messages) == ["u1", "u2"]
    with box.open() as session:
        [first, _] = session.list()
        assert session.retrieve(first.number) == b"one\r\n"
        session.delete(first.number)
        session.commit()
    assert list(box.messages) == ["u2"]


def test_a_message_over_the_limit_ends_the_session() -> None:
    box = FakeMailbox({"big": b"x" * 100}, limit=10)
    with box.open() as session, pytest.raises(MessageTooLarge) as info:
        session.retrieve(1)
    assert info.value.kind is FailureClass.PROTOCOL and not session.open


def test_an_unreachable_server_is_a_connection_failure() -> None:
    with pytest.raises(ConnectionFailure) as info:
        FakeSmtp(unreachable=True).connect(SERVER)
    assert info.value.transient


def test_a_mixed_answer_settles_per_recipient() -> None:
    smtp = FakeSmtp(codes={"later@customer.test": 451, "never@customer.test": 550})
    targets = ["ok@customer.test", "later@customer.test", "never@customer.test"]
    with smtp.connect(SERVER) as session:
        delivery = session.send("support@example.test", targets, b"raw\r\n")
    settled = settle(None, delivery, 0, RetryPolicy(first_delay=timedelta(minutes=1)), NOW)
    assert settled.status is OutboxStatus.QUEUED
    assert settled.next_attempt == NOW + timedelta(minutes=1)
    assert {a: r["status"] for a, r in settled.recipient_results.items()} == {
        "ok@customer.test": "accepted",
        "later@customer.test": "deferred",
        "never@customer.test": "refused",
    }
    assert [s.recipients for s in smtp.sent] == [["ok@customer.test"]]


def test_a_hook_that_says_no_sends_nothing() -> None:
    smtp = FakeSmtp()
    with smtp.connect(SERVER) as session:
        delivery = session.send("a@example.test", ["b@customer.test"], b"raw", lambda _: False)
        assert session.broken
    assert delivery.connection_lost and delivery.deferred and not smtp.sent
