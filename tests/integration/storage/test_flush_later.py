"""A transaction that commits without waiting for the disk (the outbox's ``delivering``
mark): its commit returns before any flush, the turn's flusher thread flushes the WAL
soon after, and every other commit still waits for its own flush."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, insert, text

from postroom.records.statuses import OutboxStatus
from postroom.storage.database import ensure_schema, make_engine, reading
from postroom.storage.sending import SendingRepository
from postroom.storage.tables import outbox
from postroom.storage.writer_turn import flush_later

NOW = datetime(2026, 12, 2, 5, 0)


class Flushes:
    """The WAL's fsyncs, by thread; `wait` returns once one came from another thread."""

    def __init__(self) -> None:
        self.threads: list[str] = []
        self.elsewhere = threading.Event()

    def seen(self, name: str) -> None:
        self.threads.append(name)
        if name != threading.main_thread().name:
            self.elsewhere.set()


@pytest.fixture
def flushes(monkeypatch: pytest.MonkeyPatch) -> Iterator[Flushes]:
    seen = Flushes()
    real_fsync = os.fsync

    def fsync(fd: int) -> None:
        if os.readlink(f"/proc/self/fd/{fd}").endswith("-wal"):
            seen.seen(threading.current_thread().name)
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", fsync)
    yield seen


def engine_at(path: Path) -> Engine:
    engine = make_engine(f"sqlite:///{path}")
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE IF NOT EXISTS t (n INTEGER)"))
    return engine


def test_a_commit_asked_to_flush_later_leaves_the_flush_to_the_flusher(
    tmp_path: Path, flushes: Flushes
) -> None:
    engine = engine_at(tmp_path / "db.sqlite")
    flushes.threads.clear()
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO t VALUES (1)"))
        flush_later(conn.connection.dbapi_connection)
    assert threading.main_thread().name not in flushes.threads  # returned without waiting
    assert flushes.elsewhere.wait(timeout=30)
    assert flushes.threads[-1] == "sqlite-wal-flusher"
    with reading(engine) as conn:  # committed, visible to every connection
        assert conn.execute(text("SELECT count(*) FROM t")).scalar() == 1
    # The next transaction is an ordinary one again: it waits for its own flush.
    before = flushes.threads.count(threading.main_thread().name)
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO t VALUES (2)"))
    assert flushes.threads.count(threading.main_thread().name) == before + 1


def test_a_rolled_back_request_does_not_carry_over(tmp_path: Path, flushes: Flushes) -> None:
    engine = engine_at(tmp_path / "db.sqlite")
    with pytest.raises(RuntimeError), engine.begin() as conn:
        flush_later(conn.connection.dbapi_connection)
        raise RuntimeError("rolled back")
    flushes.threads.clear()
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO t VALUES (1)"))
    assert flushes.threads == [threading.main_thread().name]


def test_the_delivering_mark_commits_without_waiting_and_the_outcome_waits(
    tmp_path: Path, flushes: Flushes
) -> None:
    """The sender's mark, just before the final dot, does not wait for the disk (the WAL
    in the OS's cache survives a killed process); the outcome's transaction does."""
    engine = make_engine(f"sqlite:///{tmp_path / 'db.sqlite'}")
    ensure_schema(engine)
    with engine.begin() as conn:
        conn.execute(
            insert(outbox).values(
                id=1,
                kind="reply",
                sender="a@example.test",
                recipients=["b@customer.test"],
                subject="s",
                message_id="<m@example.test>",
                raw_sha256="ab",
                status=OutboxStatus.QUEUED.value,
                attempts=0,
                next_attempt=NOW,
                created_at=NOW,
            )
        )
    token = SendingRepository.lease_token(NOW, timedelta(minutes=5))
    with engine.begin() as conn:
        assert SendingRepository(conn).claim_due(NOW, token)
    flushes.threads.clear()
    with engine.begin() as conn:
        assert SendingRepository(conn).start_delivery(1, token, token, {})
    assert threading.main_thread().name not in flushes.threads
    assert flushes.elsewhere.wait(timeout=30)
    with engine.begin() as conn:
        assert SendingRepository(conn).finish(1, token, status=OutboxStatus.SENT.value)
    assert flushes.threads[-1] == threading.main_thread().name
