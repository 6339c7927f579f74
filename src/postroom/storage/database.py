"""Engines and schema upgrades for SQLite (the embedded default) and PostgreSQL."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.exc import SQLAlchemyError

from postroom.errors import StorageUnavailableError, UserError

_MIGRATIONS = Path(__file__).parent / "migrations"


def make_engine(url: str) -> Engine:
    """An engine for ``url``; SQLite gets WAL, foreign keys and a busy timeout.

    WAL with ``synchronous=FULL`` makes every commit durable before we return,
    which is what "store, then delete" needs (a POP3 DELE follows the commit).
    """
    if url.startswith("sqlite"):
        path = url.split("///", 1)[1] if "///" in url else ""
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        # hide_parameters: error texts never carry bound values (stored secrets included).
        engine = create_engine(url, connect_args={"timeout": 30}, hide_parameters=True)

        @event.listens_for(engine, "connect")
        def _pragmas(dbapi_conn: Any, _record: Any) -> None:
            # The sqlite3 module's own transaction handling breaks SAVEPOINT; let
            # SQLAlchemy emit BEGIN itself (the documented pysqlite recipe).
            dbapi_conn.isolation_level = None
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=FULL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.close()

        @event.listens_for(engine, "begin")
        def _begin(conn: Any) -> None:
            # IMMEDIATE: take the write lock at BEGIN, where the busy timeout applies. A
            # deferred transaction that reads, then writes after another connection
            # committed, fails at once with "database is locked" (SQLITE_BUSY_SNAPSHOT).
            conn.exec_driver_sql("BEGIN IMMEDIATE")

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
    with engine.connect() as conn:
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
