"""Sending the outbox as a use case, through a fake SMTP connector (the port) and SQLite in
memory: sent once, per-recipient outcomes, retries when the server cannot be reached, the
half-delivered row never resent, and the communication on the item following the outbox."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import insert, select

from postroom.credentials import SecretBox
from postroom.records.statuses import CommunicationStatus, OutboxStatus
from postroom.services.send import OutboxSender
from postroom.storage.blobs import FileBlobStore
from postroom.storage.database import ensure_schema, make_engine
from postroom.storage.tables import communications, work_items
from postroom.storage.unit import Storage
from unit.services.config_fakes import NOW, secret_box
from unit.services.fake_ports import FakeSmtp

SENDER = "desk@example.test"


def bare_storage(blobs: Path) -> Storage:
    """A fresh database in memory, with no SMTP server."""
    engine = make_engine("sqlite://")
    ensure_schema(engine)
    return Storage(engine, FileBlobStore(blobs, fsync=False))


@pytest.fixture
def storage(tmp_path: Path) -> Storage:
    storage = bare_storage(tmp_path / "blobs")
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
def smtp() -> FakeSmtp:
    return FakeSmtp()


@pytest.fixture
def secrets() -> SecretBox:
    return secret_box()


@pytest.fixture
def sender(storage: Storage, secrets: SecretBox, smtp: FakeSmtp) -> OutboxSender:
    return OutboxSender(storage, secrets, smtp, connections=1)


def queue(storage: Storage, *recipients: str, number: int = 1, sender: str = SENDER) -> int:
    """One outbound message with its communication, as a reply queues it (one work item
    per ``number``)."""
    with storage.writing() as uow:
        assert uow.staged is not None
        sha = uow.staged.put(b"Subject: hello\r\n\r\nhi\r\n")
        item = uow.conn.execute(
            insert(work_items)
            .values(reference=f"{number}-T", number=number, type="ticket", state="new")
            .values(created_at=NOW, updated_at=NOW)
            .returning(work_items.c.id)
        ).scalar_one()
        row_id = uow.outbox.enqueue(
            kind="reply",
            work_item_id=item,
            sender=sender,
            recipients=list(recipients),
            subject="hello",
            message_id=f"<m{number}@example.test>",
            raw_sha256=sha,
            now=NOW,
        )
        uow.conn.execute(
            insert(communications).values(
                work_item_id=item,
                direction="out",
                outbox_id=row_id,
                status="queued",
                created_at=NOW,
            )
        )
    return row_id


def status(storage: Storage, row_id: int) -> tuple[str, str]:
    with storage.reading() as uow:
        row = uow.outbox.get(row_id)
        shown = uow.conn.execute(
            select(communications.c.status).where(communications.c.outbox_id == row_id)
        ).scalar_one()
    return row.status, shown


def test_a_due_message_is_sent_once_and_its_communication_says_so(
    storage: Storage, smtp: FakeSmtp, sender: OutboxSender
) -> None:
    row_id = queue(storage, "carol@customer.test")
    report = sender.send_due(NOW)
    assert (report.claimed, report.sent, report.connections) == (1, 1, 1)
    assert [s.recipients for s in smtp.sent] == [["carol@customer.test"]]
    assert status(storage, row_id) == (OutboxStatus.SENT, CommunicationStatus.SENT)
    assert sender.send_due(NOW + timedelta(hours=1)).claimed == 0


def test_a_refused_recipient_is_recorded_while_the_other_one_has_it(
    storage: Storage, smtp: FakeSmtp, sender: OutboxSender
) -> None:
    smtp.codes["gone@customer.test"] = 550
    row_id = queue(storage, "carol@customer.test", "gone@customer.test")
    report = sender.send_due(NOW)
    assert (report.sent, report.retrying) == (1, 0)
    assert [s.recipients for s in smtp.sent] == [["carol@customer.test"]]
    with storage.reading() as uow:
        results = uow.outbox.get(row_id).recipient_results
    assert results is not None
    assert {r: v["status"] for r, v in results.items()} == {
        "carol@customer.test": "accepted",
        "gone@customer.test": "refused",
    }


def test_an_unreachable_server_is_tried_again_later(
    storage: Storage, smtp: FakeSmtp, sender: OutboxSender
) -> None:
    smtp.unreachable = True
    row_id = queue(storage, "carol@customer.test")
    report = sender.send_due(NOW)
    assert (report.retrying, report.sent, len(report.errors)) == (1, 0, 1)
    assert status(storage, row_id) == (OutboxStatus.QUEUED, CommunicationStatus.QUEUED)
    smtp.unreachable = False
    assert sender.send_due(NOW + timedelta(seconds=30)).claimed == 0  # due after a minute
    assert sender.send_due(NOW + timedelta(hours=3)).sent == 1


def test_a_message_left_delivering_by_a_stopped_sender_is_never_sent_again(
    storage: Storage, smtp: FakeSmtp, sender: OutboxSender
) -> None:
    row_id = queue(storage, "carol@customer.test")
    with storage.writing() as uow:
        token = uow.sending.lease_token(NOW, timedelta(minutes=5))
        [claimed] = uow.sending.claim_due(NOW, token, 10)
        assert uow.sending.start_delivery(claimed.id, token, token, {})
    report = sender.send_due(NOW + timedelta(minutes=10))
    assert (report.unknown, report.sent, smtp.sent) == (1, 0, [])
    assert status(storage, row_id) == (OutboxStatus.UNKNOWN, CommunicationStatus.UNKNOWN)


def test_a_message_with_no_server_for_its_sender_is_not_sent(
    tmp_path: Path, secrets: SecretBox, smtp: FakeSmtp
) -> None:
    storage = bare_storage(tmp_path / "bare")
    row_id = queue(storage, "carol@customer.test")
    report = OutboxSender(storage, secrets, smtp).send_due(NOW)
    assert (report.sent, smtp.sent) == (0, [])
    with storage.reading() as uow:
        row = uow.outbox.get(row_id)
    assert row.last_error is not None and "no SMTP server sends for" in row.last_error


CHLOE = "chlo\u00e9.garcia@customer.test"


def test_a_recipient_the_server_cannot_take_costs_neither_the_batch_nor_the_connection(
    storage: Storage, smtp: FakeSmtp, sender: OutboxSender
) -> None:
    smtp.smtputf8 = False
    first = queue(storage, "carol@customer.test", number=1)
    mixed = queue(storage, CHLOE, "dan@customer.test", number=2)
    alone = queue(storage, CHLOE, number=3)
    from_chloe = queue(storage, "erin@customer.test", number=4, sender=CHLOE)
    last = queue(storage, "fay@customer.test", number=5)
    report = sender.send_due(NOW)
    assert (report.claimed, report.connections, smtp.connections) == (5, 1, 1)
    assert (report.sent, report.failed, report.retrying, report.skipped) == (3, 2, 0, 0)
    assert [s.recipients for s in smtp.sent] == [
        ["carol@customer.test"],
        ["dan@customer.test"],
        ["fay@customer.test"],
    ]
    for row_id in (first, mixed, last):
        assert status(storage, row_id) == (OutboxStatus.SENT, CommunicationStatus.SENT)
    for row_id in (alone, from_chloe):  # refused for good: never retried
        assert status(storage, row_id) == (OutboxStatus.FAILED, CommunicationStatus.FAILED)
    with storage.reading() as uow:
        results = uow.outbox.get(mixed).recipient_results
        refused = uow.outbox.get(alone)
    assert results is not None and results[CHLOE]["status"] == "refused"
    assert refused.last_error is not None and "SMTPUTF8" in refused.last_error
    assert refused.next_attempt is None
    assert sender.send_due(NOW + timedelta(hours=3)).claimed == 0


def test_a_non_ascii_address_is_sent_where_the_server_offers_smtputf8(
    storage: Storage, smtp: FakeSmtp, sender: OutboxSender
) -> None:
    row_id = queue(storage, CHLOE, number=1, sender=CHLOE)
    assert sender.send_due(NOW).sent == 1
    assert [(s.sender, s.recipients) for s in smtp.sent] == [(CHLOE, [CHLOE])]
    assert status(storage, row_id) == (OutboxStatus.SENT, CommunicationStatus.SENT)


def test_a_round_looks_up_the_server_of_a_sender_once_for_all_its_messages(
    storage: Storage, smtp: FakeSmtp, sender: OutboxSender, monkeypatch: pytest.MonkeyPatch
) -> None:
    from postroom.storage.servers import ServerRepository

    for number in range(1, 6):
        queue(storage, f"c{number}@customer.test", number=number)
    queue(storage, "d@customer.test", number=6, sender="Other@Example.test")
    asked: list[str] = []
    real = ServerRepository.server_for

    def counting(self: ServerRepository, address: str) -> object:
        asked.append(address)
        return real(self, address)

    monkeypatch.setattr(ServerRepository, "server_for", counting)
    report = sender.send_due(NOW)
    assert (report.claimed, report.sent) == (6, 6)
    assert sorted(a.lower() for a in asked) == [SENDER, "other@example.test"]
