"""A poll's outcome on its channel, written now or, after a storage outage, once the
database is back.

A database that went away is no reason to stop polling (see `Scheduler.run`); what a
poll could not write then — its lease release, its outcome on the channel — is kept here
and written by `settle_owed`, unless a later poll of the channel wrote something newer.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import datetime

from postroom.errors import StorageUnavailableError
from postroom.net.connection import FailureClass
from postroom.services.poll_leases import PollLeases
from postroom.services.poll_report import ChannelReport, PollOutcome
from postroom.storage.unit import Storage, UnitOfWork

log = logging.getLogger("postroom.services.poll")


class PollOutcomes:
    def __init__(self, storage: Storage, leases: PollLeases, clock: Callable[[], datetime]) -> None:
        self.storage = storage
        self.leases = leases
        self.clock = clock
        self._lock = threading.Lock()
        self._releases: set[int] = set()
        self._records: dict[int, PollOutcome] = {}
        self._polling: set[int] = set()
        """Channels polled now: their debts wait for the poll's own writes."""

    def begin(self, channel_id: int) -> None:
        """A poll of the channel starts: its own release will come at its end."""
        with self._lock:
            self._polling.add(channel_id)
            self._releases.discard(channel_id)

    def end(self, channel_id: int) -> None:
        with self._lock:
            self._polling.discard(channel_id)

    def owe(self, channel_id: int, outcome: PollOutcome) -> None:
        with self._lock:
            self._records[channel_id] = outcome

    def release(self, channel_id: int) -> None:
        """Give the channel's lease back, or owe it until the database is back."""
        try:
            self.leases.release(channel_id)
        except StorageUnavailableError:
            with self._lock:
                self._releases.add(channel_id)

    def record(
        self, channel: str, channel_id: int, report: ChannelReport, next_poll: datetime
    ) -> None:
        """The poll's outcome on its channel, or owed until the database is back."""
        text = "; ".join(report.errors)
        outcome = PollOutcome(report.error_class, text, self.clock(), next_poll, report.notice())
        try:
            with self.storage.writing() as uow:
                report.switched_off = _write(uow, channel_id, outcome)
        except StorageUnavailableError:
            self.owe(channel_id, outcome)  # written when the database is back
        if report.switched_off:
            log.error("channel %s switched off: %s", channel, text)

    def settle_owed(self) -> None:
        """Write what a storage outage kept from the database: the lease releases (until
        then the channels stay off-limits to the other processes) and the outcomes of the
        polls (a storage failure shows on its channel once the database is back).
        Raises `StorageUnavailableError` while it is still away."""
        with self._lock:
            releases = self._releases - self._polling
            records = {k: v for k, v in self._records.items() if k not in self._polling}
        if not releases and not records:
            return
        with self.storage.writing() as uow:
            for channel_id in releases:
                uow.polls.release_lease(channel_id, self.leases.owner)
            for channel_id, outcome in records.items():
                last_poll = uow.channels.by_id(channel_id).last_poll
                if last_poll is None or last_poll <= outcome.at:  # nothing newer
                    _write(uow, channel_id, outcome)
        with self._lock:
            self._releases -= releases
            for channel_id, outcome in records.items():
                if self._records.get(channel_id) is outcome:
                    del self._records[channel_id]


def _write(uow: UnitOfWork, channel_id: int, outcome: PollOutcome) -> bool:
    """Record a poll on its channel; True when this failure switched the channel off.

    A storage failure is not the mailbox's fault: it is shown on the channel but does
    not count towards switching it off (``max_failures``)."""
    if outcome.error_class is None:
        uow.polls.record_success(channel_id, outcome.at, outcome.next_poll, outcome.notice)
        return False
    if outcome.error_class is FailureClass.STORAGE:
        uow.polls.record_storage_failure(channel_id, outcome.text, outcome.at, outcome.next_poll)
        return False
    return uow.polls.record_failure(
        channel_id, outcome.error_class.value, outcome.text, outcome.at, outcome.next_poll
    )
