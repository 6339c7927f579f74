"""A created work item's record is its row as stored, on SQLite and PostgreSQL.

`ItemRepository.create` no longer reads the new row back (one INSERT returning the id): the
record it hands out is built from the values it wrote, so it must say what a later read of
the row says, remote text made storable included.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from postroom.domain.workitems import ItemType, Reference, State
from postroom.records.items import Cause
from postroom.storage.blobs import FileBlobStore
from postroom.storage.database import ensure_schema, make_engine
from postroom.storage.unit import Storage

NOW = datetime(2026, 12, 2, 9, 30, 15, 123456)
CAUSE = Cause("email-handler")


def test_a_created_item_is_what_a_read_of_it_gives(database_url: str, tmp_path: Path) -> None:
    engine = make_engine(database_url)
    ensure_schema(engine)
    storage = Storage(engine, FileBlobStore(tmp_path / "blobs", fsync=False))
    try:
        with storage.writing() as uow:
            ticket = uow.items.create(
                ref=Reference(uow.items.next_number(), ItemType.TICKET),
                state=State.TODO,
                now=NOW,
                cause=CAUSE,
                queue="queue0",
                context="Bench",
                category="Inbound",
                requester="a\x00b@example.com",
                subject="R\u00e9f. \ud800 question\x00",
                new_info=True,
            )
            case = uow.items.create(
                ref=Reference(ticket.number, ItemType.CASE),
                state=State.IN_PROGRESS,
                now=NOW,
                cause=CAUSE,
                owner="alice",
            )
            action = uow.items.create(
                ref=Reference(ticket.number, ItemType.ACTION, 1),
                state=State.TODO,
                now=NOW,
                cause=CAUSE,
                case=case,
                linked_to=ticket,
            )
        with storage.reading() as uow:
            for created in (ticket, case, action):
                assert uow.items.get(Reference.parse(created.reference)) == created
        assert ticket.subject == "R\u00e9f. \ufffd question\ufffd"
        assert ticket.requester == "a\ufffdb@example.com"
        assert (action.case_reference, action.linked_reference) == (
            case.reference,
            ticket.reference,
        )
    finally:
        engine.dispose()
