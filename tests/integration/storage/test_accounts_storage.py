"""Sign-in's storage on SQLite and PostgreSQL: migration 0005 keeps the users there, the
tables say what tables.py says, hashes are unique keys, a sign-up token is used once."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, text

from postroom.errors import StorageConflictError
from postroom.records.config import Role
from postroom.storage.accounts import AccountRepository
from postroom.storage.blobs import FileBlobStore
from postroom.storage.database import alembic_config, current_revision, make_engine
from postroom.storage.tables import metadata
from postroom.storage.unit import Storage

NOW = datetime(2026, 11, 1, 9, 0)
MINE = {"users", "api_tokens", "web_sessions", "signup_tokens"}


def _differences(engine: Engine) -> list[object]:
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        found = compare_metadata(context, metadata)
    flat = [d for diff in found for d in (diff if isinstance(diff, list) else [diff])]
    return [
        d
        for d in flat
        if MINE & {getattr(x, "name", None) for x in d if x is not None}
        or any(getattr(getattr(x, "table", None), "name", None) in MINE for x in d)
    ]


@pytest.mark.filterwarnings("ignore:autogenerate skipping")
def test_0005_keeps_the_users_and_matches_the_tables(database_url: str) -> None:
    engine = make_engine(database_url)
    command.upgrade(alembic_config(engine), "0004")
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO users (name, email, role, created_at)"
                " VALUES ('ann', NULL, 'admin', :t)"
            ),
            {"t": NOW},
        )
    command.upgrade(alembic_config(engine), "0005")
    assert current_revision(engine) == "0005"
    with engine.connect() as conn:
        login = AccountRepository(conn).login("ann")
    assert login is not None and login.password_hash is None and login.principal.role == Role.ADMIN
    command.upgrade(alembic_config(engine), "head")
    assert _differences(engine) == []
    command.downgrade(alembic_config(engine), "0004")
    command.upgrade(alembic_config(engine), "head")
    engine.dispose()


def _storage(database_url: str, tmp_path) -> Storage:  # type: ignore[no-untyped-def]
    engine = make_engine(database_url)
    command.upgrade(alembic_config(engine), "head")
    return Storage(engine, FileBlobStore(tmp_path / "blobs"))


def test_hashes_are_unique_and_a_signup_token_is_used_once(database_url: str, tmp_path) -> None:  # type: ignore[no-untyped-def]
    storage = _storage(database_url, tmp_path)
    with storage.writing() as uow:
        uow.config.add_user("ann", None, "agent", NOW)
        login = uow.accounts.login("ann")
        assert login is not None
        uow.accounts.add_token(login.principal.user_id, "a", "h" * 64, NOW)
        uow.accounts.add_session(login.principal.user_id, "s" * 64, NOW, NOW + timedelta(days=7))
        uow.accounts.replace_signup("u" * 64, NOW, NOW + timedelta(hours=24))
    with pytest.raises(StorageConflictError), storage.writing() as uow:
        uow.accounts.add_token(login.principal.user_id, "b", "h" * 64, NOW)
    with pytest.raises(StorageConflictError), storage.writing() as uow:
        uow.accounts.add_session(login.principal.user_id, "s" * 64, NOW, NOW)
    with storage.writing() as uow:
        assert not uow.accounts.use_signup("u" * 64, NOW + timedelta(hours=24))  # expired
        assert uow.accounts.use_signup("u" * 64, NOW)
        assert not uow.accounts.use_signup("u" * 64, NOW)  # used
    with storage.writing() as uow:
        uow.accounts.add_session(login.principal.user_id, "t" * 64, NOW, NOW + timedelta(days=7))
        uow.accounts.end_sessions_of("ann")
        assert uow.accounts.session_use("t" * 64) is None
        uow.accounts.add_session(login.principal.user_id, "s" * 64, NOW, NOW + timedelta(days=7))
        uow.accounts.remove_user("ann")
    with storage.reading() as uow:
        assert uow.accounts.token_use("h" * 64) is None
        assert uow.accounts.session_use("s" * 64) is None
        assert uow.config.users() == []
    storage.engine.dispose()
