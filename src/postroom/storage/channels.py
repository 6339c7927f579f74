"""Input channels: mailbox settings, encrypted credentials, failure monitoring, poll leases.

Failure monitoring follows the seed's "Failure Count above 0 combined with a
reason": every failed poll adds one to ``failure_count`` and records the
classified reason; a successful poll resets it; ``max_failures`` consecutive
failures switch the channel off.

A lease (``lease_owner`` + ``lease_until``) taken with one conditional UPDATE
makes sure at most one poll of a channel runs at a time, whatever the number
of `postroom run` processes sharing the database. Its owner is ``host:pid``:
a lease held by a process of this host that is gone is taken over at once
(`holder_dead`), not after it runs out.
"""

from __future__ import annotations

import os
import socket
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Row, and_, bindparam, func, insert, or_, select, update
from sqlalchemy.exc import IntegrityError

from postroom.errors import NotFoundError, UserError
from postroom.records.config import ChannelRecord
from postroom.storage.tables import channels, messages

_UPDATE = update(channels).where(channels.c.id == bindparam("_id"))


class ChannelRepository:
    """The input channels of one unit of work (`uow.channels`): records out, never rows.

    The poll's own writes (leases, success and failure counting) are still the module
    functions below, which take a connection.
    """

    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    def add(
        self,
        *,
        name: str,
        url: str,
        address: str | None,
        password_enc: str,
        authzid: str | None,
        ca_file: str | None,
        mechanism: str,
        interval_s: int,
        max_failures: int,
        timeout_s: int,
        now: datetime,
    ) -> ChannelRecord:
        """A new channel, disabled until its connection check passes (or it is forced on)."""
        channel_id = add_channel(
            self._conn,
            now,
            name=name,
            url=url,
            address=address,
            password_enc=password_enc,
            authzid=authzid,
            ca_file=ca_file,
            mechanism=mechanism,
            interval_s=interval_s,
            max_failures=max_failures,
            timeout_s=timeout_s,
            enabled=False,
        )
        return self.by_id(channel_id)

    def get(self, name: str) -> ChannelRecord:
        return channel_record(get_channel(self._conn, name))

    def by_id(self, channel_id: int) -> ChannelRecord:
        return channel_record(by_id(self._conn, channel_id))

    def all(self) -> list[ChannelRecord]:
        """Every channel, by name."""
        return [channel_record(row) for row in list_channels(self._conn)]

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
        set_values(self._conn, channel_id, **values)

    def disable(self, channel_id: int, reason: str) -> None:
        set_values(self._conn, channel_id, enabled=False, disabled_reason=reason)

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
        set_values(self._conn, channel_id, smtp_url=url)


def channel_record(row: Row[Any]) -> ChannelRecord:
    return ChannelRecord(**row._mapping)


def add_channel(conn: Connection, now: datetime, **values: Any) -> int:
    values.setdefault("enabled", True)
    values.update(failure_count=0, created_at=now)
    try:
        with conn.begin_nested():
            return int(
                conn.execute(
                    insert(channels).values(**values).returning(channels.c.id)
                ).scalar_one()
            )
    except IntegrityError as exc:
        raise UserError(f"a channel named {values.get('name')!r} exists already") from exc


def get_channel(conn: Connection, name: str) -> Row[Any]:
    row = conn.execute(select(channels).where(channels.c.name == name)).first()
    if row is None:
        raise NotFoundError(f"no channel {name!r} (see: postroom channel list)")
    return row


def by_id(conn: Connection, channel_id: int) -> Row[Any]:
    row = conn.execute(select(channels).where(channels.c.id == channel_id)).first()
    if row is None:
        raise NotFoundError(f"no channel with id {channel_id}")
    return row


def list_channels(conn: Connection) -> list[Row[Any]]:
    return list(conn.execute(select(channels).order_by(channels.c.name)))


def set_values(conn: Connection, channel_id: int, **values: Any) -> None:
    conn.execute(_UPDATE, {"_id": channel_id, **values})


def count_enabled(conn: Connection) -> int:
    return int(
        conn.execute(
            select(func.count()).select_from(channels).where(channels.c.enabled.is_(True))
        ).scalar_one()
    )


