"""Schema upgrades of a database that already holds mail, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import func, select, text

from postroom.bootstrap import App
from postroom.domain.routes import Route
from postroom.render.mail import decision_json
from postroom.storage.config import ConfigRepository
from postroom.storage.database import alembic_config, current_revision, head_revision, make_engine
from postroom.storage.tables import communications, messages, work_items
from support.mails import make_mail

NOW = datetime(2026, 11, 1, 9, 0)


def _rows_of_the_first_schema(conn) -> None:  # type: ignore[no-untyped-def]
    conn.execute(text("INSERT INTO counters (name, value) VALUES ('work_item', 100005)"))
    item = conn.execute(
        text(
            "INSERT INTO work_items (reference, number, type, state, new_info, created_at,"
            " updated_at) VALUES ('100005-T', 100005, 'ticket', 'to-do', false, :t, :t)"
            " RETURNING id"
        ),
        {"t": NOW},
    ).scalar_one()
    message = conn.execute(
        text(
            "INSERT INTO messages (raw_sha256, size, content_hash, message_id, received_at,"
            " status, attempts) VALUES ('ab', 10, 'cd', '<old@customer.test>', :t, 'handled', 1)"
            " RETURNING id"
        ),
        {"t": NOW},
    ).scalar_one()
    conn.execute(
        text(
            "INSERT INTO communications (work_item_id, direction, message_row_id, message_id,"
            " created_at) VALUES (:item, 'in', :message, '<old@customer.test>', :t)"
        ),
        {"item": item, "message": message, "t": NOW},
    )


def test_upgrade_keeps_every_row_and_numbering_goes_on(
    database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine = make_engine(database_url)
    command.upgrade(alembic_config(engine), "0001")
    with engine.begin() as conn:
        _rows_of_the_first_schema(conn)
    command.upgrade(alembic_config(engine), "head")
    assert current_revision(engine) == head_revision()
    with engine.connect() as conn:
        for table in (work_items, messages, communications):
            assert conn.execute(select(func.count()).select_from(table)).scalar_one() == 1
        if engine.dialect.name == "sqlite":
            assert conn.exec_driver_sql("PRAGMA foreign_key_check").all() == []
            assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
    engine.dispose()

    monkeypatch.setenv("POSTROOM_HOME", str(tmp_path))
    monkeypatch.setenv("POSTROOM_DATABASE_URL", database_url)
    app = App()
    with app.engine.begin() as conn:
        ConfigRepository(conn).add_route(Route("support@example.com", "A", "B", "q"), NOW)
    result = app.ingest.ingest(make_mail())
    assert decision_json(result)["work_items"][0]["reference"] == "100006-T"
    reply = app.ingest.ingest(make_mail(subject="no ref", in_reply_to="<old@customer.test>"))
    assert (decision_json(reply)["rule"], decision_json(reply)["matched_by"]) == ("T4", "thread")
