"""Migration 0009 on SQLite and PostgreSQL: the SMTP servers stored before it keep their
settings and are not marked as switched off by a person; downgrade and upgrade again."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from alembic import command
from sqlalchemy import text

from postroom.storage.blobs import FileBlobStore
from postroom.storage.database import alembic_config, current_revision, make_engine
from postroom.storage.unit import Storage

NOW = datetime(2026, 12, 2, 9, 0)


def test_0009_keeps_the_servers_and_marks_none_as_switched_off_by_a_person(
    database_url: str, tmp_path: Path
) -> None:
    engine = make_engine(database_url)
    command.upgrade(alembic_config(engine), "0008")
    with engine.begin() as conn:
        for name, enabled in (("on", True), ("off", False)):
            conn.execute(
                text(
                    "INSERT INTO smtp_servers (name, url, password_enc, send_as, is_default,"
                    " enabled, timeout_s, created_at)"
                    " VALUES (:n, 'smtps://u@h:465', 'sealed', false, false, :e, 30, :t)"
                ),
                {"n": name, "e": enabled, "t": NOW},
            )
    command.upgrade(alembic_config(engine), "0009")
    assert current_revision(engine) == "0009"
    storage = Storage(engine, FileBlobStore(tmp_path / "blobs"))
    with storage.reading() as uow:
        servers = {s.name: s for s in uow.servers.all()}
    assert {n: (s.enabled, s.disabled_reason, s.password_enc) for n, s in servers.items()} == {
        "on": (True, None, "sealed"),
        "off": (False, None, "sealed"),
    }
    with storage.writing() as uow:
        uow.servers.set_enabled("on", False, "disabled by a user")
    with storage.reading() as uow:
        assert uow.servers.get("on").disabled_reason == "disabled by a user"
    command.downgrade(alembic_config(engine), "0008")
    command.upgrade(alembic_config(engine), "head")
    engine.dispose()
