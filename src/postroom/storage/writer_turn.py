"""One SQLite writer at a time, queued without SQLite's sleep-and-retry.

SQLite lets one connection write at a time. A second ``BEGIN IMMEDIATE`` waits in
SQLite's busy handler, which sleeps in steps growing to 100 ms: with several poll
threads in several processes each waiting writer oversleeps the lock by tens of
milliseconds, and its mailbox stands still meanwhile. So Postroom's writers take a
turn before BEGIN: a thread lock among the threads of a process (handed over at
once), then an advisory lock on ``<database>-writer`` among processes, waited for in
the kernel (`_LockWaiter`: handed over as soon as it is let go, no CPU while waiting;
a wait polled every millisecond could leave the lock idle up to a millisecond at each
handover, and cost a wake-up a millisecond). The turn ends when the
transaction commits or rolls back, or when its connection closes; the kernel drops the
file lock of a process that dies. Other programs writing the database still meet
SQLite's own busy timeout.

Work that waits for the disk is done after the turn (see `TurnConnection.commit`): the
connections run with ``synchronous=NORMAL``, so SQLite's commit only writes the WAL,
and the committing thread flushes it (``fsync``) once it has given the turn back,
before ``commit`` returns. A commit is as durable as with ``synchronous=FULL`` (the
frames of every transaction committed so far are on disk when it returns; SQLite syncs
the WAL before, and the database file after, each checkpoint, so frames reused after
a checkpoint are already in the database), and the next writer need not wait for the
disk. WAL checkpoints run after the turn too.

A transaction may ask not to wait for the disk at all (`flush_later`): its commit hands
the flush to the turn's flusher thread and returns once the WAL holds it in the OS's
cache. That survives the process being killed (``kill -9``: the kernel still writes the
cache out), not a power loss or an OS crash until the flusher's ``fsync`` is done, a
few milliseconds later; any later commit that waits for its flush covers it too. The
outbox sender's ``delivering`` mark uses it (`storage.sending`).
"""

from __future__ import annotations

import fcntl
import logging
import os
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any

CHECKPOINT_EVERY = 1.0
"""Seconds between WAL checkpoints of one process (the WAL holds about that much writing)."""
_FLUSHER_IDLE = 30.0
"""Seconds the flusher thread waits for work before it ends."""
log = logging.getLogger(__name__)


class TurnUnavailable(sqlite3.OperationalError):
    """The database cannot be written now: no writer turn within the timeout, or the WAL
    could not be flushed. An outage by its type (`storage.database` turns it into
    `StorageUnavailableError`); a `sqlite3.OperationalError` still, so SQLAlchemy wraps it
    as it wraps SQLite's own, which carry a result code where this one has none."""


