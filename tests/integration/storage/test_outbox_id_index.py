"""Migration 0011 on SQLite and PostgreSQL, on a database holding outbound mail: an outbox
row's communication is found by ``ix_communications_outbox_id`` (before it, a scan of every
communication for each status change: `outbox cancel`, `outbox retry`, the sweep of
half-delivered rows), the statuses are the same after it, and the schema matches the
tables; downgrade and upgrade again."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, insert, inspect, text

from postroom.domain.workitems import ItemType, Reference, State
from postroom.records.items import Cause
from postroom.records.statuses import CommunicationStatus
from postroom.storage.blobs import FileBlobStore
from postroom.storage.database import alembic_config, current_revision, make_engine
from postroom.storage.tables import metadata, outbox
from postroom.storage.unit import Storage

NOW = datetime(2026, 12, 2, 9, 0)
INDEX = "ix_communications_outbox_id"


def _fill(storage: Storage, n: int) -> list[int]:
    """``n`` Tickets, each with an acknowledgement queued on it; the outbox ids. Written in
    SQL: the schema is 0010's, older than the repositories'."""
    queued = []
    with storage.writing() as uow:
        for i in range(n):
            ref = Reference(uow.items.next_number(), ItemType.TICKET)
            item = uow.items.create(ref=ref, state=State.TODO, now=NOW, cause=Cause("test")).id
            values = {"item": item, "i": i, "t": NOW}
            row = uow.conn.execute(
                insert(outbox).returning(outbox.c.id),  # only these columns: 0010 has them
                {
                    "kind": "acknowledgement",
                    "work_item_id": item,
                    "sender": "desk@example.com",
                    "recipients": [f"c{i}@customer.test"],
                    "first_recipient": f"c{i}@customer.test",
                    "subject": "[T] Question",
                    "message_id": f"<postroom.{i}@desk.test>",
                    "raw_sha256": f"{i:064x}",
                    "status": "queued",
                    "attempts": 0,
                    "next_attempt": NOW,
                    "created_at": NOW,
                },
            ).scalar_one()
            uow.conn.execute(
                text(
                    "INSERT INTO communications (work_item_id, direction, outbox_id, message_id,"
                    " status, created_at) VALUES (:item, 'out', :row, '<postroom.' || :i ||"
                    " '@desk.test>', 'queued', :t)"
                ),
                {**values, "row": row},
            )
            queued.append(int(row))
    return queued


def _statuses(engine: Engine) -> list[tuple[int, str | None]]:
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT outbox_id, status FROM communications ORDER BY outbox_id"))
        return [(row[0], row[1]) for row in rows]


def _plan(engine: Engine) -> str:
    """SQLite's plan for a status change of one outbox row's communication."""
    with engine.connect() as conn:
        rows = conn.exec_driver_sql(
            "EXPLAIN QUERY PLAN UPDATE communications SET status = 'failed' WHERE outbox_id = 1"
        )
        return " ".join(str(row) for row in rows)


def _differences(engine: Engine) -> list[object]:
    with engine.connect() as conn:
        found = compare_metadata(MigrationContext.configure(conn), metadata)
    flat = [d for diff in found for d in (diff if isinstance(diff, list) else [diff])]
    return [d for d in flat if any(getattr(x, "name", None) == INDEX for x in d)]


def _indexes(engine: Engine) -> set[str]:
    return {str(ix["name"]) for ix in inspect(engine).get_indexes("communications")}


@pytest.mark.filterwarnings("ignore:autogenerate skipping")
def test_0011_finds_an_outbox_rows_communication_by_its_index(
    database_url: str, tmp_path: Path
) -> None:
    engine = make_engine(database_url)
    storage = Storage(engine, FileBlobStore(tmp_path / "blobs", fsync=False))
    command.upgrade(alembic_config(engine), "0010")
    queued = _fill(storage, 30)
    assert INDEX not in _indexes(engine)
    if engine.dialect.name == "sqlite":
        assert "SCAN communications" in _plan(engine)
    before = _statuses(engine)
    command.upgrade(alembic_config(engine), "0011")
    assert current_revision(engine) == "0011"
    assert INDEX in _indexes(engine)
    assert _statuses(engine) == before
    if engine.dialect.name == "sqlite":
        assert f"USING INDEX {INDEX}" in _plan(engine), _plan(engine)
    assert _differences(engine) == []
    with storage.writing() as uow:
        uow.communications.set_status_of_outbox(
            queued[7], CommunicationStatus.FAILED, "550 no such user"
        )
    after = dict(_statuses(engine))
    assert after[queued[7]] == CommunicationStatus.FAILED.value
    assert [s for o, s in after.items() if o != queued[7]] == [
        s for o, s in before if o != queued[7]
    ]
    command.downgrade(alembic_config(engine), "0010")
    assert INDEX not in _indexes(engine)
    command.upgrade(alembic_config(engine), "head")
    assert INDEX in _indexes(engine) and _differences(engine) == []
    engine.dispose()
