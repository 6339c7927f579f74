"""The unit of work: the one object a service holds while it reads or writes storage.

Services never see a connection, a table or a SQLAlchemy row. They ask `Storage` for a
unit (``with storage.writing() as uow:`` or ``with storage.reading() as uow:``) and use its
repositories (``uow.channels``, ``uow.items``, …), which take and return plain values and
typed records (`postroom.storage.records`). A writing unit owns everything that lives
and dies with its transaction: the staged blobs (written as they come, made durable once
just before the commit), the batch's deferred writes and already-seen messages, and the
SQLite writer's turn. Leaving the ``with`` block commits; an exception rolls back.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cached_property

from sqlalchemy import Connection, Engine

from postroom.storage.blobs import FileBlobStore, StagedBlobs
from postroom.storage.channels import ChannelRepository
from postroom.storage.config import ConfigRepository
from postroom.storage.database import reading as read_only
from postroom.storage.outbox import OutboxRepository
from postroom.storage.servers import ServerRepository


class UnitOfWork:
    """One transaction and its repositories. Made by `Storage`; never by a service."""

    def __init__(self, conn: Connection, blobs: FileBlobStore, staged: StagedBlobs | None) -> None:
        self.conn = conn
        """For the storage package only (repositories); services do not touch it."""
        self.blobs = blobs
        self.staged = staged
        """Blobs written by this unit, published just before its commit (None: reading)."""

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
    def outbox(self) -> OutboxRepository:
        return OutboxRepository(self.conn)

    # -- repositories: mail and work items (messages, items, communications) --------------


class Storage:
    """The database and the blob store behind units of work; built by `postroom.bootstrap`."""

    def __init__(self, engine: Engine, blobs: FileBlobStore) -> None:
        self.engine = engine
        self.blobs = blobs
        self._one_batch = threading.Lock()
        """The writer-turn policy of one process: its batches are written one at a time."""

    @contextmanager
    def reading(self) -> Iterator[UnitOfWork]:
        """A snapshot for reads (on SQLite it never waits for, nor holds up, the writer)."""
        with read_only(self.engine) as conn:
            yield UnitOfWork(conn, self.blobs, None)

    @contextmanager
    def writing(self) -> Iterator[UnitOfWork]:
        """One write transaction; its staged blobs are made durable before it commits."""
        staged = self.blobs.staged()
        try:
            with self.engine.begin() as conn:
                yield UnitOfWork(conn, self.blobs, staged)
                staged.publish()
        finally:
            staged.discard()
