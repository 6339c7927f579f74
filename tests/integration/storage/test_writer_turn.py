"""SQLite writers take turns across threads and processes; readers never wait for a writer."""

from __future__ import annotations

import fcntl
import os
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from sqlalchemy import Engine, text

from postroom.storage.database import make_engine, reading
from postroom.storage.writer_turn import WriterTurn, turn_for


def engine_at(path: Path) -> Engine:
    engine = make_engine(f"sqlite:///{path}")
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE IF NOT EXISTS t (who TEXT, n INTEGER)"))
    return engine


def _writer(path: str, who: str, count: int) -> None:
    engine = make_engine(f"sqlite:///{path}")
    for n in range(count):
        with engine.begin() as conn:
            conn.execute(text("INSERT INTO t VALUES (:who, :n)"), {"who": who, "n": n})
    engine.dispose()


_WRITER_PROCESS = """
import sys
from sqlalchemy import text
from postroom.storage.database import make_engine
engine = make_engine(f"sqlite:///{sys.argv[1]}")
for n in range(int(sys.argv[3])):
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO t VALUES (:who, :n)"), {"who": sys.argv[2], "n": n})
"""


def test_processes_and_threads_write_in_turn(tmp_path: Path) -> None:
    path = tmp_path / "db.sqlite"
    engine_at(path).dispose()
    procs = [
        subprocess.Popen([sys.executable, "-c", _WRITER_PROCESS, str(path), f"p{i}", "150"])
        for i in range(2)
    ]
    threads = [threading.Thread(target=_writer, args=(str(path), f"t{i}", 150)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert [p.wait(timeout=120) for p in procs] == [0, 0]
    with reading(engine_at(path)) as conn:
        counts = dict(conn.execute(text("SELECT who, count(*) FROM t GROUP BY who")).all())
    assert counts == {"p0": 150, "p1": 150, "t0": 150, "t1": 150}


def test_the_turn_ends_with_commit_rollback_and_close(tmp_path: Path) -> None:
    path = tmp_path / "db.sqlite"
    engine = engine_at(path)
    turn = turn_for(path, 30)
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO t VALUES ('a', 1)"))
    assert _free(turn)
    with pytest.raises(RuntimeError), engine.begin() as conn:
        conn.execute(text("INSERT INTO t VALUES ('b', 1)"))
        raise RuntimeError("rolled back")
    assert _free(turn)
    conn = engine.connect()
    conn.begin()
    assert not _free(turn)
    conn.invalidate()  # the DBAPI connection is closed without commit or rollback
    assert _free(turn)


def test_a_reader_does_not_wait_for_a_writer(tmp_path: Path) -> None:
    engine = engine_at(tmp_path / "db.sqlite")
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO t VALUES ('committed', 1)"))
    writing = threading.Event()
    done = threading.Event()

    def hold_the_write_lock() -> None:
        with engine.begin() as conn:
            conn.execute(text("INSERT INTO t VALUES ('pending', 1)"))
            writing.set()
            done.wait(30)

    writer = threading.Thread(target=hold_the_write_lock)
    writer.start()
    try:
        assert writing.wait(10)
        with reading(engine) as conn:  # would block for the busy timeout with BEGIN IMMEDIATE
            seen = conn.execute(text("SELECT who FROM t")).scalars().all()
        assert seen == ["committed"]
    finally:
        done.set()
        writer.join()


def test_a_turn_held_elsewhere_times_out_with_a_clear_error(tmp_path: Path) -> None:
    database = tmp_path / "db.sqlite"
    holder = os.open(tmp_path / "db.sqlite-writer", os.O_RDWR | os.O_CREAT)
    fcntl.flock(holder, fcntl.LOCK_EX)  # another open file: as another process would hold it
    try:
        turn = WriterTurn(database, timeout=0.3)
        started = time.monotonic()
        with pytest.raises(sqlite3.OperationalError, match="database is locked"):
            turn.acquire()
        assert time.monotonic() - started >= 0.3
        fcntl.flock(holder, fcntl.LOCK_UN)
        turn.acquire()  # free again: taken at once
        turn.release()
    finally:
        os.close(holder)


def test_a_turn_let_go_elsewhere_is_handed_over_and_a_wait_given_up_keeps_nothing(
    tmp_path: Path,
) -> None:
    """The wait for another process's turn is the kernel's: the turn is taken when it is
    let go, and a wait that timed out leaves the lock to others once it is free."""
    database = tmp_path / "db.sqlite"
    holder = os.open(tmp_path / "db.sqlite-writer", os.O_RDWR | os.O_CREAT)
    try:
        fcntl.flock(holder, fcntl.LOCK_EX)
        turn = WriterTurn(database, timeout=0.2)
        with pytest.raises(sqlite3.OperationalError, match="another process holds"):
            turn.acquire()
        fcntl.flock(holder, fcntl.LOCK_UN)
        # The given-up wait's thread takes the lock when it comes free and lets it go.
        deadline = time.monotonic() + 5
        while True:
            try:
                fcntl.flock(holder, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                assert time.monotonic() < deadline, "a given-up wait kept the writer turn"
                time.sleep(0.01)
        turn.timeout = 30.0
        threading.Timer(0.3, fcntl.flock, (holder, fcntl.LOCK_UN)).start()
        turn.acquire()  # waits for the holder's release
        with pytest.raises(BlockingIOError):
            fcntl.flock(holder, fcntl.LOCK_EX | fcntl.LOCK_NB)
        turn.release()
        fcntl.flock(holder, fcntl.LOCK_EX | fcntl.LOCK_NB)
    finally:
        os.close(holder)


def test_a_turn_taken_while_a_given_up_wait_goes_on_is_kept(tmp_path: Path) -> None:
    """A wait that timed out goes on in the waiter's thread, which lets the lock go once it
    gets it: the next acquire must wait behind it, not share the lock it is about to let go."""
    database = tmp_path / "db.sqlite"
    holder = os.open(tmp_path / "db.sqlite-writer", os.O_RDWR | os.O_CREAT)
    try:
        fcntl.flock(holder, fcntl.LOCK_EX)
        turn = WriterTurn(database, timeout=0.2)
        with pytest.raises(sqlite3.OperationalError, match="another process holds"):
            turn.acquire()
        assert turn._lock_waiter is not None and not turn._lock_waiter.idle()
        turn.timeout = 30.0
        threading.Timer(0.2, fcntl.flock, (holder, fcntl.LOCK_UN)).start()
        turn.acquire()
        deadline = time.monotonic() + 0.5
        while time.monotonic() < deadline:  # still ours after the given-up ask is let go
            with pytest.raises(BlockingIOError):
                fcntl.flock(holder, fcntl.LOCK_EX | fcntl.LOCK_NB)
            time.sleep(0.02)
        turn.release()
        fcntl.flock(holder, fcntl.LOCK_EX | fcntl.LOCK_NB)
    finally:
        os.close(holder)


def _free(turn: WriterTurn) -> bool:
    """Whether another thread could take the turn right now."""
    result: list[bool] = []

    def probe() -> None:
        probe_turn = WriterTurn(Path(str(turn.lock_path).removesuffix("-writer")), timeout=0.2)
        try:
            probe_turn.acquire()
        except sqlite3.OperationalError:
            result.append(False)
        else:
            probe_turn.release()
            result.append(True)

    thread = threading.Thread(target=probe)
    thread.start()
    thread.join()
    # The probe has its own thread lock, so this checks the file lock; check ours too.
    if turn._threads.acquire(timeout=0.2):
        turn._threads.release()
        return result[0]
    return False


def test_a_commit_flushes_the_log_after_giving_the_turn_back(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The disk wait of a commit is not spent in the writer turn, and the commit is still
    on disk when it returns; a read-only transaction flushes nothing."""
    engine = engine_at(tmp_path / "db.sqlite")
    turn = turn_for(tmp_path / "db.sqlite", 1.0)
    flushes: list[tuple[str, bool]] = []
    real_fsync = os.fsync

    def fsync(fd: int) -> None:
        name = os.readlink(f"/proc/self/fd/{fd}")
        if name.endswith("-wal"):
            flushes.append((name, _free(turn)))
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", fsync)
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO t VALUES ('durable', 1)"))
        assert conn.execute(text("PRAGMA synchronous")).scalar() == 1  # NORMAL
    assert flushes == [(str(tmp_path / "db.sqlite-wal"), True)]
    with reading(engine) as conn:
        conn.execute(text("SELECT count(*) FROM t")).scalar()
    assert len(flushes) == 1
