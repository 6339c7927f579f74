"""Where a queued message's bytes live: a small one in its outbox row (no blob file), a
larger one as a blob; `Storage.outbound_bytes` gives either, and a row queued before the
row could hold them (its ``raw`` NULL) is read from its blob."""

from __future__ import annotations

import dataclasses
import hashlib
from pathlib import Path

import pytest

from postroom.mime.compose import Attachment
from postroom.services.reply import ReplyService
from postroom.storage.outbox import INLINE_MAX
from postroom.storage.unit import Storage
from support.mails import make_mail
from unit.services.mail_fakes import NOW, SENDER, ingest_service, routed_storage


@pytest.fixture
def storage(tmp_path: Path) -> Storage:
    return routed_storage(tmp_path)


def _reply(storage: Storage, attachments: tuple[Attachment, ...] = ()) -> int:
    ingested = ingest_service(storage).ingest(make_mail(subject="my invoice"))
    ref = ingested.items[0].reference
    queued = ReplyService(storage, SENDER).queue_reply(
        reference=ref, body="Thanks!", now=NOW, attachments=attachments
    )
    return queued.outbox_id


def _blob_files(root: Path) -> set[str]:
    return {p.name for p in root.rglob("*") if p.is_file()}


def test_a_small_reply_is_kept_in_its_row_without_a_blob_file(storage: Storage) -> None:
    files_before = _blob_files(storage.blobs.root)
    outbox_id = _reply(storage)
    with storage.reading() as uow:
        row = uow.outbox.get(outbox_id)
    assert row.raw is not None and b"Thanks!" in row.raw
    assert hashlib.sha256(row.raw).hexdigest() == row.raw_sha256
    assert not storage.blobs.exists(row.raw_sha256)
    assert len(_blob_files(storage.blobs.root) - files_before) == 1  # the customer's message
    assert storage.outbound_bytes(row) == row.raw


def test_a_reply_larger_than_the_row_takes_is_a_blob(storage: Storage) -> None:
    big = Attachment("scan.pdf", "application/pdf", b"%PDF-1.4\n" + b"x" * INLINE_MAX)
    outbox_id = _reply(storage, (big,))
    with storage.reading() as uow:
        row = uow.outbox.get(outbox_id)
    assert row.raw is None
    raw = storage.outbound_bytes(row)
    assert len(raw) > INLINE_MAX and hashlib.sha256(raw).hexdigest() == row.raw_sha256
    assert storage.blobs.exists(row.raw_sha256)


def test_a_row_without_its_bytes_is_read_from_its_blob(storage: Storage) -> None:
    """A row queued before revision 0012 names a blob and holds no bytes."""
    outbox_id = _reply(storage)
    with storage.reading() as uow:
        row = uow.outbox.get(outbox_id)
    assert row.raw is not None
    sha = storage.blobs.put(row.raw)
    older = dataclasses.replace(row, raw=None)
    assert sha == older.raw_sha256
    assert storage.outbound_bytes(older) == row.raw


def test_the_listing_leaves_the_bytes_in_the_database(storage: Storage) -> None:
    _reply(storage)
    with storage.reading() as uow:
        [listed] = uow.outbox.all()
    assert listed.raw is None and listed.reference is not None
