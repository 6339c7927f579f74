"""What polling writes on its channels: leases, outcomes, and a server's reused UIDLs.

A lease (``lease_owner`` + ``lease_until``) taken with one conditional UPDATE makes sure
at most one poll of a channel runs at a time, whatever the number of processes sharing
the database; its owner is ``host:pid``, so a lease left by a process of this host that
is gone is taken over at once instead of running out (`storage.channels.holder_dead`).
A poll's outcome counts towards switching its channel off (``max_failures``), except a
storage failure, which is Postroom's and not the mailbox's.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import Connection

from postroom.net.connection import FailureClass
from postroom.records.config import ChannelRecord
from postroom.storage import channels


class PollRepository:
    """The poll state of the channels in one unit of work (`uow.polls`)."""

    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    def due(self, now: datetime, names: list[str] | None = None) -> list[ChannelRecord]:
        """Enabled channels due at ``now``, oldest due first (or the named ones, enabled or
        not); a channel leased by a dead process of this host counts as due."""
        return [channels.channel_record(row) for row in channels.due(self._conn, now, names)]

    def count_enabled(self) -> int:
        return channels.count_enabled(self._conn)

    def take_lease(self, channel_id: int, owner: str, now: datetime, ttl: timedelta) -> bool:
        """Take (or renew) the poll lease until ``now + ttl``; False when another holds it."""
        return channels.take_lease(self._conn, channel_id, owner, now, ttl)

    def dead_holder(self, channel_id: int) -> str | None:
        """The lease's holder when it is a process of this host that is gone (else None)."""
        holder = channels.lease_holder(self._conn, channel_id)
        return holder if holder is not None and channels.holder_dead(holder) else None

    def steal_lease(
        self, channel_id: int, stale: str, owner: str, now: datetime, ttl: timedelta
    ) -> bool:
        """Take over the lease from ``stale`` (a dead holder), only if it still holds it."""
        return channels.steal_lease(self._conn, channel_id, stale, owner, now, ttl)

    def release_lease(self, channel_id: int, owner: str) -> None:
        channels.release_lease(self._conn, channel_id, owner)

    def record_success(
        self,
        channel_id: int,
        now: datetime,
        next_poll: datetime,
        notice: tuple[str, str] | None = None,
    ) -> None:
        """A poll that worked; ``notice`` (class, text) is kept as the last error without
        counting a failure (mail it left on the server)."""
        channels.record_success(self._conn, channel_id, now, next_poll, notice)

    def record_storage_failure(
        self, channel_id: int, text: str, now: datetime, next_poll: datetime
    ) -> None:
        """A poll that storage failed: shown on the channel, not counted against it."""
        channels.set_values(
            self._conn,
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
        return channels.record_failure(self._conn, channel_id, kind, text, now, next_poll)

    def mark_uidl_reuse(self, channel_id: int) -> bool:
        """Remember that the server gave a stored UIDL to new mail; True the first time."""
        return channels.mark_uidl_reuse(self._conn, channel_id)
