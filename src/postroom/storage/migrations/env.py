"""Alembic environment: the engine comes from the caller (postroom.storage.database)."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Engine

from postroom.storage.tables import metadata

config = context.config
engine = config.attributes.get("engine")
if not isinstance(engine, Engine):  # pragma: no cover - only when run by hand
    from sqlalchemy import create_engine

    engine = create_engine(config.get_main_option("sqlalchemy.url") or "sqlite://")

with engine.connect() as connection:
    sqlite = connection.dialect.name == "sqlite"
    if sqlite:
        # A batch migration rebuilds a table (copy, drop, rename); with foreign keys on,
        # dropping the old table fails as soon as other rows refer to it. The pragma only
        # takes effect outside a transaction, so it goes to the driver before BEGIN.
        connection.connection.driver_connection.execute("PRAGMA foreign_keys=OFF")  # type: ignore[union-attr]
    try:
        with connection.begin():
            context.configure(
                connection=connection, target_metadata=metadata, render_as_batch=sqlite
            )
            with context.begin_transaction():
                context.run_migrations()
    finally:
        if sqlite:
            connection.connection.driver_connection.execute("PRAGMA foreign_keys=ON")  # type: ignore[union-attr]
