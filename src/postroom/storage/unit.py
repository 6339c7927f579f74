"""The unit of work: the one object a service holds while it reads or writes storage.

Services never see a connection, a table or a SQLAlchemy row. They ask `Storage` for a
unit (``with storage.writing() as uow:`` or ``with storage.reading() as uow:``) and use its
repositories (``uow.channels``, ``uow.items``, …), which take and return plain values and
typed records (`postroom.records`). A writing unit owns everything that lives
and dies with its transaction: the staged blobs (written as they come, made durable once
just before the commit) and, for a batch of messages, the deferred writes and the
batch's already-seen messages; `Storage.turn` is the writer's turn of a process's
batches. Leaving the ``with`` block commits; an exception rolls back.

A database error leaves a unit as one of ours (`postroom.errors`), never as SQLAlchemy's:
an outage as `StorageUnavailableError`, a broken unique key as `StorageConflictError`,
anything else the database refused as `StorageError` (their ``orig`` is the driver's
exception, which names the real cause).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cached_property
from typing import TYPE_CHECKING

from sqlalchemy import Connection, Engine
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError, SQLAlchemyError

from postroom.errors import StorageConflictError, StorageError, StorageUnavailableError
from postroom.records.outbox import OutboxRecord
from postroom.storage.blobs import FileBlobStore, StagedBlobs
from postroom.storage.channels import ChannelRepository
from postroom.storage.communications import CommunicationRepository
from postroom.storage.config import ConfigRepository
from postroom.storage.database import reading as read_only
from postroom.storage.deferred import DeferredWrites
from postroom.storage.handler_store import BatchSeen, HandlerStore
from postroom.storage.messages import MessageRepository
from postroom.storage.metrics import MetricsRepository
from postroom.storage.outbox import OutboxRepository, keep
from postroom.storage.polls import PollRepository
from postroom.storage.sending import SendingRepository
from postroom.storage.servers import ServerRepository
from postroom.storage.workitems import ItemRepository

if TYPE_CHECKING:  # imported on first use: ingest and poll need neither (start-up)
    from postroom.storage.accounts import AccountRepository
    from postroom.storage.oauth import GrantRepository
    from postroom.storage.tallies import TallyRepository


class UnitOfWork:
    """One transaction and its repositories. Made by `Storage`; never by a service."""

    def __init__(
        self,
        conn: Connection,
        blobs: FileBlobStore,
        staged: StagedBlobs | None,
        deferred: DeferredWrites | None = None,
        seen: BatchSeen | None = None,
    ) -> None:
        self.conn = conn
        """For the storage package only (repositories); services do not touch it."""
        self.blobs = blobs
        self.staged = staged
        """Blobs written by this unit, published just before its commit (None: reading)."""
        self.deferred = deferred
        """A batch's writes nothing reads back, made once before the commit (None: at once)."""
        self.seen = seen
        """A batch's messages handled so far, whose rows do not say so yet (None: no batch)."""

    def keep_outbound(self, data: bytes) -> tuple[str, bytes | None]:
        """An outbound message's bytes kept for its outbox row: its SHA-256, and the bytes
        the row holds (a small message) or None once they are a staged blob
        (`storage.outbox.keep`)."""
        assert self.staged is not None, "a writing unit"
        return keep(data, self.staged)

    @contextmanager
    def savepoint(self) -> Iterator[None]:
        """A SAVEPOINT: what fails inside it is undone alone, and leaves as one of our
        errors (a message that breaks a key is a `StorageConflictError`), so the rest of
        the transaction goes on."""
        with _translated(), self.conn.begin_nested():
            yield

    # -- repositories: configuration (channels, SMTP servers, routes, users, outbox) -------

    @cached_property
    def channels(self) -> ChannelRepository:
        return ChannelRepository(self.conn)

    @cached_property
    def servers(self) -> ServerRepository:
        return ServerRepository(self.conn)

    @cached_property
    def config(self) -> ConfigRepository:
        return ConfigRepository(self.conn)

    @cached_property
    def accounts(self) -> AccountRepository:
        from postroom.storage.accounts import AccountRepository

        return AccountRepository(self.conn)

    @cached_property
    def outbox(self) -> OutboxRepository:
        return OutboxRepository(self.conn, self.deferred)

    @cached_property
    def grants(self) -> GrantRepository:
        """OAuth2 sign-ins of channels and SMTP servers (storage/oauth.py)."""
        from postroom.storage.oauth import GrantRepository

        return GrantRepository(self.conn)

    # -- repositories: mail and work items (messages, items, communications) --------------

    @cached_property
    def messages(self) -> MessageRepository:
        return MessageRepository(self.conn)

    @cached_property
    def items(self) -> ItemRepository:
        return ItemRepository(self.conn, self.deferred)

    @cached_property
    def communications(self) -> CommunicationRepository:
        return CommunicationRepository(self.conn)

    @cached_property
    def handler(self) -> HandlerStore:
        return HandlerStore(self.conn, self.items, self.seen, self.deferred)

    # -- repositories: polling and sending (channels' poll state, the outbox's leases) -----

    @cached_property
    def polls(self) -> PollRepository:
        return PollRepository(self.conn)

    @cached_property
    def sending(self) -> SendingRepository:
        return SendingRepository(self.conn)

    @cached_property
    def tallies(self) -> TallyRepository:
        """Counts for the overview and `/metrics` (storage/tallies.py)."""
        from postroom.storage.tallies import TallyRepository

        return TallyRepository(self.conn)

    @cached_property
    def metrics(self) -> MetricsRepository:
        """Poll and handling durations for `/metrics` (storage/metrics.py)."""
        return MetricsRepository(self.conn)


