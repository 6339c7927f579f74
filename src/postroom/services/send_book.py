"""The outbox's bookkeeping in a round: writes of several connections in one transaction.

Each message costs the sender two writes: the ``delivering`` mark, durable before the
final dot, and the outcome after the server's reply. Each in a transaction of its own
cost more than the SMTP exchange (a commit, on SQLite a flush, each). Here they are
grouped, the way a database groups commits:

* A mark is written at once (`GroupWrites.now`): the connection waits for the commit
  before it sends the dot, as before (on SQLite not for the disk: `storage.sending`).
  Marks asked for while a transaction is being written wait for it and go together in
  the next one: connections that reach the dot at the same time share one commit.
* An outcome is queued (`GroupWrites.later`) and goes with the next transaction, the next
  mark of any connection or the end of the connection's work (`flush`). Until then the
  row is ``delivering``: a process stopped meanwhile leaves it for `unknown`, never sent
  again, which is what a stop between the dot and the outcome always meant; the window is
  at most one more message of some connection. Nothing is sent twice for it.

What a write must do once its transaction committed (a job marked done, a count) it
returns as a callable, run after the commit only: a transaction that fails leaves its
writes' jobs as they were, for the round to owe (`services/send.py`).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from postroom.storage.unit import Storage, UnitOfWork, Writer

AfterCommit = Callable[[], None]
Write = Callable[[UnitOfWork], Any]


@dataclass(eq=False)
class _Ask:
    write: Write
    result: Any = None
    error: BaseException | None = None
    finished: bool = False


class GroupWrites:
    """Writes from several threads, grouped into as few transactions as they allow."""

    def __init__(self, storage: Storage) -> None:
        self.storage = storage
        self._lock = threading.Condition()
        self._waiting: list[_Ask] = []
        self._writing = False
        self._writer: Writer | None = None

    @contextmanager
    def holding(self) -> Iterator[None]:
        """The transactions of this block on one connection (`Storage.writer`): a round
        writes one or two a message, and taking a connection from the pool and giving it
        back costs a fifth of each."""
        with self.storage.writer() as writer:
            self._writer = writer
            try:
                yield
            finally:
                self._writer = None

    def later(self, write: Callable[[UnitOfWork], AfterCommit | None]) -> None:
        """Queue ``write`` for the next transaction; what it returns runs after the commit."""
        with self._lock:
            self._waiting.append(_Ask(_then(write)))

    def now(self, write: Write) -> Any:
        """Run ``write`` in a transaction and return its result once that has committed;
        raises what the transaction raised."""
        ask = _Ask(write)
        with self._lock:
            self._waiting.append(ask)
            while not ask.finished:
                if self._writing:
                    self._lock.wait()
                    continue
                self._writing = True
                group, self._waiting = self._waiting, []
                self._lock.release()
                try:
                    _commit(self._writer or self.storage, group)
                finally:
                    self._lock.acquire()
                    self._writing = False
                    self._lock.notify_all()
        if ask.error is not None:
            raise ask.error
        return ask.result

    def drop(self) -> None:
        """Forget what is queued: the round owes it (`OutboxSender` after an outage)."""
        with self._lock:
            self._waiting = []

    def flush(self) -> None:
        """Write what is queued (a transaction only if something is)."""
        with self._lock:
            if not self._waiting:
                return
        self.now(lambda uow: None)


def _then(write: Callable[[UnitOfWork], AfterCommit | None]) -> Write:
    def run(uow: UnitOfWork) -> _After:
        return _After(write(uow))

    return run


@dataclass(frozen=True)
class _After:
    call: AfterCommit | None


def _commit(storage: Storage | Writer, group: list[_Ask]) -> None:
    try:
        with storage.writing() as uow:
            for ask in group:
                ask.result = ask.write(uow)
    except BaseException as exc:  # noqa: BLE001 - handed to every waiting writer, raised there
        for ask in group:
            ask.error, ask.finished = exc, True
        return
    for ask in group:
        ask.finished = True
        if isinstance(ask.result, _After) and ask.result.call is not None:
            ask.result.call()
