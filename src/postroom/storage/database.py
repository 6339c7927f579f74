"""Engines and schema upgrades for SQLite (the embedded default) and PostgreSQL.

Alembic is imported only to migrate: every command checks the schema on first use
(`ensure_schema`), and an up-to-date one is told apart by reading the migration files'
revision lines and the ``alembic_version`` row, which costs a `postroom ingest` in an MTA
pipe far less than importing Alembic.
"""

from __future__ import annotations

import re
import sqlite3
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, Engine, create_engine, event, inspect, make_url
from sqlalchemy.engine import ExceptionContext
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.pool import StaticPool

from postroom.errors import StorageUnavailableError, UserError
from postroom.storage import home, writer_turn

if TYPE_CHECKING:
    from alembic.config import Config

_MIGRATIONS = Path(__file__).parent / "migrations"
_REVISION_LINE = re.compile(
    r"^(down_revision|revision)\s*(?::[^=]*)?=\s*(?:None|[\"']([^\"']+)[\"'])\s*$", re.MULTILINE
)
"""A migration file's ``revision = "0004"`` or ``down_revision = "0003"`` line."""
_READ_ONLY = "postroom_read_only"
_BUSY_TIMEOUT = 30.0
"""Seconds a SQLite writer waits for its turn before the write fails."""
_POSTGRES_CONNECT: dict[str, Any] = {
    "connect_timeout": 10,
    "keepalives": 1,
    "keepalives_idle": 30,
    "keepalives_interval": 10,
    "keepalives_count": 3,
}
"""libpq options unless the URL sets them: a server that vanished without closing its
connections (a host down, a cable out) is noticed within a minute, not two hours."""
_SQLITE_OUTAGES = {5, 6, 7, 8, 10, 13, 14, 15}
"""Primary result codes of a database that cannot be used right now, not of a wrong
statement: BUSY, LOCKED, NOMEM, READONLY, IOERR, FULL, CANTOPEN, PROTOCOL."""


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
            # Made here, private: SQLite gives its -wal and -shm files the same mode.
            home.make_folder(Path(path).parent)
            home.create_file(Path(path))
            args = writer_turn.connect_args(Path(path), _BUSY_TIMEOUT)
        # hide_parameters: error texts never carry bound values (stored secrets included).
        engine = create_engine(url, connect_args=args, hide_parameters=True)
        event.listen(engine, "handle_error", _outage, retval=True)

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
                try:
                    dbapi.take_turn()
                except writer_turn.TurnUnavailable as exc:  # raised outside SQLAlchemy's wrapping
                    raise StorageUnavailableError(
                        f"the database could not be used ({exc})"
                    ) from exc
            try:
                conn.exec_driver_sql("BEGIN IMMEDIATE")
            except BaseException:
                if isinstance(dbapi, writer_turn.TurnConnection):
                    dbapi.give_back()
                raise

        return engine
    if url.startswith(("postgresql", "postgres")):
        given = make_url(url).query
        options = {k: v for k, v in _POSTGRES_CONNECT.items() if k not in given}
        # pool_pre_ping: a pooled connection the server dropped (a restart) is replaced
        # before use instead of failing the next transaction.
        engine = create_engine(url, pool_pre_ping=True, hide_parameters=True, connect_args=options)
        event.listen(engine, "handle_error", _outage, retval=True)
        return engine
    raise UserError(f"unsupported database URL scheme in {url.split(':', 1)[0]!r}")


def _outage(context: ExceptionContext) -> StorageUnavailableError | None:
    """Translate a database that cannot be used *now* into `StorageUnavailableError`.

    A lost or refused connection, a server shutting down or starting up, SQLite busy
    past its timeout or failing its disk: transient failures the caller retries later
    (a poll leaves the mail on the server, `postroom run` backs off and reconnects).
    Any other error (a wrong statement, a constraint) is left as it is. The message is
    one line naming the cause, without the statement. The pool's own liveness probe
    (``pool_pre_ping``) is left alone: it replaces the dead connection by itself.
    """
    original = context.original_exception
    if context.is_pre_ping or not isinstance(original, Exception):  # not Ctrl-C, SystemExit
        return None
    if isinstance(original, sqlite3.Error):
        if not _sqlite_outage(original):
            return None
    elif not (
        context.is_disconnect
        or context.connection is None  # connecting failed
        or _is_a(context, ("OperationalError", "InterfaceError"))
    ):
        return None
    cause = _first_line(str(original)) or original.__class__.__name__
    if context.is_disconnect or context.connection is None:
        return StorageUnavailableError(f"the database could not be reached ({cause})")
    return StorageUnavailableError(f"the database could not be used ({cause})")


def _sqlite_outage(exc: sqlite3.Error) -> bool:
    """SQLite's own errors by their result code; the writer turn's by their type."""
    if isinstance(exc, writer_turn.TurnUnavailable):
        return True
    code = getattr(exc, "sqlite_errorcode", None)
    return isinstance(code, int) and code & 0xFF in _SQLITE_OUTAGES


