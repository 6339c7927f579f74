"""OAuth2 sign-ins' storage on SQLite and PostgreSQL: migration 0008 keeps the channels and
SMTP servers there, the tables say what tables.py says, a sign-in belongs to one channel or
server and goes with it."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, text

from postroom.records.oauth import GrantOwner, GrantSettings
from postroom.storage.blobs import FileBlobStore
from postroom.storage.database import alembic_config, current_revision, make_engine
from postroom.storage.tables import metadata
from postroom.storage.unit import Storage

NOW = datetime(2026, 12, 2, 9, 0)
MINE = {"oauth_grants", "smtp_servers"}


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
def test_0008_keeps_channels_and_servers_and_matches_the_tables(
    database_url: str, tmp_path: Path
) -> None:
    engine = make_engine(database_url)
    command.upgrade(alembic_config(engine), "0007")
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO channels (name, url, password_enc, interval_s, max_failures,"
                " timeout_s, enabled, failure_count, created_at, uidl_reuse_seen)"
                " VALUES ('box', 'imaps://u@h:993', 'sealed', 60, 10, 30, true, 0, :t, false)"
            ),
            {"t": NOW},
        )
        conn.execute(
            text(
                "INSERT INTO smtp_servers (name, url, password_enc, send_as, is_default,"
                " enabled, timeout_s, created_at)"
                " VALUES ('out', 'smtps://u@h:465', 'sealed', false, true, true, 30, :t)"
            ),
            {"t": NOW},
        )
    command.upgrade(alembic_config(engine), "0008")
    assert current_revision(engine) == "0008"
    # Read through today's repositories, which know the columns of later revisions too.
    command.upgrade(alembic_config(engine), "head")
    storage = Storage(engine, FileBlobStore(tmp_path / "blobs"))
    with storage.reading() as uow:
        [channel] = uow.channels.all()
        [server] = uow.servers.all()
    assert (channel.name, channel.password_enc, channel.oauth_provider) == ("box", "sealed", None)
    assert (server.name, server.is_default, server.mechanism, server.oauth_provider) == (
        "out",
        True,
        None,
        None,
    )
    command.upgrade(alembic_config(engine), "head")
    assert _differences(engine) == []
    command.downgrade(alembic_config(engine), "0007")
    command.upgrade(alembic_config(engine), "head")
    engine.dispose()


def test_a_grant_belongs_to_one_owner_keeps_its_tokens_and_goes_with_it(
    database_url: str, tmp_path: Path
) -> None:
    engine = make_engine(database_url)
    command.upgrade(alembic_config(engine), "head")
    storage = Storage(engine, FileBlobStore(tmp_path / "blobs"))
    settings = GrantSettings("custom", "client", token_url="http://127.0.0.1:1/token")
    with storage.writing() as uow:
        channel = uow.channels.add(name="box", url="imaps://u@h:993", now=NOW)
        server = uow.servers.add(name="out", url="smtps://u@h:465", now=NOW)
        grant = uow.grants.put(GrantOwner.CHANNEL, channel.id, settings, NOW, keep_tokens=False)
        uow.grants.put(GrantOwner.SMTP, server.id, settings, NOW, keep_tokens=False)
        uow.grants.save_tokens(grant.id, "r-sealed", "a-sealed", NOW + timedelta(hours=1), NOW)
    with storage.writing() as uow:
        again = uow.grants.put(GrantOwner.CHANNEL, channel.id, settings, NOW, keep_tokens=True)
        assert (again.id, again.refresh_token_enc, again.access_token_enc) == (
            grant.id,
            "r-sealed",
            "a-sealed",
        )
        assert uow.channels.get("box").token_expires == NOW + timedelta(hours=1)
        assert uow.channels.get("box").oauth_provider == "custom"
        assert uow.servers.get("out").oauth_provider == "custom"
        smtp = uow.grants.get(GrantOwner.SMTP, server.id)
        assert smtp is not None and smtp.owner is GrantOwner.SMTP
        assert smtp.refresh_token_enc is None
    with storage.writing() as uow:
        cleared = uow.grants.put(GrantOwner.CHANNEL, channel.id, settings, NOW, keep_tokens=False)
        assert cleared.refresh_token_enc is None and cleared.expires_at is None
        uow.channels.remove("box")
        uow.servers.remove("out")
    with storage.reading() as uow:
        assert uow.grants.get(GrantOwner.CHANNEL, channel.id) is None
        assert uow.grants.get(GrantOwner.SMTP, server.id) is None
        assert uow.conn.execute(text("SELECT count(*) FROM oauth_grants")).scalar_one() == 0
    engine.dispose()