def due(conn: Connection, now: datetime, names: list[str] | None = None) -> list[Row[Any]]:
    """Enabled channels whose next poll is due (or the named ones, enabled or not).

    A channel whose lease is held by a process of this host that is gone is due too: the
    poll takes the lease over at once (a restarted `postroom run` must not wait for the
    leases of the process it replaces to run out). Leases of live processes, and of other
    hosts (whose processes cannot be seen from here), are waited for.
    """
    q = select(channels)
    if names:
        q = q.where(channels.c.name.in_(names))
    else:
        q = q.where(
            channels.c.enabled.is_(True),
            or_(channels.c.next_poll.is_(None), channels.c.next_poll <= now),
            or_(
                channels.c.lease_until.is_(None),
                channels.c.lease_until < now,
                channels.c.lease_owner.startswith(f"{socket.gethostname()}:", autoescape=True),
            ),
        )
    rows = conn.execute(q.order_by(channels.c.next_poll, channels.c.id))
    return [
        row
        for row in rows
        if names or row.lease_until is None or row.lease_until < now or holder_dead(row.lease_owner)
    ]


def holder_dead(holder: str | None) -> bool:
    """A lease owner (``host:pid``) that is a process of this host no longer running."""
    host, _, pid = (holder or "").rpartition(":")
    if host != socket.gethostname() or not pid.isdigit():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return _zombie(int(pid))


def _zombie(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True
    return stat.rpartition(")")[2].split()[0] in ("Z", "X")


def take_lease(
    conn: Connection, channel_id: int, owner: str, now: datetime, ttl: timedelta
) -> bool:
    """Take (or renew) the poll lease; False when another poller holds it."""
    result = conn.execute(
        update(channels)
        .where(
            channels.c.id == channel_id,
            or_(
                channels.c.lease_until.is_(None),
                channels.c.lease_until < now,
                channels.c.lease_owner == owner,
            ),
        )
        .values(lease_owner=owner, lease_until=now + ttl)
    )
    return result.rowcount == 1


def lease_holder(conn: Connection, channel_id: int) -> str | None:
    return conn.execute(
        select(channels.c.lease_owner).where(channels.c.id == channel_id)
    ).scalar_one_or_none()


def steal_lease(
    conn: Connection, channel_id: int, stale: str, owner: str, now: datetime, ttl: timedelta
) -> bool:
    """Take over a lease whose holder is known to be dead (only if it still holds it)."""
    result = conn.execute(
        update(channels)
        .where(channels.c.id == channel_id, channels.c.lease_owner == stale)
        .values(lease_owner=owner, lease_until=now + ttl)
    )
    return result.rowcount == 1


def release_lease(conn: Connection, channel_id: int, owner: str) -> None:
    conn.execute(
        update(channels)
        .where(and_(channels.c.id == channel_id, channels.c.lease_owner == owner))
        .values(lease_owner=None, lease_until=None)
    )


def record_success(
    conn: Connection,
    channel_id: int,
    now: datetime,
    next_poll: datetime,
    notice: tuple[str, str] | None = None,
) -> None:
    """A poll that worked; ``notice`` (class, text) is a reason a person should still read
    (mail left on the server) and is kept as the last error without counting a failure."""
    values: dict[str, Any] = {"last_error_class": None, "last_error": None}
    if notice is not None:
        row = by_id(conn, channel_id)
        values = {"last_error_class": notice[0], "last_error": notice[1]}
        if (row.last_error_class, row.last_error) != notice:
            values["last_error_at"] = now
    set_values(
        conn,
        channel_id,
        failure_count=0,
        last_success=now,
        last_poll=now,
        next_poll=next_poll,
        **values,
    )


def mark_uidl_reuse(conn: Connection, channel_id: int) -> bool:
    """Remember that the channel's server gave a stored UIDL to new mail; True the first time.

    From then on every stored UIDL this channel lists is verified by RETR.
    """
    result = conn.execute(
        update(channels)
        .where(channels.c.id == channel_id, channels.c.uidl_reuse_seen.is_(False))
        .values(uidl_reuse_seen=True)
    )
    return result.rowcount == 1


def record_failure(
    conn: Connection, channel_id: int, kind: str, text: str, now: datetime, next_poll: datetime
) -> bool:
    """Count a failed poll; returns True when this failure switched the channel off."""
    row = by_id(conn, channel_id)
    count = int(row.failure_count) + 1
    values: dict[str, Any] = {
        "failure_count": count,
        "last_error_class": kind,
        "last_error": text,
        "last_error_at": now,
        "last_poll": now,
        "next_poll": next_poll,
    }
    switched_off = bool(row.enabled) and count >= int(row.max_failures)
    if switched_off:
        values["enabled"] = False
        values["disabled_reason"] = f"switched off after {count} consecutive failures ({kind})"
    set_values(conn, channel_id, **values)
    return switched_off


def addresses(conn: Connection) -> dict[int, str | None]:
    """Each channel's mailbox address (the address its mail was delivered for), by id."""
    return {row.id: row.address for row in conn.execute(select(channels.c.id, channels.c.address))}
