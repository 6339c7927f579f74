"""Engines and schema upgrades for SQLite (the embedded default) and PostgreSQL."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.exc import SQLAlchemyError

from postroom.errors import StorageUnavailableError, UserError
from postroom.storage import writer_turn

_MIGRATIONS = Path(__file__).parent / "migrations"
_READ_ONLY = "postroom_read_only"
_BUSY_TIMEOUT = 30.0
"""Seconds a SQLite writer waits for its turn before the write fails."""


def reading(engine: Engine) -> Connection:
    """A connection for reads only (``with reading(engine) as conn:``).

    On SQLite its transaction is a deferred one: a snapshot that never waits for, nor
    holds up, the writer, where ``engine.begin()`` takes the write lock at BEGIN. Nothing
    written on it is committed.
    """
    return engine.connect().execution_options(**{_READ_ONLY: True})


def make_engine(url: str) -> Engine:
    """An engine for ``url``; SQLite gets WAL, foreign keys and a busy timeout.

    Every commit is durable before it returns, which is what "store, then delete"
    needs (a POP3 DELE follows the commit): WAL with ``synchronous=FULL``, or, for
    connections whose writers take turns, ``synchronous=NORMAL`` and a flush of the
    WAL after the turn (`writer_turn`).
    """
    if url.startswith("sqlite"):
        path = url.split("///", 1)[1] if "///" in url else ""
        args: dict[str, Any] = {"timeout": _BUSY_TIMEOUT}
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
            args = writer_turn.connect_args(Path(path), _BUSY_TIMEOUT)
        # hide_parameters: error texts never carry bound values (stored secrets included).
        engine = create_engine(url, connect_args=args, hide_parameters=True)

        @event.listens_for(engine, "connect")
        def _pragmas(dbapi_conn: Any, _record: Any) -> None:
            # The sqlite3 module's own transaction handling breaks SAVEPOINT; let
            # SQLAlchemy emit BEGIN itself (the documented pysqlite recipe).
            dbapi_conn.isolation_level = None
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute(f"PRAGMA busy_timeout={int(_BUSY_TIMEOUT * 1000)}")
            if isinstance(dbapi_conn, writer_turn.TurnConnection):
                # The WAL is flushed and checkpointed after the turn (see writer_turn).
                cur.execute("PRAGMA synchronous=NORMAL")
                cur.execute("PRAGMA wal_autocheckpoint=0")
            else:
                cur.execute("PRAGMA synchronous=FULL")
            cur.close()

        @event.listens_for(engine, "begin")
        def _begin(conn: Connection) -> None:
            if conn.get_execution_options().get(_READ_ONLY):
                conn.exec_driver_sql("BEGIN")
                return
            # IMMEDIATE: take the write lock at BEGIN, where the busy timeout applies. A
            # deferred transaction that reads, then writes after another connection
            # committed, fails at once with "database is locked" (SQLITE_BUSY_SNAPSHOT).
            # The writer turn comes first: it queues the writers of all processes.
            dbapi = conn.connection.dbapi_connection
            if isinstance(dbapi, writer_turn.TurnConnection):
                dbapi.take_turn()
            try:
                conn.exec_driver_sql("BEGIN IMMEDIATE")
            except BaseException:
                if isinstance(dbapi, writer_turn.TurnConnection):
                    dbapi.give_back()
                raise

        return engine
    if url.startswith(("postgresql", "postgres")):
        return create_engine(url, pool_pre_ping=True, hide_parameters=True)
    raise UserError(f"unsupported database URL scheme in {url.split(':', 1)[0]!r}")


def alembic_config(engine: Engine) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(_MIGRATIONS))
    cfg.attributes["engine"] = engine
    return cfg


def head_revision() -> str:
    script = ScriptDirectory(str(_MIGRATIONS))
    head = script.get_current_head()
    assert head is not None
    return head


def current_revision(engine: Engine) -> str | None:
    with reading(engine) as conn:
        return MigrationContext.configure(conn).get_current_revision()


def upgrade(engine: Engine) -> str:
    """Create or upgrade the schema to the newest revision; returns it."""
    try:
        command.upgrade(alembic_config(engine), "head")
        return head_revision()
    except SQLAlchemyError as exc:
        raise StorageUnavailableError(f"cannot upgrade the database: {exc}") from exc


def ensure_schema(engine: Engine) -> None:
    """Upgrade when the database is behind (every command does this on first use)."""
    try:
        current = current_revision(engine)
    except SQLAlchemyError as exc:
        raise StorageUnavailableError(
            f"cannot open the database: {exc.__class__.__name__}"
        ) from exc
    if current != head_revision():
        upgrade(engine)
