"""Several SMTP connections per server in one round, through the fake connector on a SQLite
file (the connections' threads each open their own database connection): every message
sent once, the work spread, and a connection that breaks costing only its own message."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from postroom.credentials import SecretBox
from postroom.ports.sending import BeforeEnd, Delivery, RecipientOutcome, SmtpServer
from postroom.records.statuses import OutboxStatus
from postroom.services.send import OutboxSender
from postroom.storage.blobs import FileBlobStore
from postroom.storage.database import ensure_schema, make_engine
from postroom.storage.unit import Storage
from unit.services.config_fakes import NOW, secret_box
from unit.services.fake_ports import FakeSmtp, FakeSmtpSession
from unit.services.test_send_service import queue

MESSAGES = 12


@pytest.fixture
def storage(tmp_path: Path) -> Storage:
    engine = make_engine(f"sqlite:///{tmp_path / 'outbox.db'}")
    ensure_schema(engine)
    storage = Storage(engine, FileBlobStore(tmp_path / "blobs", fsync=False))
    with storage.writing() as uow:
        uow.servers.add(
            name="relay",
            url="smtp://127.0.0.1:2525?tls=none",
            password_enc=None,
            authzid=None,
            ca_file=None,
            send_as=False,
            is_default=True,
            now=NOW,
        )
        uow.servers.set_enabled("relay", True)
    return storage


@pytest.fixture
def secrets() -> SecretBox:
    return secret_box()


class CountingSmtp(FakeSmtp):
    """Which thread sent what; the first session opened breaks on its first message."""

    def __init__(self, *, break_first: bool = False) -> None:
        super().__init__()
        self.break_first = break_first
        self.threads: set[int] = set()
        self.lock = threading.Lock()

    def connect(self, server: SmtpServer) -> FakeSmtpSession:
        with self.lock:
            session = super().connect(server)
            breaks = self.break_first and self.connections == 1
        return _Breaking(self, server) if breaks else _Counted(self, server, session)


class _Counted(FakeSmtpSession):
    def __init__(self, smtp: CountingSmtp, server: SmtpServer, _: FakeSmtpSession) -> None:
        super().__init__(smtp, server)
        self._counting = smtp

    def send(
        self, sender: str, recipients: list[str], raw: bytes, before_end: BeforeEnd | None = None
    ) -> Delivery:
        with self._counting.lock:
            self._counting.threads.add(threading.get_ident())
        time.sleep(0.005)  # a server's reply takes time: each connection gets its share
        return super().send(sender, recipients, raw, before_end)


class _Breaking(FakeSmtpSession):
    def send(
        self, sender: str, recipients: list[str], raw: bytes, before_end: BeforeEnd | None = None
    ) -> Delivery:
        self.broken = True
        return Delivery.everyone(
            recipients, RecipientOutcome.DEFERRED, None, "lost", connection_lost=True
        )


def test_a_round_spreads_its_messages_over_several_connections_each_sent_once(
    storage: Storage, secrets: SecretBox
) -> None:
    rows = [queue(storage, f"r{n}@customer.test", number=n) for n in range(MESSAGES)]
    smtp = CountingSmtp()
    report = OutboxSender(storage, secrets, smtp, connections=4).send_due(NOW)
    assert (report.claimed, report.sent, report.skipped) == (MESSAGES, MESSAGES, 0)
    assert (report.connections, smtp.connections) == (4, 4)
    assert len(smtp.threads) > 1
    assert sorted(s.recipients[0] for s in smtp.sent) == sorted(
        f"r{n}@customer.test" for n in range(MESSAGES)
    )
    with storage.reading() as uow:
        assert {uow.outbox.get(row).status for row in rows} == {OutboxStatus.SENT}


def test_no_more_connections_than_messages(storage: Storage, secrets: SecretBox) -> None:
    queue(storage, "a@customer.test", number=1)
    queue(storage, "b@customer.test", number=2)
    smtp = CountingSmtp()
    report = OutboxSender(storage, secrets, smtp, connections=4).send_due(NOW)
    assert (report.sent, report.connections, smtp.connections) == (2, 2, 2)


def test_a_broken_connection_costs_only_its_own_message(
    storage: Storage, secrets: SecretBox
) -> None:
    for n in range(MESSAGES):
        queue(storage, f"r{n}@customer.test", number=n)
    smtp = CountingSmtp(break_first=True)
    report = OutboxSender(storage, secrets, smtp, connections=3).send_due(NOW)
    assert report.connections == 3
    assert (report.sent, report.retrying, report.skipped) == (MESSAGES - 1, 1, 0)
    assert len(smtp.sent) == MESSAGES - 1
