"""Polling one input channel: store, then delete; nothing lost, nothing twice.

For each message the server lists:
1. a UIDL already in the ledger (stored by an earlier, interrupted poll) is
   only marked for deletion: it is not downloaded or handled again;
2. otherwise the message is retrieved, stored and handled (`IngestService`,
   which commits the raw bytes and a ledger row keyed by channel, UIDL and
   SHA-256 — or quarantines it, still committed), and only then marked for
   deletion;
3. QUIT makes the deletions take effect (RFC 1939 §6).
A crash anywhere loses nothing: what was not committed is still on the
server; what was committed and not yet deleted is recognised by its UIDL.
If storage itself fails the poll stops before marking that message, and the
deletions of what *was* stored are still committed (a read or lease renewal that
fails leaves the session without QUIT: no deletion at all). Either way the report
says ``storage`` and what was kept; a database that went away is no reason to
stop (see `Scheduler.run`), and what the poll could not write then — its lease
release, its outcome on the channel — is written by `settle_owed` once it is back.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, Row

from postroom import failpoints
from postroom.connection import ConnectionFailure, MailUrl
from postroom.credentials import SecretBox
from postroom.errors import PostroomError, StorageUnavailableError
from postroom.mailboxes import AuthMechanism, MailboxSession, MailboxSource, Pop3MailboxSource
from postroom.services.ingest import Arrival, IngestService, utcnow
from postroom.storage import channels, messages
from postroom.storage.database import reading

log = logging.getLogger(__name__)


@dataclass
class ChannelReport:
    channel: str
    fetched: int = 0
    handled: int = 0
    quarantined: int = 0
    duplicates: int = 0
    deleted_known: int = 0
    """Messages already stored by an earlier poll: deleted without downloading again."""
    remaining: int = 0
    """Left on the server for the next round (fairness cap)."""
    errors: list[str] = field(default_factory=list)
    error_class: str | None = None
    switched_off: bool = False
    skipped: str | None = None
    seconds: float = 0.0

    def to_json(self) -> dict[str, Any]:
        return {**asdict(self), "seconds": round(self.seconds, 3)}


SourceFactory = Callable[[Row[Any], SecretBox], MailboxSource]


def source_for(channel: Row[Any], secrets: SecretBox) -> MailboxSource:
    """The mailbox adapter for a stored channel (its password decrypted only here)."""
    url = MailUrl.parse(channel.url)
    password = secrets.open(channel.password_enc).reveal() if channel.password_enc else ""
    return Pop3MailboxSource(
        url,
        password,
        authzid=channel.authzid,
        mechanism=AuthMechanism(channel.mechanism or "auto"),
        ca_file=Path(channel.ca_file) if channel.ca_file else None,
        timeout=float(channel.timeout_s),
    )


class PollService:
    LEASE = timedelta(minutes=2)
    LEASE_RENEW = 30.0
    """Seconds between lease renewals during a long poll."""
    MAX_MESSAGES = 1000
    """Per poll of one channel: a mailbox holding more is emptied over several rounds,
    so one huge mailbox never keeps the others waiting."""
    MAX_SECONDS = 120.0
    BATCH_BYTES = 8 * 1024 * 1024
    BATCH_SECONDS = 0.5
    """A batch is stored with one flush and one commit, then its messages are deleted."""

    def __init__(
        self,
        engine: Engine,
        ingest: IngestService,
        secrets: SecretBox,
        owner: str,
        source_factory: SourceFactory = source_for,
        clock: Callable[[], datetime] = utcnow,
        batch_messages: int = 50,
    ) -> None:
        self.batch_messages = max(1, batch_messages)
        self.engine = engine
        self.ingest = ingest
        self.secrets = secrets
        self.owner = owner
        self.source_factory = source_factory
        self.clock = clock
        self._renewed: dict[int, float] = {}
        self.stopping = threading.Event()
        """Set by the service on SIGTERM: polls store what they fetched, QUIT and return."""
        self._owed_lock = threading.Lock()
        self._owed_releases: set[int] = set()
        self._owed_records: dict[int, _Outcome] = {}
        """What a storage outage kept from the database: written by `settle_owed`."""
        self._polling: set[int] = set()

    def poll(self, channel: Row[Any]) -> ChannelReport:
        """Poll one channel; a storage outage is reported (class ``storage``), not raised."""
        report = ChannelReport(channel.name)
        started = time.monotonic()
        with self._owed_lock:
            self._polling.add(channel.id)
            self._owed_releases.discard(channel.id)
        try:
            try:
                leased = self._lease(channel.id)
            except StorageUnavailableError as exc:
                report.errors.append(f"{exc}; the mailbox was not opened")
                report.error_class = "storage"
                now = self.clock()
                self._owe(channel.id, _Outcome("storage", report.errors[0], now, now))
                return report
            if not leased:
                report.skipped = "another poller holds this channel"
                return report
            try:
                self._poll(channel, report, started)
            finally:
                report.seconds = time.monotonic() - started
                try:
                    with self.engine.begin() as conn:
                        channels.release_lease(conn, channel.id, self.owner)
                except StorageUnavailableError:
                    with self._owed_lock:
                        self._owed_releases.add(channel.id)
        finally:
            with self._owed_lock:
                self._polling.discard(channel.id)
        return report

    def settle_owed(self) -> None:
        """Write what a storage outage kept from the database: the lease releases (until
        then the channels stay off-limits to the other processes) and the outcomes of the
        polls (a storage failure shows on its channel once the database is back).
        Raises `StorageUnavailableError` while it is still away."""
        with self._owed_lock:
            releases = self._owed_releases - self._polling
            records = {k: v for k, v in self._owed_records.items() if k not in self._polling}
        if not releases and not records:
            return
        with self.engine.begin() as conn:
            for channel_id in releases:
                channels.release_lease(conn, channel_id, self.owner)
            for channel_id, outcome in records.items():
                row = channels.by_id(conn, channel_id)
                if row.last_poll is None or row.last_poll <= outcome.at:  # nothing newer
                    self._write(conn, channel_id, outcome)
        with self._owed_lock:
            self._owed_releases -= releases
            for channel_id, outcome in records.items():
                if self._owed_records.get(channel_id) is outcome:
                    del self._owed_records[channel_id]

    def _owe(self, channel_id: int, outcome: _Outcome) -> None:
        with self._owed_lock:
            self._owed_records[channel_id] = outcome

    def _write(self, conn: Connection, channel_id: int, outcome: _Outcome) -> bool:
        """Record a poll on its channel; True when this failure switched the channel off.

        A storage failure is not the mailbox's fault: it is shown on the channel but does
        not count towards switching it off (``max_failures``)."""
        if outcome.error_class is None:
            channels.record_success(conn, channel_id, outcome.at, outcome.next_poll)
            return False
        if outcome.error_class == "storage":
            channels.set_values(
                conn,
                channel_id,
                last_error_class="storage",
                last_error=outcome.text,
                last_error_at=outcome.at,
                last_poll=outcome.at,
                next_poll=outcome.next_poll,
            )
            return False
        return channels.record_failure(
            conn, channel_id, outcome.error_class, outcome.text, outcome.at, outcome.next_poll
        )

    def _poll(self, channel: Row[Any], report: ChannelReport, started: float) -> None:
        now = self.clock()
        interval = timedelta(seconds=int(channel.interval_s))
        try:
            source = self.source_factory(channel, self.secrets)
            with source.open() as session:
                listing = session.list()
                with reading(self.engine) as conn:
                    known = messages.uids_seen(conn, channel.id)
                this_round = listing[: self.MAX_MESSAGES]
                report.remaining = len(listing) - len(this_round)
                for info in this_round:
                    if info.uid in known:
                        session.delete(info.number)
                        report.deleted_known += 1
                fresh = [info for info in this_round if info.uid not in known]
                fetches = session.retrieve_many(fresh)
                batch = _Batch()
                for index in range(len(fresh)):
                    if time.monotonic() - started > self.MAX_SECONDS or self.stopping.is_set():
                        report.remaining += len(fresh) - index
                        break
                    self._renew(channel, started, index)
                    failpoints.hit("before-retr")
                    info, raw = next(fetches)
                    failpoints.hit("after-retr")
                    report.fetched += 1
                    batch.add(info.number, Arrival(raw, channel.id, info.uid))
                    full = batch.full(self.batch_messages, self.BATCH_BYTES, self.BATCH_SECONDS)
                    if full and not self._flush(batch, session, report):
                        break
                if batch.pending:
                    self._flush(batch, session, report)
                failpoints.hit("before-quit")
                session.commit()
                failpoints.hit("after-quit")
        except StorageUnavailableError as exc:
            # A read or a lease renewal failed: the session was left without QUIT, so no
            # deletion of this poll took effect; what was stored is known by its UIDL.
            report.errors.append(f"{exc}; nothing was deleted from the server{_kept(report)}")
            report.error_class = "storage"
        except ConnectionFailure as exc:
            report.errors.append(str(exc))
            report.error_class = exc.kind.value
        except PostroomError as exc:
            report.errors.append(str(exc))
            report.error_class = "configuration"
        next_poll = now + interval if not report.remaining else self.clock()
        self._record(channel, report, next_poll)

    def _record(self, channel: Row[Any], report: ChannelReport, next_poll: datetime) -> None:
        """The poll's outcome on its channel, or owed until the database is back."""
        text = "; ".join(report.errors)
        outcome = _Outcome(report.error_class, text, self.clock(), next_poll)
        try:
            with self.engine.begin() as conn:
                report.switched_off = self._write(conn, channel.id, outcome)
        except StorageUnavailableError:
            self._owe(channel.id, outcome)  # written when the database is back
        if report.switched_off:
            log.error("channel %s switched off: %s", channel.name, text)

    def _flush(self, batch: _Batch, session: MailboxSession, report: ChannelReport) -> bool:
        """Store the batch, then mark its messages deleted; False when storage failed."""
        if not batch.pending or report.error_class == "storage":
            return report.error_class != "storage"
        try:
            results = self.ingest.ingest_batch([a for _, a in batch.pending])
        except StorageUnavailableError as exc:
            # QUIT follows: only the deletions of what was stored take effect.
            if _stored(report):
                kept = f"{_kept(report)} (and deleted from the server); the rest stays there"
            else:
                kept = "; nothing was stored, every message stays on the server"
            report.errors.append(f"{exc}{kept}")
            report.error_class = "storage"
            batch.clear()
            return False
        failpoints.hit("after-store")
        for (number, _), result in zip(batch.pending, results, strict=True):
            self._count(report, result.outcome, result.already_stored)
            session.delete(number)
            failpoints.hit("after-dele")
        batch.clear()
        return True

    def _lease(self, channel_id: int) -> bool:
        """Take the channel's lease; a lease left by a dead process on this host is taken over
        at once (a crashed poller must not hold its mailboxes until the lease runs out)."""
        with self.engine.begin() as conn:
            if channels.take_lease(conn, channel_id, self.owner, self.clock(), self.LEASE):
                return True
            holder = channels.lease_holder(conn, channel_id)
            if holder is None or not _dead_here(holder):
                return False
            log.warning("taking over channel %s from dead poller %s", channel_id, holder)
            return channels.steal_lease(
                conn, channel_id, holder, self.owner, self.clock(), self.LEASE
            )

    def _renew(self, channel: Row[Any], started: float, index: int) -> None:
        if time.monotonic() - self._renewed.get(channel.id, started) > self.LEASE_RENEW:
            self._renewed[channel.id] = time.monotonic()
            with self.engine.begin() as conn:
                channels.take_lease(conn, channel.id, self.owner, self.clock(), self.LEASE)

    @staticmethod
    def _count(report: ChannelReport, outcome: str, already: bool) -> None:
        if outcome == "quarantined":
            report.quarantined += 1
        elif outcome == "ignored" or already:
            report.duplicates += 1
        else:
            report.handled += 1


