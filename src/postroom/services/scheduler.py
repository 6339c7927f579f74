"""Polling many channels: each on its own interval, concurrently, fairly, once at a time.

* A bounded thread pool (``max_connections``) polls channels concurrently; a
  channel is never submitted twice while a poll of it runs here, and the
  database lease keeps other processes off it too.
* Fairness: channels are taken oldest-due first, and a poll of one channel
  stops after `PollService.MAX_MESSAGES` or `MAX_SECONDS`, so a huge or slow
  mailbox holds one connection and never the whole pool.
* Errors of one channel are recorded on that channel and never stop the others.
* A storage outage never stops the loop: see `Scheduler.run`.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, as_completed, wait

from postroom.clock import utcnow
from postroom.errors import StorageUnavailableError
from postroom.services.outage import Outage
from postroom.services.poll import PollService
from postroom.services.poll_report import ChannelReport
from postroom.storage.unit import Storage

log = logging.getLogger(__name__)


class Scheduler:
    MAX_ROUNDS = 1000
    """`poll_once` polls a channel again while it reports messages left (fairness cap)."""

    def __init__(
        self, storage: Storage, poller: PollService, max_connections: int = 8, processes: int = 1
    ) -> None:
        self.storage = storage
        self.poller = poller
        self.max_connections = max(1, max_connections)
        self.processes = max(1, processes)

    def poll_once(self, names: list[str] | None = None) -> list[ChannelReport]:
        """One poll of every enabled channel (or of the named ones), then return."""
        with self.storage.reading() as uow:
            if names:
                targets = uow.polls.due(utcnow(), names)
                missing = set(names) - {c.name for c in targets}
                if missing:
                    uow.channels.get(sorted(missing)[0])  # raises: no such channel
            else:
                targets = [c for c in uow.channels.all() if c.enabled]
        reports: dict[str, ChannelReport] = {}
        with ThreadPoolExecutor(self.max_connections, thread_name_prefix="poll") as pool:
            rounds = 0
            while targets and rounds < self.MAX_ROUNDS:
                rounds += 1
                futures = {pool.submit(self.poller.poll, c): c for c in targets}
                again = []
                for future in as_completed(futures):
                    report = future.result()
                    reports[report.channel] = _merge(reports.get(report.channel), report)
                    if self.poller.stopping.is_set():
                        continue  # interrupted: what is left waits for the next poll
                    if report.remaining and not report.errors and not report.skipped:
                        again.append(futures[future])
                targets = again
        # Outcomes and lease releases an outage kept from the database: written if it is back.
        with contextlib.suppress(StorageUnavailableError):
            self.poller.settle_owed()
        return sorted(reports.values(), key=lambda r: r.channel)

    def run(
        self,
        stop: threading.Event,
        tick: float = 1.0,
        housekeeping: Callable[[], None] | None = None,
    ) -> None:
        """Poll due channels until ``stop`` is set; ``housekeeping`` runs every tick.

        Nothing that goes wrong here ends the loop (a worker process that stops would
        leave its share of the mailboxes unpolled). A storage outage — the database
        went away — is said once and tried again with back-off (`Outage`); polls under
        way end on their own, leaving on the server what they could not store, and what
        they could not write down (lease releases, outcomes) is written once the
        database is back. Any other failure of a round is logged once per back-off step,
        with its traceback the first time.
        """
        in_flight: dict[int, Future[ChannelReport]] = {}
        last_housekeeping = 0.0
        storage = Outage(log, "storage")
        scheduling = Outage(log, "scheduling")
        chores = Outage(log, "housekeeping")
        with ThreadPoolExecutor(self.max_connections, thread_name_prefix="poll") as pool:
            while not stop.is_set():
                _collect(in_flight)
                if storage.ready() and scheduling.ready():
                    try:
                        self.poller.settle_owed()
                        self._schedule(pool, in_flight)
                        storage.succeeded("the database is back")
                        scheduling.succeeded("scheduling works again")
                    except StorageUnavailableError as exc:
                        storage.failed(exc)
                    except Exception as exc:  # noqa: BLE001 - the loop must go on
                        scheduling.failed(exc, trace=True)
                chores_due = time.monotonic() - last_housekeeping >= tick
                if housekeeping is not None and chores_due and storage.ready() and chores.ready():
                    last_housekeeping = time.monotonic()
                    try:
                        housekeeping()
                        chores.succeeded("housekeeping works again")
                    except StorageUnavailableError as exc:
                        storage.failed(exc)
                    except Exception as exc:  # noqa: BLE001 - housekeeping must not stop polling
                        chores.failed(exc, trace=True)
                if in_flight:
                    wait(in_flight.values(), timeout=tick, return_when=FIRST_COMPLETED)
                else:
                    stop.wait(tick)
            self.poller.stopping.set()
            for fut in in_flight.values():
                fut.cancel()
        with contextlib.suppress(StorageUnavailableError):
            self.poller.settle_owed()

    def _schedule(
        self, pool: ThreadPoolExecutor, in_flight: dict[int, Future[ChannelReport]]
    ) -> None:
        """Submit the due channels, up to this process's share.

        A share is one channel at least: with none in flight and one due or none (an
        idle tick, a service of one mailbox) the channels are not counted.
        """
        with self.storage.reading() as uow:
            if in_flight:
                free = self._share(uow.polls.count_enabled()) - len(in_flight)
                due = uow.polls.due(utcnow()) if free > 0 else []
            else:
                due = uow.polls.due(utcnow())
                free = len(due) if len(due) <= 1 else self._share(uow.polls.count_enabled())
        for channel in due:
            if free <= 0:
                break
            if channel.id in in_flight:
                continue
            in_flight[channel.id] = pool.submit(self.poller.poll, channel)
            free -= 1

    def _share(self, enabled: int) -> int:
        """The channels this process polls at once: at most its share of the enabled ones,
        so the other processes of `postroom run` (and their cores) get theirs."""
        return min(self.max_connections, max(1, -(-enabled // self.processes)))


def _collect(in_flight: dict[int, Future[ChannelReport]]) -> None:
    """Log the polls that ended and forget them."""
    for cid, fut in list(in_flight.items()):
        if fut.done():
            del in_flight[cid]
            exc = fut.exception()
            if exc is not None:
                log.error("poll of channel %s failed: %s", cid, exc)
            else:
                _log_report(fut.result())


def _log_report(report: ChannelReport) -> None:
    """One line per poll that moved mail or failed (an idle poll says nothing)."""
    if report.errors:
        log.warning("channel %s: %s: %s", report.channel, report.error_class, report.errors[0])
    elif report.fetched or report.deleted_known:
        log.info(
            "channel %s: %d fetched (%d handled, %d quarantined, %d duplicates), "
            "%d stored earlier deleted, %d left, %.1f s",
            report.channel,
            report.fetched,
            report.handled,
            report.quarantined,
            report.duplicates,
            report.deleted_known,
            report.remaining,
            report.seconds,
        )


def _merge(old: ChannelReport | None, new: ChannelReport) -> ChannelReport:
    """Add up the rounds of one channel in one `poll_once`."""
    if old is None:
        return new
    for name in ("fetched", "handled", "quarantined", "duplicates", "deleted_known"):
        setattr(new, name, getattr(old, name) + getattr(new, name))
    new.errors = old.errors + new.errors
    new.seconds += old.seconds
    return new
