"""The outbox as use cases: retry and cancel rules, listing, and sending through the port."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import insert, select, update

from postroom.errors import NotFoundError, UserError
from postroom.services.outbox import OutboxService
from postroom.services.send import SendReport
from postroom.storage.tables import communications, outbox, work_items
from postroom.storage.unit import Storage
from unit.services.config_fakes import NOW, Clock, memory_storage


class RecordingSender:
    def __init__(self) -> None:
        self.rounds: list[datetime] = []

    def send_due(self, now: datetime) -> SendReport:
        self.rounds.append(now)
        return SendReport(claimed=1, sent=1)


def queued(storage: Storage, status: str = "queued", **values: Any) -> int:
    """One outbox message on a work item, with its outbound communication."""
    with storage.writing() as uow:
        item = uow.conn.execute(
            insert(work_items)
            .values(reference="T-1", number=1, type="ticket", state="new")
            .values(created_at=NOW, updated_at=NOW)
            .returning(work_items.c.id)
        ).scalar_one()
        row_id = uow.outbox.enqueue(
            kind="reply",
            work_item_id=item,
            sender="desk@example.test",
            recipients=["a@example.test", "b@example.test"],
            subject="Re: help",
            message_id="<m1@example.test>",
            raw_sha256="0" * 64,
            now=NOW,
        )
        uow.conn.execute(
            update(outbox).where(outbox.c.id == row_id).values(status=status, **values)
        )
        uow.conn.execute(
            insert(communications).values(
                work_item_id=item, direction="out", outbox_id=row_id, status=status, created_at=NOW
            )
        )
    return row_id


def communication(storage: Storage) -> tuple[str, str | None]:
    with storage.reading() as uow:
        row = uow.conn.execute(select(communications)).one()
    return row.status, row.status_detail


def test_retry_starts_over_and_spares_the_recipients_that_took_it(tmp_path: Path) -> None:
    storage = memory_storage(str(tmp_path))
    results = {"a@example.test": {"status": "accepted"}, "b@example.test": {"status": "refused"}}
    row_id = queued(storage, "failed", attempts=5, recipient_results=results, next_attempt=None)
    clock = Clock()
    clock.tick()
    retried = OutboxService(storage, RecordingSender(), clock).retry(row_id)
    assert (retried.status, retried.attempts, retried.next_attempt) == ("queued", 0, clock.now)
    assert retried.recipient_results == {"a@example.test": {"status": "accepted"}}
    assert communication(storage) == ("queued", f"retry asked at {clock.now.isoformat()}Z")


@pytest.mark.parametrize("status", ["sending", "delivering", "sent", "bounced"])
def test_only_mail_not_on_its_way_or_delivered_is_retried(tmp_path: Path, status: str) -> None:
    storage = memory_storage(str(tmp_path))
    row_id = queued(storage, status)
    with pytest.raises(UserError) as refused:
        OutboxService(storage, RecordingSender(), Clock()).retry(row_id)
    assert str(refused.value) == (
        f"outbox message {row_id} is {status}: "
        "only queued, failed, unknown or cancelled mail can be retried"
    )
    assert communication(storage) == (status, None)


@pytest.mark.parametrize(("status", "allowed"), [("queued", True), ("cancelled", False)])
def test_cancel(tmp_path: Path, status: str, allowed: bool) -> None:
    storage = memory_storage(str(tmp_path))
    row_id = queued(storage, status)
    service = OutboxService(storage, RecordingSender(), Clock())
    if not allowed:
        with pytest.raises(UserError, match="only queued, failed or unknown mail can be cancelled"):
            service.cancel(row_id)
        return
    cancelled = service.cancel(row_id)
    assert (cancelled.status, cancelled.next_attempt, cancelled.reference) == (
        "cancelled",
        None,
        "T-1",  # as `list` shows it: the reference joined
    )
    assert communication(storage) == ("cancelled", None)
    with pytest.raises(NotFoundError, match="no outbox message 99"):
        service.cancel(99)


def test_list_joins_the_reference_and_send_hands_over_the_moment(tmp_path: Path) -> None:
    storage = memory_storage(str(tmp_path))
    queued(storage)
    sender = RecordingSender()
    service = OutboxService(storage, sender, Clock())
    [message] = service.list()
    assert (message.reference, message.recipients, message.first_recipient) == (
        "T-1",
        ["a@example.test", "b@example.test"],
        "a@example.test",
    )
    assert service.send_due().sent == 1
    assert sender.rounds == [NOW]
