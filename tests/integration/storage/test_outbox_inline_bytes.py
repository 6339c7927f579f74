"""Migration 0012 on SQLite and PostgreSQL: ``outbox.raw`` added to an outbox that holds
mail queued as blobs (those rows keep their blob and are still read from it), rows queued
after it hold their bytes; a downgrade that would lose such bytes is refused and changes
nothing; the schema matches the tables."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, delete, insert, inspect

from postroom.storage.blobs import FileBlobStore
from postroom.storage.database import alembic_config, current_revision, make_engine
from postroom.storage.tables import metadata, outbox
from postroom.storage.unit import Storage

NOW = datetime(2026, 12, 2, 9, 0)
OLD = b"From: desk@example.com\r\nTo: c@customer.test\r\nSubject: queued before\r\n\r\nhi\r\n"
NEW = b"From: desk@example.com\r\nTo: d@customer.test\r\nSubject: queued after\r\n\r\nhi\r\n"


def _values(n: int, sha: str) -> dict[str, object]:
    return {
        "kind": "acknowledgement",
        "work_item_id": None,
        "sender": "desk@example.com",
        "recipients": [f"c{n}@customer.test"],
        "first_recipient": f"c{n}@customer.test",
        "subject": "[T] Question",
        "message_id": f"<postroom.{n}@desk.test>",
        "raw_sha256": sha,
        "status": "queued",
        "attempts": 0,
        "next_attempt": NOW,
        "created_at": NOW,
    }


def _columns(engine: Engine) -> set[str]:
    return {str(c["name"]) for c in inspect(engine).get_columns("outbox")}


def _differences(engine: Engine) -> list[object]:
    with engine.connect() as conn:
        found = compare_metadata(MigrationContext.configure(conn), metadata)
    flat = [d for diff in found for d in (diff if isinstance(diff, list) else [diff])]
    return [d for d in flat if "outbox" in repr(d)]


@pytest.mark.filterwarnings("ignore:autogenerate skipping")
def test_0012_keeps_old_rows_on_their_blobs_and_refuses_to_drop_held_bytes(
    database_url: str, tmp_path: Path
) -> None:
    engine = make_engine(database_url)
    blobs = FileBlobStore(tmp_path / "blobs", fsync=False)
    storage = Storage(engine, blobs)
    command.upgrade(alembic_config(engine), "0011")
    with engine.begin() as conn:  # only 0011's columns
        old_id = conn.execute(
            insert(outbox).returning(outbox.c.id), _values(1, blobs.put(OLD))
        ).scalar_one()
    command.upgrade(alembic_config(engine), "0012")
    assert current_revision(engine) == "0012" and "raw" in _columns(engine)
    assert _differences(engine) == []
    with storage.writing() as uow:
        sha, inline = uow.keep_outbound(NEW)
        assert inline == NEW
        new_id = uow.outbox.enqueue(
            kind="acknowledgement",
            work_item_id=None,
            sender="desk@example.com",
            recipients=["d@customer.test"],
            subject="[T] Question",
            message_id="<postroom.2@desk.test>",
            raw_sha256=sha,
            raw=inline,
            now=NOW,
        )
    with storage.reading() as uow:
        old, new = uow.outbox.get(old_id), uow.outbox.get(new_id)
    assert old.raw is None and storage.outbound_bytes(old) == OLD
    assert new.raw == NEW and not blobs.exists(new.raw_sha256)
    with pytest.raises(RuntimeError, match=r"1 outbox row\(s\) hold their message"):
        command.downgrade(alembic_config(engine), "0011")
    assert current_revision(engine) == "0012" and "raw" in _columns(engine)
    with storage.reading() as uow:
        assert uow.outbox.get(new_id).raw == NEW
    with engine.begin() as conn:
        conn.execute(delete(outbox).where(outbox.c.id == new_id))
    command.downgrade(alembic_config(engine), "0011")
    assert current_revision(engine) == "0011" and "raw" not in _columns(engine)
    command.upgrade(alembic_config(engine), "head")
    assert "raw" in _columns(engine) and _differences(engine) == []
    engine.dispose()