def _is_a(context: ExceptionContext, names: tuple[str, ...]) -> bool:
    """The DB-API class hierarchy (PEP 249) by name: the driver module is not imported here."""
    return any(c.__name__ in names for c in type(context.original_exception).__mro__)


def _first_line(text: str, limit: int = 200) -> str:
    """The driver's first line (its later ones hint at configuration, or quote SQL)."""
    line = text.strip().split("\n", 1)[0].strip()
    line = "".join(c if c.isprintable() else " " for c in line)
    return line if len(line) <= limit else line[: limit - 1] + "…"


def alembic_config(engine: Engine) -> Config:
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(_MIGRATIONS))
    cfg.attributes["engine"] = engine
    return cfg


def known_revisions() -> tuple[set[str], set[str]]:
    """Every revision of the migration files, and those named as a ``down_revision``."""
    revisions: set[str] = set()
    parents: set[str] = set()
    for path in (_MIGRATIONS / "versions").glob("*.py"):
        for kind, value in _REVISION_LINE.findall(path.read_text(encoding="utf-8")):
            if value:
                (revisions if kind == "revision" else parents).add(value)
    return revisions, parents


def head_revision() -> str:
    """The newest revision: the one no migration file names as its ``down_revision``
    (Alembic's own reading when the files do not tell one head plainly)."""
    revisions, parents = known_revisions()
    heads = revisions - parents
    if len(heads) == 1:
        return heads.pop()
    from alembic.script import ScriptDirectory

    head = ScriptDirectory(str(_MIGRATIONS)).get_current_head()
    assert head is not None
    return head


def current_revision(engine: Engine) -> str | None:
    """The database's revision (None before the first migration), read as Alembic keeps it."""
    with reading(engine) as conn:
        if not inspect(conn).has_table("alembic_version"):
            return None
        rows = conn.exec_driver_sql("SELECT version_num FROM alembic_version").all()
        if len(rows) > 1:  # several heads: Alembic says so in its own words
            from alembic.runtime.migration import MigrationContext

            return MigrationContext.configure(conn).get_current_revision()
    return str(rows[0][0]) if rows else None


def upgrade(engine: Engine) -> str:
    """Create or upgrade the schema to the newest revision; returns it."""
    from alembic import command

    try:
        command.upgrade(alembic_config(engine), "head")
        return head_revision()
    except SQLAlchemyError as exc:
        raise StorageUnavailableError(f"cannot upgrade the database: {exc}") from exc


def ensure_schema(engine: Engine, *, may_migrate: bool = True) -> Engine:
    """Check the schema before first use; upgrade it only when ``may_migrate`` (`db
    upgrade`, `run`, `web` and the commands that write) and only in a database that is
    empty or already Postroom's; returns the engine to use. Another application's database
    is refused.

    A read-only command never changes a database. On an empty one it reads an empty
    Postroom (a schema in memory, `_empty_stand_in`): an empty list is the truth there,
    and `explain` on a fresh install works as before. On an older schema it is told "run:
    postroom db upgrade" (its data cannot be read as this version reads it)."""
    try:
        current = current_revision(engine)
        tables = None if current is not None else _table_count(engine)
    except SQLAlchemyError as exc:  # an outage is already one (see `_outage`)
        raise StorageUnavailableError(
            f"cannot open the database: {exc.__class__.__name__}"
        ) from exc
    head = head_revision()
    if current == head:
        return engine
    where = shown_url(engine)
    if current is None and tables:
        raise UserError(
            f"the database {where} holds {tables} table(s) of another application and no "
            "Postroom schema: Postroom will not touch it; point POSTROOM_DATABASE_URL at an "
            "empty database or at Postroom's own"
        )
    if current is not None and current not in known_revisions()[0]:
        raise UserError(
            f"the database {where} is at schema revision {current[:40]!r}, which this "
            "Postroom does not know (another application's, or a newer Postroom's): "
            "point POSTROOM_DATABASE_URL at Postroom's own database, or upgrade Postroom"
        )
    if not may_migrate and current is None:
        engine.dispose()
        return _empty_stand_in()
    if not may_migrate:
        raise UserError(f"the database {where} has an older schema: run: postroom db upgrade")
    upgrade(engine)
    return engine


def _empty_stand_in() -> Engine:
    """An empty Postroom in memory, for a read-only command on a database without the
    schema: what it reads is what that database holds of Postroom's, nothing, and the
    database itself is left as it was."""
    engine = create_engine(
        "sqlite://",
        poolclass=StaticPool,  # one in-memory database for every connection
        connect_args={"check_same_thread": False},
        hide_parameters=True,
    )
    upgrade(engine)
    return engine


def _table_count(engine: Engine) -> int:
    with reading(engine) as conn:
        return len(inspect(conn).get_table_names())


def shown_url(engine: Engine) -> str:
    """The engine's URL as a person may see it: the password hidden, SQLite as its file."""
    url = engine.url
    if url.get_backend_name() == "sqlite":
        return url.database or ":memory:"
    return url.render_as_string(hide_password=True)
