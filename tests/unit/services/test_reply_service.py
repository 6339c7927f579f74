"""An agent's reply as a use case: queued with its communication in one unit of work,
from the conversation's address, or nothing queued at all; on SQLite in memory."""

from __future__ import annotations

from pathlib import Path

import pytest

from postroom.errors import UserError
from postroom.records.statuses import OutboxStatus
from postroom.services.reply import ReplyService
from postroom.storage.unit import Storage
from support.mails import make_mail
from unit.services.mail_fakes import NOW, SENDER, ingest_service, routed_storage


@pytest.fixture
def storage(tmp_path: Path) -> Storage:
    return routed_storage(tmp_path)


def test_a_reply_answers_the_thread_from_the_address_written_to(storage: Storage) -> None:
    ingested = ingest_service(storage).ingest(
        make_mail(subject="Re: my invoice", message_id="<q1@customer.test>")
    )
    ref = ingested.items[0].reference
    queued = ReplyService(storage, SENDER).queue_reply(reference=ref, body="Thanks!", now=NOW)
    assert queued.sender == "support@example.com"  # the address the customer wrote to
    assert queued.to == ["carol@customer.test"]
    assert queued.subject == f"[{ref}] Re: my invoice"
    with storage.reading() as uow:
        outbound = uow.outbox.get(queued.outbox_id)
        thread = uow.communications.of_item(ingested.items[0].id)
    raw = storage.outbound_bytes(outbound)
    assert outbound.status == OutboxStatus.QUEUED
    assert [(c.direction, c.status, c.outbox_id) for c in thread] == [
        ("in", "received", None),
        ("out", "queued", queued.outbox_id),
    ]
    assert b"In-Reply-To: <q1@customer.test>" in raw


def test_nothing_is_queued_without_a_body(storage: Storage) -> None:
    ref = ingest_service(storage).ingest(make_mail()).items[0].reference
    with pytest.raises(UserError, match="empty"):
        ReplyService(storage, SENDER).queue_reply(reference=ref, body="  \n", now=NOW)
    with storage.reading() as uow:
        assert uow.outbox.all() == []
