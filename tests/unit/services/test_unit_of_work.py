"""What a unit of work promises the services: database errors leave it as ours, a
SAVEPOINT undoes only itself, a batch's deferred writes reach the database."""

from __future__ import annotations

from pathlib import Path

import pytest

from postroom.domain.workitems import ItemType, Reference, State
from postroom.errors import StorageConflictError
from postroom.records.items import Cause
from unit.services.mail_fakes import NOW, routed_storage

SHA = "ab" * 32


def test_a_broken_key_in_a_savepoint_is_a_conflict_and_undoes_only_the_savepoint(
    tmp_path: Path,
) -> None:
    storage = routed_storage(tmp_path)
    arrival = {"raw_sha256": SHA, "size": 1, "now": NOW}
    with storage.writing() as uow:
        channel = uow.channels.add(now=NOW, name="box", url="pop3://127.0.0.1", enabled=True).id
        first = uow.messages.insert_arrival(channel_id=channel, source_uid="uid-1", **arrival)
        with pytest.raises(StorageConflictError) as caught, uow.savepoint():
            uow.messages.insert_arrival(channel_id=channel, source_uid="uid-2", **arrival)
            uow.messages.insert_arrival(channel_id=channel, source_uid="uid-1", **arrival)
        assert type(caught.value.orig).__name__ == "IntegrityError"
        found = uow.messages.find_arrival(channel, "uid-1", SHA)
        assert found is not None and found.id == first
        assert uow.messages.find_arrival(channel, "uid-2", SHA) is None  # undone
    with storage.reading() as uow:
        assert uow.messages.get(first).source_uid == "uid-1"


def test_a_batch_unit_writes_its_deferred_events_and_counter_at_the_end(tmp_path: Path) -> None:
    storage = routed_storage(tmp_path)
    cause = Cause("system")
    with storage.writing(batch=True) as uow:
        refs = [Reference(uow.items.next_number(), ItemType.TICKET) for _ in range(3)]
        made = [uow.items.create(ref=r, state=State.TODO, now=NOW, cause=cause) for r in refs]
        assert uow.items.history(made[0].id) == []  # not written yet
    assert [str(r) for r in refs] == ["100001-T", "100002-T", "100003-T"]
    with storage.writing() as uow:
        assert [len(uow.items.history(i.id)) for i in made] == [1, 1, 1]
        assert uow.items.next_number() == 100004
