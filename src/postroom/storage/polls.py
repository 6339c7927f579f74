"""What polling writes on its channels: leases, outcomes, and a server's reused UIDLs.

A lease (``lease_owner`` + ``lease_until``) taken with one conditional UPDATE makes sure
at most one poll of a channel runs at a time, whatever the number of processes sharing
the database; its owner is ``host:pid``, so a lease left by a process of this host that
is gone is taken over at once instead of running out (`_holder_dead`). A poll's outcome
counts towards switching its channel off (``max_failures``), except a storage failure,
which is Postroom's and not the mailbox's.
"""

from __future__ import annotations

import os
import socket
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, DateTime, bindparam, delete, func, insert, or_, select, update

from postroom.net.connection import FailureClass
from postroom.ports.mailbox import After, FolderMark
from postroom.records.config import ChannelRecord
from postroom.storage.channels import ChannelRepository
from postroom.storage.tables import channels, imap_folders

_UPDATE = update(channels).where(channels.c.id == bindparam("_id"))

# Every process of `postroom run` asks these at every tick (`Scheduler`), mostly to hear
# that nothing is due: built once, so a tick neither builds nor hashes a statement (a
# statement built at each call cost ~300 us of CPU on the development machine, its
# compiled form found in the engine's cache only after its cache key was computed). The
# due channels are first read as their leases alone: while another process of this host
# polls a channel, every tick of the others finds it leased by a live process, and a whole
# row (its JSON columns decoded) for that was ~400 us of a tick's ~620 us.
_NOW = bindparam("now", type_=DateTime())
_DUE = (
    select(channels.c.id, channels.c.lease_owner, channels.c.lease_until)
    .where(
        channels.c.enabled.is_(True),
        or_(channels.c.next_poll.is_(None), channels.c.next_poll <= _NOW),
        or_(
            channels.c.lease_until.is_(None),
            channels.c.lease_until < _NOW,
            channels.c.lease_owner.like(bindparam("here"), escape="/"),
        ),
    )
    .order_by(channels.c.next_poll, channels.c.id)
)
_BY_IDS = select(channels).where(channels.c.id.in_(bindparam("ids", expanding=True)))
_COUNT_ENABLED = select(func.count()).select_from(channels).where(channels.c.enabled.is_(True))


