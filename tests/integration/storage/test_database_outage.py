"""The storage edge turns a database that cannot be used *now* into `StorageUnavailableError`
(one line, the cause named), leaves every other database error alone, and reconnects on
its own once the server is back."""

from __future__ import annotations

import errno
import fcntl
import os
import sqlite3
import uuid
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from postroom.errors import StorageUnavailableError
from postroom.storage import database, writer_turn
from postroom.storage.database import make_engine, reading
from support.pgcluster import Cluster, _free_port, pg_cluster

__all__ = ["pg_cluster"]


def test_a_postgresql_server_nobody_listens_for_is_unreachable_in_one_line() -> None:
    engine = make_engine(f"postgresql+psycopg://postgres@127.0.0.1:{_free_port()}/postroom")
    with pytest.raises(StorageUnavailableError) as caught, reading(engine) as conn:
        conn.execute(text("SELECT 1"))
    message = str(caught.value)
    assert message.startswith("the database could not be reached (")
    assert "\n" not in message and "sqlalche.me" not in message


def test_a_stopped_server_is_an_outage_and_a_restarted_one_is_used_again(
    pg_cluster: Cluster,
) -> None:
    engine = make_engine(pg_cluster.url)
    with engine.begin() as conn:  # a pooled connection the restart will kill
        conn.execute(text("CREATE TABLE t (n integer)"))
    pg_cluster.stop("immediate")
    for _ in range(2):  # the pooled connection, then a new one: both refused
        with (
            pytest.raises(StorageUnavailableError, match="could not be reached"),
            engine.begin() as conn,
        ):
            conn.execute(text("INSERT INTO t VALUES (1)"))
    pg_cluster.start()
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO t VALUES (2)"))
    with reading(engine) as conn:
        assert conn.execute(text("SELECT n FROM t")).scalars().all() == [2]


def test_a_server_restarted_under_a_pooled_connection_is_not_even_noticed(
    pg_cluster: Cluster,
) -> None:
    engine = make_engine(pg_cluster.url)
    with reading(engine) as conn:
        conn.execute(text("SELECT 1"))
    pg_cluster.stop("fast")
    pg_cluster.start()
    with reading(engine) as conn:  # pool_pre_ping replaced the dead connection
        assert conn.execute(text("SELECT 2")).scalar_one() == 2


@pytest.mark.parametrize("engine_name", ["sqlite", "postgres"])
def test_a_wrong_statement_is_not_an_outage(
    engine_name: str, tmp_path: Path, pg_cluster: Cluster
) -> None:
    url = f"sqlite:///{tmp_path / 'p.db'}" if engine_name == "sqlite" else pg_cluster.url
    engine = make_engine(url)
    table = f"missing_{uuid.uuid4().hex[:8]}"
    with pytest.raises(SQLAlchemyError), reading(engine) as conn:
        conn.execute(text(f"SELECT * FROM {table}"))


def test_a_sqlite_file_that_cannot_be_opened_is_an_outage(tmp_path: Path) -> None:
    folder = tmp_path / "not-a-file.db"
    folder.mkdir()
    engine = make_engine(f"sqlite:///{folder}")
    with (
        pytest.raises(StorageUnavailableError, match="unable to open database file"),
        reading(engine) as conn,
    ):
        conn.execute(text("SELECT 1"))


def test_a_sqlite_writer_turn_held_past_the_timeout_is_an_outage(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(database, "_BUSY_TIMEOUT", 0.3)
    path = tmp_path / "busy.db"
    engine = make_engine(f"sqlite:///{path}")
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE t (n integer)"))
    holder = os.open(f"{path}-writer", os.O_RDWR | os.O_CREAT)
    fcntl.flock(holder, fcntl.LOCK_EX)  # another process's writer, as it holds its turn
    try:
        with (
            pytest.raises(StorageUnavailableError, match="database is locked"),
            engine.begin() as conn,
        ):
            conn.execute(text("INSERT INTO t VALUES (1)"))
    finally:
        os.close(holder)
    with engine.begin() as conn:  # free again: the same engine writes at once
        conn.execute(text("INSERT INTO t VALUES (2)"))


def test_a_wal_that_cannot_be_flushed_is_an_outage_by_its_type(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The writer turn's own failures carry no SQLite result code: they are an outage
    because of their class, whatever their text says."""
    path = tmp_path / "flush.db"
    engine = make_engine(f"sqlite:///{path}")
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE t (n integer)"))

    def failing_fsync(_fd: int) -> None:
        raise OSError(errno.EIO, os.strerror(errno.EIO))

    monkeypatch.setattr(writer_turn.os, "fsync", failing_fsync)
    with (
        pytest.raises(StorageUnavailableError, match="could not flush the database log"),
        engine.begin() as conn,
    ):
        conn.execute(text("INSERT INTO t VALUES (1)"))
    monkeypatch.undo()
    assert database._sqlite_outage(writer_turn.TurnUnavailable("any text at all"))
    plain = sqlite3.OperationalError("database is locked (no writer turn)")
    assert not database._sqlite_outage(plain)  # a look-alike text without the type or a code
