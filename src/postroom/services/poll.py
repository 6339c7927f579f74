"""Polling one input channel: store, then delete; nothing lost, nothing twice.

For each message the server lists:
1. a UIDL already in the ledger (stored by an earlier, interrupted poll) is
   only marked for deletion, not downloaded or handled again, when the server
   cannot have given it to new mail: same LIST size, and the channel has never
   seen a UIDL reused; otherwise it is retrieved and its SHA-256 decides
   (`mailboxes.triage`). A message over ``POSTROOM_MAX_MESSAGE_BYTES`` (by its
   LIST size, or by a RETR cut off at the limit) is left on the server and
   remembered, and the reason is kept on the channel;
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

import hashlib
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
from postroom.credentials import SecretBox
from postroom.errors import PostroomError, StorageUnavailableError
from postroom.mailboxes import Pop3MailboxSource
from postroom.mailboxes.pop3_wire import MAX_BODY
from postroom.mime.isolated import ParseInterrupted, ParseOutcome, ParseStream
from postroom.net.connection import ConnectionFailure, MailUrl
from postroom.net.sasl import AuthMechanism
from postroom.ports.mailbox import MailboxSession, MailboxSource, MessageInfo, MessageTooLarge
from postroom.services.ingest import Arrival, IngestService, utcnow
from postroom.services.triage import Action, Ledger, TooLarge, too_large_reason
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
    left_too_large: list[str] = field(default_factory=list)
    """Messages left on the server, over POSTROOM_MAX_MESSAGE_BYTES: one sentence each."""
    errors: list[str] = field(default_factory=list)
    error_class: str | None = None
    switched_off: bool = False
    skipped: str | None = None
    seconds: float = 0.0

    def to_json(self) -> dict[str, Any]:
        return {**asdict(self), "seconds": round(self.seconds, 3)}


SourceFactory = Callable[[Row[Any], SecretBox, int], MailboxSource]


def source_for(
    channel: Row[Any], secrets: SecretBox, max_message_bytes: int = MAX_BODY
) -> MailboxSource:
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
        max_message_bytes=max_message_bytes,
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
        max_message_bytes: int = MAX_BODY,
    ) -> None:
        self.batch_messages = max(1, batch_messages)
        self.max_message_bytes = max_message_bytes
        """Octets of one message at most (POSTROOM_MAX_MESSAGE_BYTES)."""
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
            channels.record_success(conn, channel_id, outcome.at, outcome.next_poll, outcome.notice)
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
            source = self.source_factory(channel, self.secrets, self.max_message_bytes)
            with source.open() as session:
                listing = session.list()
                this_round = listing[: self.MAX_MESSAGES]
                report.remaining = len(listing) - len(this_round)
                ledger = self._ledger(channel, listing, this_round)
                fresh: list[MessageInfo] = []
                for info in this_round:
                    action = ledger.action(info)
                    if action is Action.DELETE:
                        session.delete(info.number)
                        report.deleted_known += 1
                    elif action in (Action.VERIFY, Action.FETCH):
                        fresh.append(info)
                    elif action is Action.LEAVE:  # remembered already, at this size and limit
                        report.left_too_large.append(ledger.too_large[info.uid].reason)
                    else:
                        self._leave(channel, info, report, streamed=False)
                self._fetch(channel, session, listing, ledger, fresh, report, started)
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

    def _fetch(
        self,
        channel: Row[Any],
        session: MailboxSession,
        listing: list[MessageInfo],
        ledger: Ledger,
        fresh: list[MessageInfo],
        report: ChannelReport,
        started: float,
    ) -> None:
        """Retrieve ``fresh``, store it in batches, delete what is stored, QUIT."""
        fetches = session.retrieve_many(fresh)
        batch = _Batch(self.ingest.parser.stream(self.stopping))
        at = -1
        try:
            for index in range(len(fresh)):
                if time.monotonic() - started > self.MAX_SECONDS or self.stopping.is_set():
                    report.remaining += len(fresh) - index
                    break
                self._renew(channel, started, index)
                failpoints.hit("before-retr")
                at = index
                info, raw = next(fetches)
                failpoints.hit("after-retr")
                if ledger.action(info) is Action.VERIFY and self._known(channel, ledger, info, raw):
                    session.delete(info.number)
                    report.deleted_known += 1
                    continue
                report.fetched += 1
                batch.add(info.number, Arrival(raw, channel.id, info.uid))
                full = batch.full(self.batch_messages, self.BATCH_BYTES, self.BATCH_SECONDS)
                if full and not self._flush(batch, session, report):
                    break
            at = -1
            if batch.pending:
                self._flush(batch, session, report)
            failpoints.hit("before-quit")
            session.commit()
            failpoints.hit("after-quit")
        except MessageTooLarge as exc:
            untaken = len(fresh) - at - 1 if at >= 0 else 0
            self._cut_off(channel, exc, listing, batch, session, report, untaken)
        finally:
            batch.stream.close()

    def _record(self, channel: Row[Any], report: ChannelReport, next_poll: datetime) -> None:
        """The poll's outcome on its channel, or owed until the database is back."""
        text = "; ".join(report.errors)
        outcome = _Outcome(report.error_class, text, self.clock(), next_poll, _notice(report))
        try:
            with self.engine.begin() as conn:
                report.switched_off = self._write(conn, channel.id, outcome)
        except StorageUnavailableError:
            self._owe(channel.id, outcome)  # written when the database is back
        if report.switched_off:
            log.error("channel %s switched off: %s", channel.name, text)

    def _flush(
        self, batch: _Batch, session: MailboxSession, report: ChannelReport, delete: bool = True
    ) -> bool:
        """Store the batch, then (``delete``) mark its messages deleted; False when storage
        failed."""
        if not batch.pending or report.error_class == "storage":
            return report.error_class != "storage"
        try:
            parsed = batch.parsed()
            arrivals = [a for _, a in batch.pending]
            results = self.ingest.ingest_batch(arrivals, self.stopping, parsed)
        except ParseInterrupted:
            # Stopping (SIGTERM) while the batch was parsed: none of it is stored, so none
            # of it is deleted; the poll ends with the deletions of what was stored before.
            report.remaining += len(batch.pending)
            batch.clear()
            return False
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
            if delete:
                session.delete(number)
                failpoints.hit("after-dele")
        batch.clear()
        return True

    def _ledger(
        self, channel: Row[Any], listing: list[MessageInfo], this_round: list[MessageInfo]
    ) -> Ledger:
        """What the ledger knows of this round's UIDLs (only those: a channel's history
        grows without bound); remembered too-large messages no longer listed are forgotten."""
        with reading(self.engine) as conn:
            rows = messages.stored_under(conn, channel.id, [i.uid for i in this_round])
            remembered = messages.too_large(conn, channel.id)
            reuse_seen = bool(channels.by_id(conn, channel.id).uidl_reuse_seen)
        gone = set(remembered) - {info.uid for info in listing}
        if gone:
            with self.engine.begin() as conn:
                messages.forget_too_large(conn, channel.id, gone)
        too_large = {
            uid: TooLarge(size, limit, reason)
            for uid, (size, limit, reason) in remembered.items()
            if uid not in gone
        }
        return Ledger.of(rows, too_large, reuse_seen=reuse_seen, limit=self.max_message_bytes)

    def _known(self, channel: Row[Any], ledger: Ledger, info: MessageInfo, raw: bytes) -> bool:
        """A stored UIDL retrieved to be sure (rule 4 of `mailboxes.triage`): True when its
        content is stored already; otherwise the server reused the UIDL for new mail, and
        the channel remembers it (from then on every stored UIDL is verified)."""
        if ledger.holds(info, hashlib.sha256(raw).hexdigest()):
            return True
        if not ledger.reuse_seen:
            with self.engine.begin() as conn:
                first = channels.mark_uidl_reuse(conn, channel.id)
            if first:
                log.warning(
                    "channel %s: the server reused UIDL %r, stored before, for new mail "
                    "(RFC 1939 §7 allows it once a message is gone): it is kept, and every "
                    "stored UIDL of this channel is verified by RETR from now on",
                    channel.name,
                    info.uid[:80],
                )
        return False

    def _leave(
        self, channel: Row[Any], info: MessageInfo, report: ChannelReport, *, streamed: bool
    ) -> None:
        """A message over the limit stays on the server (no RETR, no DELE) and is
        remembered, so later polls leave it alone too; its reason goes on the channel."""
        reason = too_large_reason(info, self.max_message_bytes, streamed=streamed)
        with self.engine.begin() as conn:
            messages.remember_too_large(
                conn,
                channel.id,
                info.uid,
                size=info.size,
                limit=self.max_message_bytes,
                reason=reason,
                now=self.clock(),
            )
        log.warning("channel %s: %s", channel.name, reason)
        report.left_too_large.append(reason)

    def _cut_off(
        self,
        channel: Row[Any],
        exc: MessageTooLarge,
        listing: list[MessageInfo],
        batch: _Batch,
        session: MailboxSession,
        report: ChannelReport,
        untaken: int,
    ) -> None:
        """A RETR ran past the limit and the session is gone without QUIT, so none of its
        deletions happens (RFC 1939 §6). What was retrieved is stored, the message is
        remembered, and the next round (at once) deletes what is stored by its UIDL and
        fetches the rest."""
        self._flush(batch, session, report, delete=False)
        info = next((i for i in listing if i.number == exc.number), None)
        if info is not None:
            self._leave(channel, info, report, streamed=True)
        report.remaining += untaken + report.deleted_known + _stored(report)
        report.deleted_known = 0

    def _lease(self, channel_id: int) -> bool:
        """Take the channel's lease; a lease left by a dead process on this host is taken over
        at once (a crashed poller must not hold its mailboxes until the lease runs out)."""
        with self.engine.begin() as conn:
            if channels.take_lease(conn, channel_id, self.owner, self.clock(), self.LEASE):
                return True
            holder = channels.lease_holder(conn, channel_id)
            if holder is None or not channels.holder_dead(holder):
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
    notice: tuple[str, str] | None = None
    """(class, text) kept on a channel whose poll worked: mail it left on the server."""


