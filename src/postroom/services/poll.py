"""Polling one input channel: store, then delete; nothing lost, nothing twice.

For each message the server lists:
1. a UIDL already in the ledger (stored by an earlier, interrupted poll) is
   only marked for deletion, not downloaded or handled again, when the server
   cannot have given it to new mail: same LIST size, and the channel has never
   seen a UIDL reused; otherwise it is retrieved and its SHA-256 decides
   (`services.triage`). A message over ``POSTROOM_MAX_MESSAGE_BYTES`` (by its
   LIST size, or by a RETR cut off at the limit) is left on the server and
   remembered, and the reason is kept on the channel (`poll_ledger`);
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
release, its outcome on the channel — is written by `settle_owed` once it is back
(`poll_outcomes`).

The mailbox is reached through the port `postroom.ports.mailbox`, opened by the
`SourceFactory` bootstrap passes (`mailbox_access`); at most one poll of a channel
runs at a time, across processes (`poll_leases`).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import datetime, timedelta

from postroom import failpoints
from postroom.clock import utcnow
from postroom.credentials import SecretBox
from postroom.domain.decision import Outcome
from postroom.errors import PostroomError, StorageUnavailableError
from postroom.mime.isolated import ParseInterrupted, ParseStream
from postroom.net.connection import ConnectionFailure, FailureClass
from postroom.ports.mailbox import (
    MAX_MESSAGE_BYTES,
    FolderMark,
    FolderSession,
    MailboxSession,
    MessageInfo,
    MessageTooLarge,
)
from postroom.records.config import ChannelRecord
from postroom.services.duration_tally import tally_poll
from postroom.services.ingest import Arrival, IngestService
from postroom.services.mailbox_access import MailboxAccess, SourceFactory
from postroom.services.poll_batch import PollBatch
from postroom.services.poll_leases import PollLeases
from postroom.services.poll_ledger import PollLedger
from postroom.services.poll_outcomes import PollOutcomes
from postroom.services.poll_report import ChannelReport, LivePoll, PollOutcome
from postroom.services.triage import Action, Ledger
from postroom.storage.unit import Storage


class PollService:
    MAX_MESSAGES = 1000
    """Per poll of one channel: a mailbox holding more is emptied over several rounds,
    so one huge mailbox never keeps the others waiting."""
    MAX_SECONDS = 120.0
    BATCH_BYTES = 8 * 1024 * 1024
    BATCH_SECONDS = 0.5
    """A batch is stored with one flush and one commit, then its messages are deleted."""

    def __init__(
        self,
        storage: Storage,
        ingest: IngestService,
        secrets: SecretBox,
        owner: str,
        sources: SourceFactory,
        clock: Callable[[], datetime] = utcnow,
        batch_messages: int = 50,
        max_message_bytes: int = MAX_MESSAGE_BYTES,
    ) -> None:
        self.batch_messages = max(1, batch_messages)
        self.max_message_bytes = max_message_bytes
        """Octets of one message at most (POSTROOM_MAX_MESSAGE_BYTES)."""
        self.storage = storage
        self.ingest = ingest
        self.secrets = secrets
        self.sources = sources
        self.clock = clock
        self.leases = PollLeases(storage, owner, clock)
        self.outcomes = PollOutcomes(storage, self.leases, clock)
        self.ledger = PollLedger(storage, clock, max_message_bytes)
        self.stopping = threading.Event()
        """Set by the service on SIGTERM: polls store what they fetched, QUIT and return."""
        self.live: dict[str, LivePoll] = {}
        """The polls under way by channel name, for a progress display (`LivePoll`)."""

    @property
    def owner(self) -> str:
        """This poller's name in leases (`poll_leases.lease_owner`)."""
        return self.leases.owner

    @owner.setter
    def owner(self, owner: str) -> None:
        self.leases.owner = owner

    def poll(self, channel: ChannelRecord) -> ChannelReport:
        """Poll one channel; a storage outage is reported (class ``storage``), not raised."""
        report = ChannelReport(channel.name)
        started = time.monotonic()
        self.live[channel.name] = LivePoll(report, started)
        self.outcomes.begin(channel.id)
        try:
            try:
                leased = self.leases.take(channel.id)
            except StorageUnavailableError as exc:
                report.failed(FailureClass.STORAGE, f"{exc}; the mailbox was not opened")
                now = self.clock()
                outcome = PollOutcome(FailureClass.STORAGE, report.errors[0], now, now)
                self.outcomes.owe(channel.id, outcome)
                return report
            if not leased:
                report.skipped = "another poller holds this channel"
                return report
            try:
                self._poll(channel, report, started)
            finally:
                report.seconds = time.monotonic() - started
                self.outcomes.release(channel.id)
                tally_poll(self.storage, report)  # /metrics: polls by outcome, durations
        finally:
            self.outcomes.end(channel.id)
            self.live.pop(channel.name, None)
        return report

    def settle_owed(self) -> None:
        """Write what a storage outage kept from the database (`PollOutcomes.settle_owed`);
        raises `StorageUnavailableError` while it is still away."""
        self.outcomes.settle_owed()

    def _poll(self, channel: ChannelRecord, report: ChannelReport, started: float) -> None:
        now = self.clock()
        interval = timedelta(seconds=int(channel.interval_s))
        try:
            access = MailboxAccess.of(channel, self.secrets, self.max_message_bytes)
            keep = access.after.keeps
            if keep:
                access = replace(access, resume=self.ledger.mark(channel.id, access.folder))
            with (
                _ready(self.ingest.parser.stream(self.stopping)) as stream,
                self.sources(access).open() as session,
            ):
                listing = session.list()
                if channel.name in self.live:
                    self.live[channel.name].listed = len(listing)
                this_round = listing[: self.MAX_MESSAGES]
                report.remaining = len(listing) - len(this_round)
                stable = isinstance(session, FolderSession)
                ledger = self.ledger.read(channel.id, listing, this_round, stable=stable, keep=keep)
                round_ = _Round(keep)
                fresh: list[MessageInfo] = []
                for info in this_round:
                    action = ledger.action(info)
                    if action is Action.DELETE:
                        round_.known(session, info, report)
                    elif action in (Action.VERIFY, Action.FETCH):
                        fresh.append(info)
                    elif action is Action.LEAVE:  # remembered already, at this size and limit
                        report.left_too_large.append(ledger.too_large[info.uid].reason)
                        round_.settled.add(info.number)
                    else:
                        self.ledger.leave(channel, info, report, streamed=False)
                        round_.settled.add(info.number)
                self._fetch(
                    channel, session, listing, ledger, fresh, report, started, round_, stream
                )
                if keep and isinstance(session, FolderSession):
                    self._advance(channel.id, session.mark, this_round, round_.settled)
        except StorageUnavailableError as exc:
            # A read or a lease renewal failed: the session was left without QUIT, so no
            # deletion of this poll took effect; what was stored is known by its UIDL.
            text = f"{exc}; nothing was deleted from the server{report.kept()}"
            report.failed(FailureClass.STORAGE, text)
        except ConnectionFailure as exc:
            report.failed(exc.kind, str(exc))
        except PostroomError as exc:
            report.failed(FailureClass.CONFIGURATION, str(exc))
        next_poll = now + interval if not report.remaining else self.clock()
        self.outcomes.record(channel.name, channel.id, report, next_poll)

    def _fetch(
        self,
        channel: ChannelRecord,
        session: MailboxSession,
        listing: list[MessageInfo],
        ledger: Ledger,
        fresh: list[MessageInfo],
        report: ChannelReport,
        started: float,
        round_: _Round,
        stream: ParseStream,
    ) -> None:
        """Retrieve ``fresh``, store it in batches, delete what is stored, QUIT."""
        fetches = session.retrieve_many(fresh)
        batch = PollBatch(stream)
        at = -1
        try:
            for index in range(len(fresh)):
                if time.monotonic() - started > self.MAX_SECONDS or self.stopping.is_set():
                    report.remaining += len(fresh) - index
                    break
                self.leases.renew(channel.id, started)
                failpoints.hit("before-retr")
                at = index
                fetched = next(fetches, None)
                if fetched is None:  # the rest went from the server meanwhile (IMAP)
                    break
                info, raw = fetched
                failpoints.hit("after-retr")
                if ledger.action(info) is Action.VERIFY and self.ledger.known(
                    channel, ledger, info, raw
                ):
                    round_.known(session, info, report)
                    continue
                report.fetched += 1
                batch.add(info.number, Arrival(raw, channel.id, info.uid))
                full = batch.full(self.batch_messages, self.BATCH_BYTES, self.BATCH_SECONDS)
                if full and not self._turn(batch, session, report, round_):
                    # Stopped while a batch was parsed, or the database went away: the
                    # messages not retrieved yet stay on the server too.
                    report.remaining += len(fresh) - index - 1
                    break
            at = -1
            if batch.sealed:  # parsed by now, most likely: stored even when stopping
                self._flush(batch, session, report, round_, count=batch.sealed)
            if batch.pending:
                self._flush(batch, session, report, round_)
            failpoints.hit("before-quit")
            session.commit()
            failpoints.hit("after-quit")
        except MessageTooLarge as exc:
            untaken = len(fresh) - at - 1 if at >= 0 else 0
            self._cut_off(channel, exc, listing, batch, session, report, untaken, round_)

    def _advance(
        self, channel_id: int, mark: FolderMark, this_round: list[MessageInfo], settled: set[int]
    ) -> None:
        """Keeping mail: remember the highest UID up to which this round settled every
        message, so the next poll asks only for newer ones (one UID SEARCH)."""
        last = mark.last_uid if not this_round else 0
        for info in this_round:
            if info.number not in settled:
                break
            last = info.number
        if last:
            self.ledger.advance(channel_id, replace(mark, last_uid=last))

    def _turn(
        self, batch: PollBatch, session: MailboxSession, report: ChannelReport, round_: _Round
    ) -> bool:
        """The batch after the sealed one is full: store the sealed one (parsed while this
        one came in; this one is parsed while it is stored), then seal this one, or store
        it too when it is full by its bytes. False when storing failed."""
        if batch.sealed and not self._flush(batch, session, report, round_, count=batch.sealed):
            return False
        if batch.bytes >= self.BATCH_BYTES:
            return self._flush(batch, session, report, round_)
        batch.seal()
        return True

    def _flush(
        self,
        batch: PollBatch,
        session: MailboxSession,
        report: ChannelReport,
        round_: _Round,
        delete: bool = True,
        count: int | None = None,
    ) -> bool:
        """Store the first ``count`` pending messages (all by default), then (``delete``,
        unless the channel keeps its mail) mark them deleted; False when storage failed:
        then none of the pending messages is stored."""
        storage_failed = report.error_class is FailureClass.STORAGE
        if not batch.pending or storage_failed:
            return not storage_failed
        count = len(batch.pending) if count is None else count
        stored = batch.pending[:count]
        try:
            parsed = batch.parsed(count)
            arrivals = [a for _, a in stored]
            results = self.ingest.ingest_batch(arrivals, self.stopping, parsed)
        except ParseInterrupted:
            # Stopping (SIGTERM) while the batch was parsed: none of it is stored, so none
            # of it is deleted; the poll ends with the deletions of what was stored before.
            report.remaining += len(batch.pending)
            batch.clear()
            return False
        except StorageUnavailableError as exc:
            # QUIT follows: only the deletions of what was stored take effect.
            if report.stored:
                kept = f"{report.kept()} (and deleted from the server); the rest stays there"
            else:
                kept = "; nothing was stored, every message stays on the server"
            report.failed(FailureClass.STORAGE, f"{exc}{kept}")
            batch.clear()
            return False
        failpoints.hit("after-store")
        batch.stored(count)
        for (number, _), result in zip(stored, results, strict=True):
            _count(report, result.outcome, result.already_stored)
            round_.settled.add(number)
            if delete and not round_.keep:
                session.delete(number)
                failpoints.hit("after-dele")
        return True

    def _cut_off(
        self,
        channel: ChannelRecord,
        exc: MessageTooLarge,
        listing: list[MessageInfo],
        batch: PollBatch,
        session: MailboxSession,
        report: ChannelReport,
        untaken: int,
        round_: _Round,
    ) -> None:
        """A RETR ran past the limit and the session is gone without QUIT, so none of its
        deletions happens (RFC 1939 §6). What was retrieved is stored, the message is
        remembered, and the next round (at once) deletes what is stored by its UIDL and
        fetches the rest."""
        self._flush(batch, session, report, round_, delete=False)
        info = next((i for i in listing if i.number == exc.number), None)
        if info is not None:
            self.ledger.leave(channel, info, report, streamed=True)
        report.remaining += untaken + report.deleted_known + report.stored
        report.deleted_known = 0


@contextmanager
def _ready(stream: ParseStream) -> Iterator[ParseStream]:
    """The poll's parse stream, ready before the mailbox is opened: a parser child that
    has to start (the process's first poll) starts while the poll connects and logs in,
    not while its first batch waits to be stored. Closed when the poll is done."""
    try:
        stream.prepare()
        yield stream
    finally:
        stream.close()


class _Round:
    """What one poll of a channel settled, and whether it keeps the mail on the server."""

    def __init__(self, keep: bool) -> None:
        self.keep = keep
        self.settled: set[int] = set()
        """Numbers (IMAP: UIDs) stored, known or left for their size in this round."""

    def known(self, session: MailboxSession, info: MessageInfo, report: ChannelReport) -> None:
        """A message the ledger holds: deleted again (or, keeping mail, left alone)."""
        self.settled.add(info.number)
        if not self.keep:
            session.delete(info.number)
            report.deleted_known += 1


def _count(report: ChannelReport, outcome: Outcome, already: bool) -> None:
    if outcome is Outcome.QUARANTINED:
        report.quarantined += 1
    elif outcome is Outcome.IGNORED or already:
        report.duplicates += 1
    else:
        report.handled += 1
