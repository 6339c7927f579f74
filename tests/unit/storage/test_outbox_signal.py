"""The call after a commit that queued outbox rows, on SQLite and PostgreSQL: made once the
rows are visible to another connection, not for other writes nor for a rollback."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest

from postroom.storage.blobs import FileBlobStore
from postroom.storage.database import ensure_schema, make_engine
from postroom.storage.outbox_signal import on_outbox_queued
from postroom.storage.unit import Storage, UnitOfWork

NOW = datetime(2026, 12, 1, 9, 0)


def _enqueue(uow: UnitOfWork, n: int) -> None:
    uow.outbox.enqueue(
        kind="reply",
        work_item_id=None,
        sender="desk@example.test",
        recipients=[f"r{n}@customer.test"],
        subject="s",
        message_id=f"<{n}@postroom.test>",
        raw_sha256="ab" * 32,
        now=NOW,
    )


def test_a_commit_that_queued_rows_calls_once_they_are_visible(
    database_url: str, tmp_path: Path
) -> None:
    engine = make_engine(database_url)
    ensure_schema(engine)
    storage = Storage(engine, FileBlobStore(tmp_path / "blobs"))
    visible: list[bool] = []

    def call() -> None:  # another connection looks, as the sender's thread would
        with storage.reading() as uow:
            visible.append(uow.sending.anything_to_do(NOW))

    stop = on_outbox_queued(engine, call)
    with storage.writing() as uow:
        uow.servers.server_for("desk@example.test")
    assert visible == []
    with pytest.raises(RuntimeError), storage.writing() as uow:
        _enqueue(uow, 1)
        raise RuntimeError("rolled back")
    assert visible == []
    with storage.writing() as uow:
        _enqueue(uow, 2)
        _enqueue(uow, 3)
    assert visible == [True]
    stop()
    with storage.writing() as uow:
        _enqueue(uow, 4)
    assert visible == [True]
    engine.dispose()