def _stored(report: ChannelReport) -> int:
    return report.handled + report.quarantined + report.duplicates


def _kept(report: ChannelReport) -> str:
    stored = _stored(report)
    return f"; {stored} message(s) stored before the outage were kept" if stored else ""


def _notice(report: ChannelReport) -> tuple[str, str] | None:
    """What a poll that worked still has to say on its channel: mail left on the server."""
    if not report.left_too_large:
        return None
    more = len(report.left_too_large) - 1
    text = report.left_too_large[0] + (f" (and {more} more)" if more else "")
    return ("message-too-large", text)


class _Batch:
    """Retrieved messages waiting to be stored together, each handed to the parser as it
    is added (parsed while the next ones are retrieved)."""

    def __init__(self, stream: ParseStream) -> None:
        self.stream = stream
        self.pending: list[tuple[int, Arrival]] = []
        self.bytes = 0
        self.since = 0.0

    def add(self, number: int, arrival: Arrival) -> None:
        if not self.pending:
            self.since = time.monotonic()
        self.pending.append((number, arrival))
        self.bytes += len(arrival.raw)
        self.stream.submit(arrival.raw)

    def parsed(self) -> list[ParseOutcome]:
        """The pending messages' parse outcomes, in order (waits for them)."""
        return self.stream.take(len(self.pending))

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
