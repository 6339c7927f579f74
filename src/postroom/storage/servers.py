"""SMTP servers: the server-wide relay, Send-As accounts, and channels that send their own mail.

Which server sends a message follows from its From address (`server_for`):
the input channel whose address it is, when that channel has SMTP settings
(it reuses the channel's stored credentials and authorization identity);
else an enabled server with Send As permission; else the enabled default.
Passwords stay encrypted here; the service decrypts them only to connect.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from postroom.errors import NotFoundError, UserError
from postroom.net.connection import MailUrl
from postroom.records.config import ServerRecord, SmtpServerRecord
from postroom.storage.tables import channels, oauth_grants, smtp_servers

_WITH_GRANT = select(
    smtp_servers,
    oauth_grants.c.provider.label("oauth_provider"),
    oauth_grants.c.expires_at.label("token_expires"),
).select_from(
    smtp_servers.outerjoin(oauth_grants, oauth_grants.c.smtp_server_id == smtp_servers.c.id)
)
"""A server with its OAuth2 sign-in's provider and token expiry (NULL without one)."""


class ServerRepository:
    """The configured SMTP servers of one unit of work (`uow.servers`): records out."""

    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    def add(
        self,
        *,
        name: str,
        url: str,
        now: datetime,
        password_enc: str | None = None,
        authzid: str | None = None,
        ca_file: str | None = None,
        send_as: bool = False,
        is_default: bool = False,
        enabled: bool = False,
        mechanism: str | None = None,
    ) -> SmtpServerRecord:
        """A new server, disabled until its connection check passes (or it is forced on);
        ``enabled`` is for tests and benchmarks that send at once. A new default server
        takes the place of the old one."""
        if is_default:
            self._conn.execute(update(smtp_servers).values(is_default=False))
        try:
            with self._conn.begin_nested():
                self._conn.execute(
                    insert(smtp_servers).values(
                        name=name,
                        url=url,
                        password_enc=password_enc,
                        authzid=authzid,
                        ca_file=ca_file,
                        send_as=send_as,
                        is_default=is_default,
                        enabled=enabled,
                        timeout_s=30,
                        created_at=now,
                        mechanism=mechanism,
                    )
                )
        except IntegrityError as exc:
            raise UserError(f"an SMTP server named {name!r} exists already") from exc
        return self.get(name)

    def get(self, name: str) -> SmtpServerRecord:
        row = self._conn.execute(_WITH_GRANT.where(smtp_servers.c.name == name)).first()
        if row is None:
            raise NotFoundError(f"no SMTP server {name!r} (see: postroom smtp list)")
        return SmtpServerRecord(**row._mapping)

    def all(self) -> list[SmtpServerRecord]:
        """Every configured server, by name."""
        rows = self._conn.execute(_WITH_GRANT.order_by(smtp_servers.c.name))
        return [SmtpServerRecord(**row._mapping) for row in rows]

    def set_enabled(self, name: str, enabled: bool, reason: str | None = None) -> None:
        """On (its reason to be off forgotten) or off, saying why."""
        self._update(name, enabled=enabled, disabled_reason=None if enabled else reason)

    def record_check(self, name: str, report: dict[str, Any], ok: bool) -> None:
        """Keep a connection check's report (`CheckReport.to_json()`) with the server."""
        self._update(name, last_check=report, last_check_ok=ok)

    def change(self, name: str, values: dict[str, Any]) -> SmtpServerRecord:
        """Change settings in place (`postroom smtp set`): url, password_enc, authzid,
        ca_file, send_as, is_default (a new default takes the old one's place), enabled,
        mechanism."""
        unknown = set(values) - {
            "url",
            "password_enc",
            "authzid",
            "ca_file",
            "send_as",
            "is_default",
            "enabled",
            "mechanism",
        }
        if unknown:
            raise ValueError(f"not a changeable SMTP server setting: {sorted(unknown)}")
        if values.get("is_default"):
            self._conn.execute(update(smtp_servers).values(is_default=False))
        if values:
            self._update(name, **values)
        return self.get(name)

    def remove(self, name: str) -> None:
        """Forget a server (mail already queued goes through whichever server `server_for`
        picks when it is sent)."""
        server = self.get(name)
        self._conn.execute(smtp_servers.delete().where(smtp_servers.c.id == server.id))

    def _update(self, name: str, **values: Any) -> None:
        server = self.get(name)
        self._conn.execute(
            update(smtp_servers).where(smtp_servers.c.id == server.id).values(**values)
        )

    def server_for(self, sender: str) -> ServerRecord | None:
        """The server that sends mail From ``sender`` (see the module docstring), or None."""
        address = sender.strip().lower()
        channel = self._conn.execute(
            select(channels)
            .where(func.lower(channels.c.address) == address, channels.c.smtp_url.is_not(None))
            .order_by(channels.c.id)
            .limit(1)
        ).first()
        if channel is not None:
            oauth = channel.mechanism in _OAUTH
            return ServerRecord(
                name=f"channel:{channel.name}",
                url=channel.smtp_url,
                user=MailUrl.parse(channel.url).user,
                password_enc=channel.password_enc,
                authzid=channel.authzid,
                ca_file=channel.ca_file,
                timeout_s=channel.timeout_s,
                mechanism=channel.mechanism if oauth else None,
                oauth_owner="channel" if oauth else None,
                oauth_owner_id=channel.id if oauth else None,
            )
        enabled = select(smtp_servers).where(smtp_servers.c.enabled.is_(True))
        row = self._conn.execute(
            enabled.where(smtp_servers.c.send_as.is_(True)).order_by(smtp_servers.c.name).limit(1)
        ).first()
        if row is None:
            row = self._conn.execute(
                enabled.where(smtp_servers.c.is_default.is_(True)).limit(1)
            ).first()
        if row is None:
            return None
        return ServerRecord(
            name=f"smtp:{row.name}",
            url=row.url,
            user=None,
            password_enc=row.password_enc,
            authzid=row.authzid,
            ca_file=row.ca_file,
            timeout_s=row.timeout_s,
            mechanism=row.mechanism,
            oauth_owner="smtp" if row.mechanism in _OAUTH else None,
            oauth_owner_id=row.id if row.mechanism in _OAUTH else None,
        )


_OAUTH = ("xoauth2", "oauthbearer")
"""Login mechanisms that take an OAuth2 access token (of the owner's sign-in)."""
