"""The poll lease of a channel: at most one poll of it at a time, across processes.

The lease is taken with one conditional UPDATE and renewed during a long poll; one left
by a dead process of this host is taken over at once, since a crashed poller must not
hold its mailboxes until the lease runs out (elsewhere it expires after `LEASE`).
"""

from __future__ import annotations

import logging
import os
import socket
import time
from collections.abc import Callable
from datetime import datetime, timedelta

from postroom.storage.unit import Storage

log = logging.getLogger("postroom.services.poll")


def lease_owner() -> str:
    """This process's name in leases: host and pid, so a dead holder can be recognised."""
    return f"{socket.gethostname()}:{os.getpid()}"


class PollLeases:
    LEASE = timedelta(minutes=2)
    RENEW = 30.0
    """Seconds between lease renewals during a long poll."""

    def __init__(self, storage: Storage, owner: str, clock: Callable[[], datetime]) -> None:
        self.storage = storage
        self.owner = owner
        self.clock = clock
        self._renewed: dict[int, float] = {}

    def take(self, channel_id: int) -> bool:
        """Take the channel's lease (or take it over from a dead process of this host)."""
        with self.storage.writing() as uow:
            if uow.polls.take_lease(channel_id, self.owner, self.clock(), self.LEASE):
                return True
            holder = uow.polls.dead_holder(channel_id)
            if holder is None:
                return False
            log.warning("taking over channel %s from dead poller %s", channel_id, holder)
            return uow.polls.steal_lease(channel_id, holder, self.owner, self.clock(), self.LEASE)

    def renew(self, channel_id: int, started: float) -> None:
        """Renew the lease when `RENEW` seconds have passed since the poll began or the
        last renewal (``started``: `time.monotonic()` at the poll's start)."""
        if time.monotonic() - self._renewed.get(channel_id, started) > self.RENEW:
            self._renewed[channel_id] = time.monotonic()
            with self.storage.writing() as uow:
                uow.polls.take_lease(channel_id, self.owner, self.clock(), self.LEASE)

    def release(self, channel_id: int) -> None:
        with self.storage.writing() as uow:
            uow.polls.release_lease(channel_id, self.owner)
