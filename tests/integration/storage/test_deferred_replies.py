"""A batch's replies wait for its end (`storage.deferred`), on SQLite and PostgreSQL: one
INSERT for their outbox rows and one for their communications, ids in the order queued,
and a question of the Email Handler about a waiting reply sees it as if written at once."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import event

from postroom.domain.workitems import ItemType, Reference, State
from postroom.records.items import Cause
from postroom.storage.blobs import FileBlobStore
from postroom.storage.database import ensure_schema, make_engine
from postroom.storage.unit import Storage, UnitOfWork

NOW = datetime(2026, 12, 1, 9, 0)
CAUSE = Cause("email-handler")


def _storage(database_url: str, tmp_path: Path) -> Storage:
    engine = make_engine(database_url)
    ensure_schema(engine)
    return Storage(engine, FileBlobStore(tmp_path / "blobs", fsync=False))


@contextmanager
def _statements(storage: Storage) -> Iterator[list[str]]:
    sent: list[str] = []

    def _sent(*args: Any) -> None:
        sent.append(" ".join(str(args[2]).split()))

    event.listen(storage.engine, "before_cursor_execute", _sent)
    try:
        yield sent
    finally:
        event.remove(storage.engine, "before_cursor_execute", _sent)


def _ticket(uow: UnitOfWork) -> int:
    ref = Reference(uow.items.next_number(), ItemType.TICKET)
    return uow.items.create(ref=ref, state=State.TODO, now=NOW, cause=CAUSE).id


def _queue(uow: UnitOfWork, item_id: int, n: int, to: str | None = None) -> str:
    message_id = f"<postroom.{n}@desk.test>"
    uow.outbox.queue_for_item(
        kind="acknowledgement",
        work_item_id=item_id,
        sender="desk@example.com",
        recipients=[to or f"C{n}@Customer.test"],
        subject=f"[T] Question {n}",
        message_id=message_id,
        raw_sha256=f"{n:064x}",
        rule="N1",
        now=NOW,
    )
    return message_id


def test_a_batch_writes_its_replies_in_one_statement_each_ids_in_order(
    database_url: str, tmp_path: Path
) -> None:
    storage = _storage(database_url, tmp_path)
    with storage.writing() as uow:  # an earlier row: the batch's ids do not start at 1
        _queue(uow, _ticket(uow), 0)
    with _statements(storage) as sent, storage.writing(batch=True) as uow:
        items = [_ticket(uow) for _ in range(7)]
        queued = [_queue(uow, item, n) for n, item in enumerate(items, start=1)]
    assert len([s for s in sent if s.startswith("INSERT INTO outbox")]) == 1
    assert len([s for s in sent if s.startswith("INSERT INTO communications")]) == 1
    with storage.reading() as uow:
        rows = uow.outbox.all()
        assert [r.message_id for r in rows[1:]] == queued
        assert [r.work_item_id for r in rows[1:]] == items
        assert [r.id for r in rows] == sorted(r.id for r in rows)
        assert rows[1].first_recipient == "c1@customer.test"
        for row in rows:
            (filed,) = uow.communications.of_item(row.work_item_id or 0)
            assert (filed.direction, filed.outbox_id, filed.message_id, filed.rule) == (
                "out",
                row.id,
                row.message_id,
                "N1",
            )
    storage.engine.dispose()


def test_a_question_about_a_waiting_reply_sees_it(database_url: str, tmp_path: Path) -> None:
    storage = _storage(database_url, tmp_path)
    with storage.writing(batch=True) as uow:
        item = _ticket(uow)
        first = _queue(uow, item, 1, to="Carol@Customer.test")
        ask = uow.handler.context([], frozenset())
        assert ask.is_own_message_id(first)
        outbound = ask.outbound_by_message_id(first)
        assert outbound is not None
        assert uow.communications.get(outbound).outbox_id is not None
        second = _queue(uow, item, 2, to="carol@customer.test")
        assert [str(v.reference) for v in ask.items_by_message_id(second)] == [
            uow.items.by_id(item).reference
        ]
        _queue(uow, item, 3, to="carol@customer.test")
        assert ask.auto_replies_since(" CAROL@customer.test", NOW - timedelta(hours=1)) == 3
        assert not ask.is_own_message_id("<postroom.9@desk.test>")
    with storage.reading() as uow:
        assert len(uow.outbox.all()) == 3
        assert [c.direction for c in uow.communications.of_item(item)] == ["out"] * 3
    storage.engine.dispose()