class WriterTurn:
    """The turn of one database file, shared by every connection to it in this process."""

    def __init__(self, database: Path, timeout: float) -> None:
        self.lock_path = Path(f"{database}-writer")
        self.wal_path = Path(f"{database}-wal")
        self.timeout = timeout
        self._threads = threading.Lock()
        self._fd: int | None = None
        self._pid = 0
        self._checkpointed = 0.0
        self._checkpoint_lock = threading.Lock()
        self._flush_asked = threading.Condition()
        self._flush_wanted = False
        self._flusher: threading.Thread | None = None
        self._flusher_pid = 0
        self._lock_waiter: _LockWaiter | None = None
        self._waiter_pid = 0

    def acquire(self) -> None:
        deadline = time.monotonic() + self.timeout
        if not self._threads.acquire(timeout=self.timeout):
            raise TurnUnavailable("database is locked (no writer turn)")
        try:
            fd = self._file()
            waiter = self._lock_waiter if self._waiter_pid == os.getpid() else None
            # Not while the waiter still waits for a caller that gave up: the lock it then
            # takes is this open file's, which a LOCK_NB here would share, and it lets go.
            if waiter is None or waiter.idle():
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    return
                except BlockingIOError:
                    pass
            if not self._waiter().lock(fd, deadline - time.monotonic()):
                raise TurnUnavailable("database is locked (another process holds the writer turn)")
        except BaseException:
            self._threads.release()
            raise

    def _waiter(self) -> _LockWaiter:
        if self._waiter_pid != os.getpid():  # a child process (fork) starts its own
            self._lock_waiter, self._waiter_pid = _LockWaiter(), os.getpid()
        assert self._lock_waiter is not None
        return self._lock_waiter

    def checkpoint_due(self) -> bool:
        """At most one checkpoint a `CHECKPOINT_EVERY` seconds from this process."""
        now = time.monotonic()
        with self._checkpoint_lock:
            if now - self._checkpointed < CHECKPOINT_EVERY:
                return False
            self._checkpointed = now
            return True

    def flush_log(self) -> None:
        """Put the WAL on disk: every transaction committed so far becomes durable."""
        try:
            fd = os.open(self.wal_path, os.O_RDONLY | os.O_CLOEXEC)
        except FileNotFoundError:  # no WAL: all of it was checkpointed and synced
            return
        try:
            os.fsync(fd)
        except OSError as exc:
            raise TurnUnavailable(f"could not flush the database log: {exc.strerror}") from exc
        finally:
            os.close(fd)

    def flush_soon(self) -> None:
        """`flush_log` from the turn's flusher thread: the caller does not wait for the
        disk. Asks made while a flush runs are served by one more flush after it."""
        if self._flusher_pid != os.getpid():  # a child process (fork) starts its own
            self._flush_asked, self._flush_wanted = threading.Condition(), False
            self._flusher, self._flusher_pid = None, os.getpid()
        with self._flush_asked:
            self._flush_wanted = True
            if self._flusher is None or not self._flusher.is_alive():
                self._flusher = threading.Thread(
                    target=self._flush_when_asked, name="sqlite-wal-flusher", daemon=True
                )
                self._flusher.start()
            self._flush_asked.notify()

    def _flush_when_asked(self) -> None:
        asked = self._flush_asked
        while True:
            with asked:
                while not self._flush_wanted:
                    if not asked.wait(timeout=_FLUSHER_IDLE) and not self._flush_wanted:
                        self._flusher = None  # the next ask starts another
                        return
                self._flush_wanted = False
            try:
                self.flush_log()
            except TurnUnavailable as exc:  # the next commit that waits for its flush fails
                log.warning("%s", exc)

    def release(self) -> None:
        try:
            if self._fd is not None and self._pid == os.getpid():
                fcntl.flock(self._fd, fcntl.LOCK_UN)
        finally:
            self._threads.release()

    def _file(self) -> int:
        # A file lock belongs to an open file description: a child process (fork) opens
        # its own, or it would share its parent's turn.
        if self._fd is None or self._pid != os.getpid():
            self._fd = os.open(self.lock_path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
            self._pid = os.getpid()
        return self._fd


class _LockWaiter:
    """A thread that waits in the kernel (a blocking ``flock``) for the turn's file lock,
    for the one thread of the process that holds the process's turn lock and found the
    file locked by another process; `lock` gives up after its timeout.

    ``flock`` cannot time out by itself, so the wait is this thread's: a caller that gave
    up is told apart by its ask's number, and a lock granted to an ask nobody waits for
    any more is let go at once. A file lock belongs to the open file, not to a thread, so
    the caller holds what this thread took.
    """

    def __init__(self) -> None:
        self._changed = threading.Condition()
        self._asked: tuple[int, int] | None = None
        """(ask number, file descriptor) not yet taken up by the thread."""
        self._waiting = 0
        """The ask a caller still waits for (0: none)."""
        self._granted = 0
        self._failed: OSError | None = None
        self._count = 0
        self._busy = False
        """The thread is taking an ask (blocked in ``flock``, or letting a lock go)."""
        self._thread = threading.Thread(target=self._run, name="sqlite-writer-wait", daemon=True)
        self._thread.start()

    def idle(self) -> bool:
        """No ask in hand: the open file holds no lock of this thread's making."""
        with self._changed:
            return not self._busy and self._asked is None

    def lock(self, fd: int, timeout: float) -> bool:
        """Take the file lock of ``fd``; False when it was not free within ``timeout``."""
        with self._changed:
            self._count += 1
            ask = self._waiting = self._count
            self._failed = None
            self._asked = (ask, fd)
            self._changed.notify_all()
            done = self._changed.wait_for(
                lambda: self._granted == ask or self._failed is not None, max(timeout, 0.0)
            )
            self._waiting = 0
            if self._failed is not None:
                raise TurnUnavailable(f"cannot lock the writer turn: {self._failed.strerror}")
            return done and self._granted == ask

    def _run(self) -> None:
        while True:
            with self._changed:
                self._changed.wait_for(lambda: self._asked is not None)
                assert self._asked is not None
                (ask, fd), self._asked = self._asked, None
                self._busy = True
            try:
                fcntl.flock(fd, fcntl.LOCK_EX)
            except OSError as exc:
                with self._changed:
                    self._busy = False
                    if self._waiting == ask:
                        self._failed = exc
                        self._changed.notify_all()
                continue
            with self._changed:
                if self._waiting == ask:
                    self._busy = False
                    self._granted = ask
                    self._changed.notify_all()
                    continue
            fcntl.flock(fd, fcntl.LOCK_UN)  # its caller gave up meanwhile
            with self._changed:
                self._busy = False


_TURNS: dict[str, WriterTurn] = {}
_TURNS_LOCK = threading.Lock()


def turn_for(database: Path, timeout: float) -> WriterTurn:
    """The process-wide turn of ``database`` (one per file, whatever the engines)."""
    key = str(database.resolve())
    with _TURNS_LOCK:
        turn = _TURNS.get(key)
        if turn is None:
            turn = _TURNS[key] = WriterTurn(Path(key), timeout)
        return turn


class TurnConnection(sqlite3.Connection):
    """A sqlite3 connection that gives its writer turn back when its transaction ends."""

    turn: WriterTurn | None = None
    holding = False
    flush_later = False
    """The transaction being written commits without waiting for its flush (`WriterTurn.
    flush_soon`); set by `flush_later`, cleared when the transaction ends."""

    def take_turn(self) -> None:
        if self.turn is not None and not self.holding:
            self.turn.acquire()
            self.holding = True

    def give_back(self) -> None:
        if self.holding and self.turn is not None:
            self.holding = False
            self.turn.release()

    def commit(self) -> None:
        wrote, later = self.holding, self.flush_later
        self.flush_later = False
        try:
            super().commit()
        finally:
            self.give_back()
        if wrote and self.turn is not None:
            if later:  # nor does it checkpoint (two flushes): the next commit that waits does
                self.turn.flush_soon()
                return
            self.turn.flush_log()
            if self.turn.checkpoint_due():
                self._checkpoint()

    def _checkpoint(self) -> None:
        """Copy the WAL into the database file, after the turn: a PASSIVE checkpoint waits
        for no reader or writer, and SQLite's own (``wal_autocheckpoint``, switched off)
        would run inside the committing writer's turn and keep every other writer waiting."""
        try:
            self.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
        except sqlite3.Error as exc:  # the next writer's checkpoint tries again
            log.debug("checkpoint skipped: %s", exc)

    def rollback(self) -> None:
        self.flush_later = False
        try:
            super().rollback()
        finally:
            self.give_back()

    def close(self) -> None:
        try:
            super().close()
        finally:
            self.give_back()


def flush_later(dbapi_connection: object) -> None:
    """The transaction open on this connection will commit without waiting for the disk:
    durable against a killed process at once, against a power loss a flush later (see the
    module docstring). Nothing changes on a connection that does not take turns."""
    if isinstance(dbapi_connection, TurnConnection):
        dbapi_connection.flush_later = True


def connect_args(database: Path, timeout: float) -> dict[str, Any]:
    """`create_engine` connect_args for a file database whose writers take turns."""

    class _Connection(TurnConnection):
        turn = turn_for(database, timeout)

    return {"timeout": timeout, "factory": _Connection}