class PollRepository:
    """The poll state of the channels in one unit of work (`uow.polls`)."""

    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    def due(self, now: datetime, names: list[str] | None = None) -> list[ChannelRecord]:
        """Enabled channels whose next poll is due, oldest due first (or the named ones,
        enabled or not).

        A channel whose lease is held by a process of this host that is gone is due too: the
        poll takes the lease over at once (a restarted `postroom run` must not wait for the
        leases of the process it replaces to run out). Leases of live processes, and of other
        hosts (whose processes cannot be seen from here), are waited for.
        """
        if names:
            q = select(channels).where(channels.c.name.in_(names))
            rows = self._conn.execute(q.order_by(channels.c.next_poll, channels.c.id))
            return [ChannelRecord(**row._mapping) for row in rows]
        ids = [
            row.id
            for row in self._conn.execute(_DUE, {"now": now, "here": _here()})
            if row.lease_until is None or row.lease_until < now or _holder_dead(row.lease_owner)
        ]
        if not ids:
            return []
        found = {
            row.id: ChannelRecord(**row._mapping)
            for row in self._conn.execute(_BY_IDS, {"ids": ids})
        }
        return [found[cid] for cid in ids if cid in found]

    def count_enabled(self) -> int:
        return int(self._conn.execute(_COUNT_ENABLED).scalar_one())

    def take_lease(self, channel_id: int, owner: str, now: datetime, ttl: timedelta) -> bool:
        """Take (or renew) the poll lease until ``now + ttl``; False when another holds it."""
        result = self._conn.execute(
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

    def dead_holder(self, channel_id: int) -> str | None:
        """The lease's holder when it is a process of this host that is gone (else None)."""
        holder = self._conn.execute(
            select(channels.c.lease_owner).where(channels.c.id == channel_id)
        ).scalar_one_or_none()
        return holder if holder is not None and _holder_dead(holder) else None

    def steal_lease(
        self, channel_id: int, stale: str, owner: str, now: datetime, ttl: timedelta
    ) -> bool:
        """Take over the lease from ``stale`` (a dead holder), only if it still holds it."""
        result = self._conn.execute(
            update(channels)
            .where(channels.c.id == channel_id, channels.c.lease_owner == stale)
            .values(lease_owner=owner, lease_until=now + ttl)
        )
        return result.rowcount == 1

    def release_lease(self, channel_id: int, owner: str) -> None:
        self._conn.execute(
            update(channels)
            .where(channels.c.id == channel_id, channels.c.lease_owner == owner)
            .values(lease_owner=None, lease_until=None)
        )

    def record_success(
        self,
        channel_id: int,
        now: datetime,
        next_poll: datetime,
        notice: tuple[str, str] | None = None,
    ) -> None:
        """A poll that worked; ``notice`` (class, text) is a reason a person should still
        read (mail left on the server), kept as the last error without counting a failure."""
        values: dict[str, Any] = {"last_error_class": None, "last_error": None}
        if notice is not None:
            row = self._row(channel_id)
            values = {"last_error_class": notice[0], "last_error": notice[1]}
            if (row.last_error_class, row.last_error) != notice:
                values["last_error_at"] = now
        self._set(
            channel_id,
            failure_count=0,
            last_success=now,
            last_poll=now,
            next_poll=next_poll,
            **values,
        )

    def record_storage_failure(
        self, channel_id: int, text: str, now: datetime, next_poll: datetime
    ) -> None:
        """A poll that storage failed: shown on the channel, not counted against it."""
        self._set(
            channel_id,
            last_error_class=FailureClass.STORAGE.value,
            last_error=text,
            last_error_at=now,
            last_poll=now,
            next_poll=next_poll,
        )

    def record_failure(
        self, channel_id: int, kind: str, text: str, now: datetime, next_poll: datetime
    ) -> bool:
        """Count a failed poll; True when this failure switched the channel off."""
        row = self._row(channel_id)
        count = row.failure_count + 1
        values: dict[str, Any] = {
            "failure_count": count,
            "last_error_class": kind,
            "last_error": text,
            "last_error_at": now,
            "last_poll": now,
            "next_poll": next_poll,
        }
        switched_off = row.enabled and count >= row.max_failures
        if switched_off:
            values["enabled"] = False
            values["disabled_reason"] = f"switched off after {count} consecutive failures ({kind})"
        self._set(channel_id, **values)
        return switched_off

    def mark_uidl_reuse(self, channel_id: int) -> bool:
        """Remember that the server gave a stored UIDL to new mail; True the first time.

        From then on every stored UIDL this channel lists is verified by RETR.
        """
        result = self._conn.execute(
            update(channels)
            .where(channels.c.id == channel_id, channels.c.uidl_reuse_seen.is_(False))
            .values(uidl_reuse_seen=True)
        )
        return result.rowcount == 1

    def wake(self, channel_id: int, now: datetime) -> None:
        """New mail was announced (IMAP IDLE): the channel is due now."""
        self._conn.execute(
            update(channels)
            .where(
                channels.c.id == channel_id,
                or_(channels.c.next_poll.is_(None), channels.c.next_poll > now),
            )
            .values(next_poll=now)
        )

    def set_reading(self, channel_id: int, folder: str | None, after: After) -> None:
        """Where a poll reads (the IMAP folder, None: INBOX) and what it does with stored
        mail (``--after``)."""
        self._set(channel_id, folder=folder, after=None if after == After() else str(after))

    def folder_mark(self, channel_id: int, folder: str) -> FolderMark | None:
        """How far the polls of a channel that keeps its mail read this IMAP folder."""
        t = imap_folders.c
        row = self._conn.execute(
            select(t.uidvalidity, t.last_uid).where(t.channel_id == channel_id, t.folder == folder)
        ).first()
        return FolderMark(folder, int(row[0]), int(row[1])) if row is not None else None

    def set_folder_mark(self, channel_id: int, mark: FolderMark, now: datetime) -> None:
        t = imap_folders.c
        self._conn.execute(
            delete(imap_folders).where(t.channel_id == channel_id, t.folder == mark.folder)
        )
        self._conn.execute(
            insert(imap_folders).values(
                channel_id=channel_id,
                folder=mark.folder,
                uidvalidity=mark.validity,
                last_uid=mark.last_uid,
                updated_at=now,
            )
        )

    def _row(self, channel_id: int) -> ChannelRecord:
        return ChannelRepository(self._conn).by_id(channel_id)

    def _set(self, channel_id: int, **values: Any) -> None:
        self._conn.execute(_UPDATE, {"_id": channel_id, **values})


def _here() -> str:
    """A LIKE pattern (escape ``/``) of the lease owners of this host: ``host:`` and more."""
    host = socket.gethostname()
    return host.replace("/", "//").replace("%", "/%").replace("_", "/_") + ":%"


def _holder_dead(holder: str | None) -> bool:
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
