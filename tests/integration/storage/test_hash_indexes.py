"""The text indexes are hash indexes on PostgreSQL, when the schema is made from the
tables too (storage/tables.py gives that option only when PostgreSQL creates them)."""

from __future__ import annotations

from sqlalchemy import create_engine, inspect, text

from postroom.storage.tables import metadata
from support.database import postgres_schema

HASHED = {
    "ix_messages_message_id",
    "ix_messages_source_uid",
    "ix_communications_message_id",
    "ix_outbox_first_recipient",
}

_INDEXES = "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = current_schema()"


def test_create_all_makes_hash_indexes_on_postgresql() -> None:
    with postgres_schema() as url:
        engine = create_engine(url)
        try:
            metadata.create_all(engine)
            with engine.connect() as conn:
                rows = conn.execute(text(_INDEXES)).all()
        finally:
            engine.dispose()
    hashed = {name for name, definition in rows if "USING hash" in definition}
    assert hashed == HASHED


def test_create_all_on_sqlite_has_the_same_indexes() -> None:
    engine = create_engine("sqlite://")
    metadata.create_all(engine)
    names = {
        i["name"]
        for t in ("messages", "communications", "outbox")
        for i in inspect(engine).get_indexes(t)
    }
    assert HASHED - {"ix_messages_source_uid"} <= names
