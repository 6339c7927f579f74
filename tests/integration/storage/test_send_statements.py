"""The sender's statements, on SQLite and PostgreSQL: a `Prepared` statement stores what
`Connection.execute` of the same statement stores (column types' processing included) and
fails the same way; an outcome changes its own item's communication, through the item's
index, and none for a row queued for no item."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import bindparam, event, select, update

from postroom.domain.workitems import ItemType, Reference, State
from postroom.errors import StorageConflictError
from postroom.records.items import Cause
from postroom.records.statuses import CommunicationStatus
from postroom.storage.blobs import FileBlobStore
from postroom.storage.database import ensure_schema, make_engine
from postroom.storage.prepared import Prepared
from postroom.storage.tables import communications, outbox
from postroom.storage.unit import Storage, UnitOfWork

NOW = datetime(2026, 12, 2, 9, 0, 0, 123456)
CAUSE = Cause("email-handler")
HOSTILE = "a\x00b\udcff c ü"
"""NUL and a lone surrogate: `RemoteText` and `RemoteJSON` make them U+FFFD."""


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


def _item(uow: UnitOfWork) -> int:
    ref = Reference(uow.items.next_number(), ItemType.TICKET)
    return uow.items.create(ref=ref, state=State.TODO, now=NOW, cause=CAUSE).id


def _queue(uow: UnitOfWork, item_id: int | None, n: int) -> int:
    values: dict[str, Any] = {
        "kind": "acknowledgement",
        "sender": "desk@example.com",
        "recipients": [f"c{n}@customer.test"],
        "subject": f"[T] Question {n}",
        "message_id": f"<postroom.{n}@desk.test>",
        "raw_sha256": f"{n:064x}",
        "now": NOW,
    }
    if item_id is None:
        return uow.outbox.enqueue(work_item_id=None, **values)
    queued = uow.outbox.queue_for_item(work_item_id=item_id, rule="N1", **values)
    assert queued is not None
    return queued


_OUTCOME = (
    update(outbox)
    .where(outbox.c.id == bindparam("_id"), outbox.c.status == "queued")
    .values(
        status=bindparam("status"),
        last_error=bindparam("last_error"),
        next_attempt=bindparam("next_attempt"),
        recipient_results=bindparam("recipient_results"),
        sent_at=None,
    )
)


def test_a_prepared_statement_stores_what_execute_stores(database_url: str, tmp_path: Path) -> None:
    storage = _storage(database_url, tmp_path)
    values = {
        "status": "sent",
        "last_error": HOSTILE,
        "next_attempt": NOW,
        "recipient_results": {HOSTILE: {"status": "accepted", "reply": HOSTILE, "code": 250}},
    }
    prepared = Prepared(_OUTCOME)
    with storage.writing() as uow:
        by_execute, by_prepared = _queue(uow, None, 1), _queue(uow, None, 2)
        assert uow.conn.execute(_OUTCOME, {"_id": by_execute, **values}).rowcount == 1
        assert prepared.execute(uow.conn, {"_id": by_prepared, **values}).rowcount == 1
        assert prepared.execute(uow.conn, {"_id": by_prepared, **values}).rowcount == 0
    with storage.reading() as uow:
        rows = uow.conn.execute(
            select(outbox.c.status, outbox.c.last_error, outbox.c.next_attempt)
            .add_columns(outbox.c.recipient_results, outbox.c.sent_at, outbox.c.lease_until)
            .where(outbox.c.id.in_([by_execute, by_prepared]))
            .order_by(outbox.c.id)
        ).all()
    assert rows[0] == rows[1]
    assert rows[1].last_error == "a\ufffdb\ufffd c ü"
    assert rows[1].next_attempt == NOW
    assert list(rows[1].recipient_results) == ["a\ufffdb\ufffd c ü"]


def test_a_prepared_statement_fails_as_any_statement_does(
    database_url: str, tmp_path: Path
) -> None:
    storage = _storage(database_url, tmp_path)
    with storage.writing() as uow:
        queued = _queue(uow, None, 1)
    refused = {"_id": queued, "status": None, "last_error": None, "next_attempt": None}
    with pytest.raises(StorageConflictError), storage.writing() as uow:  # status NOT NULL
        Prepared(_OUTCOME).execute(uow.conn, {**refused, "recipient_results": None})


def test_a_statement_whose_text_depends_on_its_values_is_refused(tmp_path: Path) -> None:
    storage = _storage(f"sqlite:///{tmp_path / 'postroom.db'}", tmp_path)
    listed = Prepared(update(outbox).where(outbox.c.id.in_([1, 2])).values(status="queued"))
    with pytest.raises(ValueError, match="depends on its values"), storage.writing() as uow:
        listed.execute(uow.conn, {})


def test_an_outcome_changes_its_items_communication_only(database_url: str, tmp_path: Path) -> None:
    storage = _storage(database_url, tmp_path)
    with storage.writing() as uow:
        first, second = _item(uow), _item(uow)
        sent, other, bounced = _queue(uow, first, 1), _queue(uow, second, 2), _queue(uow, first, 3)
        uow.communications.set_status_of_outbox(bounced, CommunicationStatus.BOUNCED, "550")
    with storage.writing() as uow:
        uow.communications.set_status_of_sent(sent, first, CommunicationStatus.SENT, HOSTILE)
        uow.communications.set_status_of_sent(bounced, first, CommunicationStatus.SENT, None)
    with storage.reading() as uow:
        found = {
            row.outbox_id: (row.status, row.status_detail)
            for row in uow.conn.execute(select(communications))
        }
    assert found == {
        sent: (CommunicationStatus.SENT.value, "a\ufffdb\ufffd c ü"),
        other: (CommunicationStatus.QUEUED.value, None),
        bounced: (CommunicationStatus.BOUNCED.value, "550"),
    }


def test_an_outcome_of_a_row_of_no_item_writes_no_communication(
    database_url: str, tmp_path: Path
) -> None:
    storage = _storage(database_url, tmp_path)
    with storage.writing() as uow:
        queued = _queue(uow, None, 1)
    with storage.writing() as uow, _statements(storage) as sent:
        uow.communications.set_status_of_sent(queued, None, CommunicationStatus.SENT, None)
    assert not [s for s in sent if "communications" in s]


def test_an_outcome_finds_its_communication_by_an_index(tmp_path: Path) -> None:
    """Not by a scan of every communication: the sender writes one outcome a message, and
    the table grows with every item."""
    storage = _storage(f"sqlite:///{tmp_path / 'postroom.db'}", tmp_path)
    with storage.writing() as uow:
        item = _item(uow)
        queued = _queue(uow, item, 1)
    with storage.writing() as uow, _statements(storage) as sent:
        uow.communications.set_status_of_sent(queued, item, CommunicationStatus.SENT, None)
        (statement,) = [s for s in sent if s.startswith("UPDATE communications")]
        values = (CommunicationStatus.SENT.value, None, item, queued, "bounced")
        plan = uow.conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", values).all()
    steps = " ".join(str(step) for step in plan)
    assert "USING INDEX ix_communications_" in steps and "SCAN communications" not in steps