@dataclass(frozen=True)
class _Outcome:
    """A poll's outcome as its channel records it."""

    error_class: str | None
    text: str
    at: datetime
    next_poll: datetime


def _stored(report: ChannelReport) -> int:
    return report.handled + report.quarantined + report.duplicates


def _kept(report: ChannelReport) -> str:
    stored = _stored(report)
    return f"; {stored} message(s) stored before the outage were kept" if stored else ""


class _Batch:
    """Retrieved messages waiting to be stored together."""

    def __init__(self) -> None:
        self.pending: list[tuple[int, Arrival]] = []
        self.bytes = 0
        self.since = 0.0

    def add(self, number: int, arrival: Arrival) -> None:
        if not self.pending:
            self.since = time.monotonic()
        self.pending.append((number, arrival))
        self.bytes += len(arrival.raw)

    def full(self, messages: int, size: int, seconds: float) -> bool:
        return (
            len(self.pending) >= messages
            or self.bytes >= size
            or time.monotonic() - self.since >= seconds
        )

    def clear(self) -> None:
        self.pending.clear()
        self.bytes = 0


def lease_owner() -> str:
    """This process's name in leases: host and pid, so a dead holder can be recognised."""
    return f"{socket.gethostname()}:{os.getpid()}"


def _dead_here(holder: str) -> bool:
    host, _, pid = holder.rpartition(":")
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
