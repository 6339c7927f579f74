"""A batch of acknowledged mail at the batch's price (issue 12, item 2): its replies' outbox
rows and communications written as one statement each, its blobs (arrivals and replies)
made durable by one flush, and the same rows as when each message is ingested alone."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import event

from postroom.domain.routes import Route
from postroom.services.ingest import Arrival
from postroom.storage.blobs import FileBlobStore
from postroom.storage.database import ensure_schema, make_engine
from postroom.storage.unit import Storage
from support.mails import make_mail
from unit.services.mail_fakes import NOW, ingest_service

ACKNOWLEDGING = Route("support@example.com", "Acme", "Query", "q", True)


class CountingDurability:
    """Counts the trips to the disk: each `sync_files` and `sync_names` is one."""

    def __init__(self) -> None:
        self.files: list[int] = []
        self.names = 0

    def sync_files(self, root: Path, files: Iterable[Path]) -> None:
        self.files.append(len(list(files)))

    def sync_names(self, root: Path, folders: Iterable[Path]) -> None:
        self.names += 1


def _storage(tmp_path: Path, durability: CountingDurability | None = None) -> Storage:
    engine = make_engine("sqlite://")
    ensure_schema(engine)
    blobs = FileBlobStore(tmp_path / "blobs", durability=durability or CountingDurability())
    storage = Storage(engine, blobs)
    with storage.writing() as uow:
        uow.config.add_route(ACKNOWLEDGING, NOW)
    return storage


@contextmanager
def statements(storage: Storage) -> Iterator[list[str]]:
    """The SQL sent to the database meanwhile, one entry per execute (or executemany)."""
    sent: list[str] = []

    def _sent(*args: Any) -> None:
        sent.append(" ".join(str(args[2]).split()))

    event.listen(storage.engine, "before_cursor_execute", _sent)
    try:
        yield sent
    finally:
        event.remove(storage.engine, "before_cursor_execute", _sent)


def _mails(senders: list[str]) -> list[Arrival]:
    return [
        Arrival(make_mail(subject=f"Question {i}", sender=f"Customer <{s}>"))
        for i, s in enumerate(senders)
    ]


def _rows(storage: Storage) -> dict[str, Any]:
    """What the batch left, as the CLI would show it (ids included)."""
    with storage.reading() as uow:
        outbox = [(o.id, o.kind, o.work_item_id, o.recipients, o.status) for o in uow.outbox.all()]
        items = uow.items.all()
        timelines = {
            i.reference: [
                (c.direction, c.outbox_id, c.rule, c.status)
                for c in uow.communications.of_item(i.id)
            ]
            for i in items
        }
    return {"outbox": outbox, "timelines": timelines}


def test_a_batch_writes_its_replies_in_one_statement_per_table(tmp_path: Path) -> None:
    storage = _storage(tmp_path)
    service = ingest_service(storage)
    with statements(storage) as sent:
        results = service.ingest_batch(_mails([f"c{i}@customer.test" for i in range(8)]))
    assert [len(r.items) for r in results] == [1] * 8
    into_outbox = [s for s in sent if s.startswith("INSERT INTO outbox")]
    into_communications = [s for s in sent if s.startswith("INSERT INTO communications")]
    # One multi-row INSERT for the 8 outbox rows (was 8 INSERT … RETURNING);
    # 8 received communications (their ids go into the events) and one INSERT for the
    # 8 queued ones (was 8 more).
    assert len(into_outbox) == 1, into_outbox
    assert len(into_communications) == 8 + 1
    # The ledger rows too: one statement (SQLite's sorted RETURNING made it one per row).
    assert len([s for s in sent if s.startswith("INSERT INTO messages")]) == 1
    # The loop guard's counts: one query for the batch's addresses (was one per reply).
    assert len([s for s in sent if "FROM outbox" in s]) == 1
    rows = _rows(storage)
    assert [o[0] for o in rows["outbox"]] == list(range(1, 9))
    assert [o[2] for o in rows["outbox"]] == [r.items[0].id for r in results]
    for reference, timeline in rows["timelines"].items():
        assert [c[0] for c in timeline] == ["in", "out"], reference
        assert timeline[1][2:] == ("N1", "queued")


def test_a_batch_leaves_the_rows_of_messages_ingested_one_by_one(tmp_path: Path) -> None:
    """Same outbox rows, ids and order, same timelines, same recorded decisions; the loop
    guard (3 automated replies per address an hour) counts the replies the batch queued
    before, as when each was written at once."""
    senders = ["a@customer.test", "b@customer.test", "a@customer.test"] * 3
    alone = _storage(tmp_path / "alone")
    one_by_one = ingest_service(alone)
    singly = [one_by_one.ingest_batch([arrival])[0] for arrival in _mails(senders)]
    together = _storage(tmp_path / "together")
    batch = ingest_service(together).ingest_batch(_mails(senders))
    assert _rows(together) == _rows(alone)
    assert len(_rows(together)["outbox"]) == 6  # 3 each for a@ and b@, then held back
    assert [r.recorded for r in batch] == [r.recorded for r in singly]


def test_a_batch_makes_arrivals_and_replies_durable_with_one_flush(tmp_path: Path) -> None:
    durability = CountingDurability()
    storage = _storage(tmp_path, durability)
    before = (len(durability.files), durability.names)
    ingest_service(storage).ingest_batch(_mails([f"c{i}@customer.test" for i in range(6)]))
    # Six arrivals: their data flushed once, then their names once (was twice each: the
    # arrivals before the unit, the replies before its commit); the replies are in their
    # outbox rows, no file each.
    assert durability.files[before[0] :] == [6]
    assert durability.names - before[1] == 1


def test_the_loop_guard_counts_the_addresses_replied_to_not_every_reply_to(
    tmp_path: Path,
) -> None:
    """A Reply-To of 1,200 addresses: the batch's count still asks for two (the first
    Reply-To and From), in one query; the reply goes to the first Reply-To."""
    storage = _storage(tmp_path)
    listed = ", ".join(f"r{i}@customer.test" for i in range(1200))
    raw = make_mail(sender="Customer <c@customer.test>", headers={"Reply-To": listed})
    sizes: list[int] = []

    def _sent(*args: Any) -> None:
        if "FROM outbox" in str(args[2]):
            sizes.append(len(args[3]))

    event.listen(storage.engine, "before_cursor_execute", _sent)
    try:
        [result] = ingest_service(storage).ingest_batch([Arrival(raw)])
    finally:
        event.remove(storage.engine, "before_cursor_execute", _sent)
    assert len(result.items) == 1
    assert len(sizes) == 1 and sizes[0] <= 2 + 3, sizes  # two addresses, the kinds, the time
    with storage.reading() as uow:
        assert [o.recipients for o in uow.outbox.all()] == [["r0@customer.test"]]
