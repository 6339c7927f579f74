"""Grouped writes of the outbox's round (`services/send_book.py`) on a SQLite file: queued
writes go with the next transaction, what they do after the commit runs only if it
committed, and a failed transaction is raised to the writer who waits for it."""

from __future__ import annotations

import threading
from datetime import datetime
from pathlib import Path

import pytest
from sqlalchemy import event

from postroom.errors import StorageUnavailableError
from postroom.services.send_book import AfterCommit, GroupWrites
from postroom.storage import writer_turn
from postroom.storage.blobs import FileBlobStore
from postroom.storage.database import ensure_schema, make_engine
from postroom.storage.unit import Storage, UnitOfWork

NOW = datetime(2026, 12, 2, 9, 0)


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


def test_writes_while_holding_share_one_pooled_connection_and_survive_a_failed_one(
    storage: Storage,
) -> None:
    """A round's transactions (one or two a message) take no connection from the pool each;
    one that fails rolls back alone and the next goes on on the same connection."""
    book = GroupWrites(storage)
    checkouts: list[object] = []
    event.listen(storage.engine, "checkout", lambda *args: checkouts.append(args[0]))
    with book.holding():
        for n in range(5):
            book.later(lambda uow, n=n: _user(uow, f"queued{n}"))
            book.now(lambda uow, n=n: _user(uow, f"marked{n}"))
        with pytest.raises(StorageUnavailableError):
            book.now(_fails_after_a_write)
        book.now(lambda uow: _user(uow, "after"))
        book.later(lambda uow: _user(uow, "last"))
        book.flush()
    assert len(checkouts) == 1
    with storage.writing() as uow:  # the connection went back to the pool, with no lock
        _user(uow, "later")
        names = {user.name for user in uow.config.users()}
    assert names == {f"queued{n}" for n in range(5)} | {f"marked{n}" for n in range(5)} | {
        "after",
        "last",
        "later",
    }


def _user(uow: UnitOfWork, name: str) -> None:
    uow.config.add_user(name, None, "agent", NOW)


def _fails_after_a_write(uow: UnitOfWork) -> None:
    _user(uow, "half")
    raise StorageUnavailableError("gone")


def test_a_held_connection_that_could_not_begin_begins_the_next_transaction(
    storage: Storage, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No writer turn (another process held it past the timeout) fails that transaction
    alone, as an outage; the round's next one takes the turn on the same connection."""
    real = writer_turn.WriterTurn.acquire
    refusals = [writer_turn.TurnUnavailable("database is locked (no writer turn)")]

    def acquire(turn: writer_turn.WriterTurn) -> None:
        if refusals:
            raise refusals.pop()
        real(turn)

    monkeypatch.setattr(writer_turn.WriterTurn, "acquire", acquire)
    book = GroupWrites(storage)
    with book.holding():
        with pytest.raises(StorageUnavailableError):
            book.now(lambda uow: _user(uow, "refused"))
        book.now(lambda uow: _user(uow, "next"))
    with storage.reading() as uow:
        assert [user.name for user in uow.config.users()] == ["next"]
