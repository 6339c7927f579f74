"""Grouped writes of the outbox's round (`services/send_book.py`) on a SQLite file: queued
writes go with the next transaction, what they do after the commit runs only if it
committed, and a failed transaction is raised to the writer who waits for it."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from postroom.errors import StorageUnavailableError
from postroom.services.send_book import AfterCommit, GroupWrites
from postroom.storage.blobs import FileBlobStore
from postroom.storage.database import ensure_schema, make_engine
from postroom.storage.unit import Storage, UnitOfWork


@pytest.fixture
def storage(tmp_path: Path) -> Storage:
    engine = make_engine(f"sqlite:///{tmp_path / 'book.db'}")
    ensure_schema(engine)
    return Storage(engine, FileBlobStore(tmp_path / "blobs", fsync=False))


def test_queued_writes_go_with_the_next_transaction_and_run_after_its_commit(
    storage: Storage,
) -> None:
    book = GroupWrites(storage)
    transactions: list[int] = []
    done: list[str] = []

    def queued(uow: UnitOfWork) -> AfterCommit:
        transactions.append(id(uow))
        return lambda: done.append("queued")

    book.later(queued)
    assert transactions == [] and done == []
    assert book.now(lambda uow: transactions.append(id(uow)) or "marked") == "marked"
    assert len(transactions) == 2 and len(set(transactions)) == 1  # one transaction
    assert done == ["queued"]
    book.flush()  # nothing left: no transaction
    assert len(transactions) == 2


def test_a_failed_transaction_raises_to_its_writer_and_runs_nothing_after(
    storage: Storage,
) -> None:
    book = GroupWrites(storage)
    done: list[str] = []
    book.later(lambda uow: lambda: done.append("queued"))

    def failing(uow: UnitOfWork) -> None:
        raise StorageUnavailableError("gone")

    with pytest.raises(StorageUnavailableError):
        book.now(failing)
    assert done == []


def test_writers_at_once_all_get_their_own_result(storage: Storage) -> None:
    book = GroupWrites(storage)
    results: dict[int, object] = {}

    def writer(n: int) -> None:
        results[n] = book.now(lambda uow: n * 10)

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert results == {n: n * 10 for n in range(8)}
