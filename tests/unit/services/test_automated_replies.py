"""Acknowledgements as the ingest service queues them (issue 12, item 2): written by the
direct writer, stored through the unit's staged blobs and made durable together, once per
batch (not once per reply), on SQLite in memory."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import default
from pathlib import Path

from postroom.domain.routes import Route
from postroom.services.ingest import Arrival
from postroom.storage.blobs import FileBlobStore
from postroom.storage.database import ensure_schema, make_engine
from postroom.storage.unit import Storage
from support.mails import make_mail
from unit.services.mail_fakes import NOW, ingest_service

ROUTE_ADDRESS = "support@example.com"


class CountingDurability:
    """Counts the flushes: each `sync_files` is one trip to the disk."""

    def __init__(self) -> None:
        self.flushes: list[int] = []

    def sync_files(self, root: Path, files: Iterable[Path]) -> None:
        self.flushes.append(len(list(files)))

    def sync_names(self, root: Path, folders: Iterable[Path]) -> None:
        pass


def test_a_batch_of_acknowledged_mail_flushes_its_replies_together(tmp_path: Path) -> None:
    durability = CountingDurability()
    engine = make_engine("sqlite://")
    ensure_schema(engine)
    blobs = FileBlobStore(tmp_path / "blobs", durability=durability)
    storage = Storage(engine, blobs)
    with storage.writing() as uow:
        uow.config.add_route(Route(ROUTE_ADDRESS, "Acme", "Query", "q", True), NOW)
    service = ingest_service(storage)
    names = ["Carol Customer", "Chloé Garcia", "山田太郎"]
    mails = [
        make_mail(subject=f"Réclamation n° {i}", sender=f"{names[i % 3]} <c{i}@customer.test>")
        for i in range(6)
    ]
    results = service.ingest_batch([Arrival(raw) for raw in mails])
    assert [len(r.items) for r in results] == [1] * 6
    # Six messages flushed once, before the batch's commit; the six replies are in their
    # outbox rows, committed with it: no file, no flush of their own.
    assert durability.flushes == [6]
    with storage.reading() as uow:
        queued = [uow.outbox.get(q.id) for q in uow.outbox.all()]
    assert [q.kind for q in queued] == ["acknowledgement"] * 6
    for i, (row, result) in enumerate(zip(queued, results, strict=True)):
        assert row.raw is not None and not blobs.exists(row.raw_sha256)
        assert hashlib.sha256(row.raw).hexdigest() == row.raw_sha256
        parsed = message_from_bytes(storage.outbound_bytes(row), policy=default)
        assert isinstance(parsed, EmailMessage)
        reference = result.items[0].reference
        assert str(parsed["Subject"]) == f"[{reference}] Réclamation n° {i}"
        assert (str(parsed["From"]), str(parsed["To"])) == (ROUTE_ADDRESS, f"c{i}@customer.test")
        assert str(parsed["Auto-Submitted"]) == "auto-replied"
        assert str(parsed["Message-ID"]) == row.message_id
        assert names[i % 3] in parsed.get_content()