class Storage:
    """The database and the blob store behind units of work; built by `postroom.bootstrap`."""

    def __init__(self, engine: Engine, blobs: FileBlobStore) -> None:
        self.engine = engine
        self.blobs = blobs
        self._one_batch = threading.Lock()

    def outbound_bytes(self, row: OutboxRecord) -> bytes:
        """The bytes of an outbound message: its row's, or the blob it names."""
        return row.raw if row.raw is not None else self.blobs.get(row.raw_sha256)

    @contextmanager
    def reading(self) -> Iterator[UnitOfWork]:
        """A snapshot for reads (on SQLite it never waits for, nor holds up, the writer)."""
        with _translated(), read_only(self.engine) as conn:
            yield UnitOfWork(conn, self.blobs, None)

    @contextmanager
    def writing(self, *, batch: bool = False) -> Iterator[UnitOfWork]:
        """One write transaction; its staged blobs are made durable before it commits.

        ``batch``: the unit of a batch of messages, in which nothing fails half-way (a
        batch that cannot go through whole is redone one SAVEPOINT per message, in a
        unit that is not a batch's): the writes nothing reads back before the commit
        (item events, the SQLite Ticket counter) go out once at the end, and the unit
        keeps the messages handled so far (`BatchSeen`), whose rows learn their
        Message-ID and content hash only then. Its replies' outbox rows and
        communications go out at the end too (`storage.deferred`). A batch's arrivals
        are blobs made durable before its unit begins (`services.ingest`); what a unit
        stages (a reply too large for its row) is made durable just before its commit.
        """
        staged = self.blobs.staged()
        deferred = DeferredWrites() if batch else None
        try:
            with _translated(), self.engine.begin() as conn:
                seen = BatchSeen() if batch else None
                yield UnitOfWork(conn, self.blobs, staged, deferred, seen)
                if deferred is not None:
                    deferred.flush(conn)
                staged.publish()
        finally:
            staged.discard()

    @contextmanager
    def writer(self) -> Iterator[Writer]:
        """One connection for a run of small write transactions (`Writer`), given back to
        the pool when the block ends."""
        with _translated(), self.engine.connect() as conn:
            yield Writer(self.blobs, conn)

    @contextmanager
    def turn(self) -> Iterator[None]:
        """This process's turn to write a batch of messages: its batches go one at a time.

        The poll threads of one process take turns here; their network reads go on
        meanwhile. Python runs one thread of a process at a time anyway, and a thread
        that handles its batch inside the database's single-writer turn while the
        process's other threads parse would share the interpreter with them: the turn
        then lasts ~1.6 times its CPU time, and every other process waits for it (with
        2 processes x 4 mailboxes, a third fewer messages a second than one at a time).
        Several cores are used by several processes (`postroom run --workers`).
        """
        with self._one_batch:
            yield


class Writer:
    """Write transactions one after another on one connection (`Storage.writer`): each is
    what `Storage.writing` makes (BEGIN, on SQLite the writer turn, the staged blobs, the
    commit), without a connection taken from the pool and given back each time, ~40-80 us
    of CPU, about a fifth of a transaction of a few UPDATEs. For a run of many small ones:
    the outbox sender's marks and outcomes (`services/send_book.py`). One transaction at a
    time, from any thread; between them the connection holds no lock. A connection the
    database dropped is replaced at the next transaction (SQLAlchemy reconnects an
    invalidated connection), so an outage fails its transaction only."""

    def __init__(self, blobs: FileBlobStore, conn: Connection) -> None:
        self._blobs = blobs
        self._conn = conn

    @contextmanager
    def writing(self) -> Iterator[UnitOfWork]:
        staged = self._blobs.staged()
        try:
            with _translated(), self._conn.begin():
                yield UnitOfWork(self._conn, self._blobs, staged)
                staged.publish()
        finally:
            staged.discard()


@contextmanager
def _translated() -> Iterator[None]:
    """Database errors out as ours (see the module docstring); an outage the engine
    translated already (`storage.database`) goes through as it is."""
    try:
        yield
    except IntegrityError as exc:
        raise StorageConflictError(_cause(exc), orig=exc.orig) from exc
    except OperationalError as exc:
        raise StorageUnavailableError(f"the database could not be used ({_cause(exc)})") from exc
    except DBAPIError as exc:
        raise StorageError(_cause(exc), orig=exc.orig) from exc
    except SQLAlchemyError as exc:
        raise StorageError(str(exc).strip().split("\n", 1)[0], orig=exc) from exc


def _cause(exc: DBAPIError) -> str:
    """The driver's first line (SQLAlchemy's text around it adds the statement and a link)."""
    text = str(exc.orig).strip()
    return text.split("\n", 1)[0] if text else type(exc.orig).__name__
