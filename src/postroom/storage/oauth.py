"""OAuth2 sign-ins of channels and SMTP servers (`oauth_grants`): the provider and client
as a person set them, and the tokens as the last sign-in or refresh left them, all sealed
by the service before they come here."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Row, insert, select, update

from postroom.records.oauth import GrantOwner, GrantRecord, GrantSettings
from postroom.storage.tables import oauth_grants

_OWNER_COLUMN = {GrantOwner.CHANNEL: "channel_id", GrantOwner.SMTP: "smtp_server_id"}


class GrantRepository:
    """The sign-ins of one unit of work (`uow.grants`): records out, never rows."""

    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    def get(self, owner: GrantOwner, owner_id: int) -> GrantRecord | None:
        column = oauth_grants.c[_OWNER_COLUMN[owner]]
        row = self._conn.execute(select(oauth_grants).where(column == owner_id)).first()
        return None if row is None else _record(row)

    def put(
        self,
        owner: GrantOwner,
        owner_id: int,
        settings: GrantSettings,
        now: datetime,
        *,
        keep_tokens: bool,
    ) -> GrantRecord:
        """Set the provider and client of a sign-in (made if missing); its tokens are kept
        only with ``keep_tokens`` (another client's tokens are of no use)."""
        values: dict[str, Any] = {
            "provider": settings.provider,
            "tenant": settings.tenant,
            "token_url": settings.token_url,
            "device_url": settings.device_url,
            "client_id": settings.client_id,
            "client_secret_enc": settings.client_secret_enc,
            "scopes": " ".join(settings.scopes) or None,
        }
        if not keep_tokens:
            values.update(
                refresh_token_enc=None, access_token_enc=None, expires_at=None, refreshed_at=None
            )
        before = self.get(owner, owner_id)
        if before is None:
            self._conn.execute(
                insert(oauth_grants).values(
                    **values, **{_OWNER_COLUMN[owner]: owner_id}, created_at=now
                )
            )
        else:
            self._conn.execute(
                update(oauth_grants).where(oauth_grants.c.id == before.id).values(**values)
            )
        found = self.get(owner, owner_id)
        assert found is not None
        return found

    def save_tokens(
        self,
        grant_id: int,
        refresh_token_enc: str | None,
        access_token_enc: str | None,
        expires_at: datetime | None,
        now: datetime,
    ) -> None:
        """The tokens of a sign-in or a refresh (a rotated refresh token replaces the old)."""
        self._conn.execute(
            update(oauth_grants)
            .where(oauth_grants.c.id == grant_id)
            .values(
                refresh_token_enc=refresh_token_enc,
                access_token_enc=access_token_enc,
                expires_at=expires_at,
                refreshed_at=now,
            )
        )

    def remove(self, owner: GrantOwner, owner_id: int) -> None:
        """Forget the sign-in (the owner logs in by password again)."""
        column = oauth_grants.c[_OWNER_COLUMN[owner]]
        self._conn.execute(oauth_grants.delete().where(column == owner_id))


def _record(row: Row[Any]) -> GrantRecord:
    m = row._mapping
    owner = GrantOwner.CHANNEL if m["channel_id"] is not None else GrantOwner.SMTP
    return GrantRecord(
        id=m["id"],
        owner=owner,
        owner_id=m[_OWNER_COLUMN[owner]],
        provider=m["provider"],
        tenant=m["tenant"],
        token_url=m["token_url"],
        device_url=m["device_url"],
        client_id=m["client_id"],
        client_secret_enc=m["client_secret_enc"],
        scopes=tuple((m["scopes"] or "").split()),
        refresh_token_enc=m["refresh_token_enc"],
        access_token_enc=m["access_token_enc"],
        expires_at=m["expires_at"],
        refreshed_at=m["refreshed_at"],
        created_at=m["created_at"],
    )
