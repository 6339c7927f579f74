"""Input channels: mailbox settings, encrypted credentials, connection checks, failure counts.

Failure monitoring follows the seed's "Failure Count above 0 combined with a
reason": every failed poll or connection check adds one to ``failure_count`` and
records the classified reason; a successful poll resets it; ``max_failures``
consecutive failures switch the channel off. What a poll writes (its lease, its
outcome) is `storage.polls`; this module is the channel as configuration.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, bindparam, insert, select, update
from sqlalchemy.exc import IntegrityError

from postroom.errors import NotFoundError, UserError
from postroom.records.config import ChannelRecord
from postroom.storage.tables import channels, messages, oauth_grants

_UPDATE = update(channels).where(channels.c.id == bindparam("_id"))
_WITH_GRANT = select(
    channels,
    oauth_grants.c.provider.label("oauth_provider"),
    oauth_grants.c.expires_at.label("token_expires"),
).select_from(channels.outerjoin(oauth_grants, oauth_grants.c.channel_id == channels.c.id))
"""A channel with its OAuth2 sign-in's provider and token expiry (NULL without one)."""


class ChannelRepository:
    """The input channels of one unit of work (`uow.channels`): records out, never rows."""

    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    def add(
        self,
        *,
        name: str,
        url: str,
        now: datetime,
        address: str | None = None,
        password_enc: str | None = None,
        authzid: str | None = None,
        ca_file: str | None = None,
        mechanism: str | None = None,
        interval_s: int = 60,
        max_failures: int = 10,
        timeout_s: int = 30,
        enabled: bool = False,
    ) -> ChannelRecord:
        """A new channel, disabled until its connection check passes (or it is forced on);
        ``enabled`` is for tests and benchmarks that poll at once."""
        values = {
            "name": name,
            "url": url,
            "address": address,
            "password_enc": password_enc,
            "authzid": authzid,
            "ca_file": ca_file,
            "mechanism": mechanism,
            "interval_s": interval_s,
            "max_failures": max_failures,
            "timeout_s": timeout_s,
            "enabled": enabled,
            "failure_count": 0,
            "created_at": now,
        }
        try:
            with self._conn.begin_nested():
                channel_id = self._conn.execute(
                    insert(channels).values(**values).returning(channels.c.id)
                ).scalar_one()
        except IntegrityError as exc:
            raise UserError(f"a channel named {name!r} exists already") from exc
        return self.by_id(int(channel_id))

    def get(self, name: str) -> ChannelRecord:
        row = self._conn.execute(_WITH_GRANT.where(channels.c.name == name)).first()
        if row is None:
            raise NotFoundError(f"no channel {name!r} (see: postroom channel list)")
        return ChannelRecord(**row._mapping)

    def by_id(self, channel_id: int) -> ChannelRecord:
        row = self._conn.execute(_WITH_GRANT.where(channels.c.id == channel_id)).first()
        if row is None:
            raise NotFoundError(f"no channel with id {channel_id}")
        return ChannelRecord(**row._mapping)

    def all(self) -> list[ChannelRecord]:
        """Every channel, by name."""
        rows = self._conn.execute(_WITH_GRANT.order_by(channels.c.name))
        return [ChannelRecord(**row._mapping) for row in rows]

    def addresses(self) -> dict[int, str | None]:
        """Each channel's mailbox address (the address its mail was delivered for), by id."""
        rows = self._conn.execute(select(channels.c.id, channels.c.address))
        return {row.id: row.address for row in rows}

    def record_check(
        self,
        channel_id: int,
        report: dict[str, Any],
        failure: tuple[str, str] | None,
        now: datetime,
    ) -> None:
        """Keep a connection check's report; a failed one (its class and text) counts as a
        failure of the channel, as a failed poll does."""
        values: dict[str, Any] = {"last_check": report, "last_check_ok": failure is None}
        if failure is not None:
            values.update(
                last_error_class=failure[0],
                last_error=failure[1],
                last_error_at=now,
                failure_count=channels.c.failure_count + 1,
            )
        self._conn.execute(update(channels).where(channels.c.id == channel_id).values(**values))

    def enable(self, channel_id: int, *, reset_failures: bool) -> None:
        values: dict[str, Any] = {"enabled": True, "disabled_reason": None}
        if reset_failures:
            values["failure_count"] = 0
        self._set(channel_id, **values)

    def disable(self, channel_id: int, reason: str) -> None:
        self._set(channel_id, enabled=False, disabled_reason=reason)

    def remove(self, name: str) -> None:
        """Forget a channel that never stored mail; one that did keeps its ledger (its UIDLs
        are what prevents a second download), so it can only be disabled."""
        channel = self.get(name)
        stored = self._conn.execute(
            select(messages.c.id).where(messages.c.channel_id == channel.id).limit(1)
        ).first()
        if stored is not None:
            raise UserError(
                f"channel {name} has stored messages: disable it instead (postroom channel disable)"
            )
        self._conn.execute(channels.delete().where(channels.c.id == channel.id))

    def set_smtp(self, channel_id: int, url: str | None) -> None:
        """The channel sends mail From its address through ``url`` (None: it stops)."""
        self._set(channel_id, smtp_url=url)

    def change(self, channel_id: int, values: dict[str, Any]) -> ChannelRecord:
        """Change settings in place (`postroom channel set`): only the keys given, of those
        a person may set (url, password_enc, authzid, ca_file, interval_s, max_failures,
        address, mechanism, timeout_s), and with ``enabled`` the switch."""
        unknown = set(values) - _CHANGEABLE
        if unknown:
            raise ValueError(f"not a changeable channel setting: {sorted(unknown)}")
        if values:
            self._set(channel_id, **values)
        return self.by_id(channel_id)

    def _set(self, channel_id: int, **values: Any) -> None:
        self._conn.execute(_UPDATE, {"_id": channel_id, **values})


_CHANGEABLE = frozenset(
    {
        "url",
        "password_enc",
        "authzid",
        "ca_file",
        "interval_s",
        "max_failures",
        "address",
        "mechanism",
        "timeout_s",
        "enabled",
        "disabled_reason",
    }
)
