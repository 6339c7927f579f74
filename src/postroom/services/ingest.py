"""Ingest: store the raw bytes, then handle them in one transaction; quarantine what fails (Q1).

Order matters for "nothing lost, nothing twice":
1. the bytes go to the blob store and are made durable by one flush for the batch,
   before its transaction begins (so before anything committed refers to them), outside
   the writer's turn: the flush waits for the disk, and for whatever else the file
   system holds unwritten (a mail server's queue on the same disk), and no other writer
   waits for it (the batch's replies are kept in their outbox rows, `storage.outbox`);
2. that transaction records the arrival, asks the Email Handler and applies its
   decision; a channel arrival already in the ledger is not handled again;
3. if step 2 fails for any reason but storage, the arrival is recorded as
   quarantined with the error (inside a SAVEPOINT of the same transaction,
   so the other messages of a batch are kept), retryable later.
Only when the arrival could not be recorded at all does ingest raise
`StorageUnavailableError` (an MTA pipe then answers EX_TEMPFAIL).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from postroom.clock import utcnow
from postroom.domain.automatic import automatic_reason
from postroom.domain.decision import Decision, Outcome, Rule
from postroom.domain.handler import decide
from postroom.domain.mail import ParsedMail
from postroom.domain.ports import HandlerContext, HandlerSettings
from postroom.domain.routes import Route
from postroom.errors import StorageConflictError, StorageError, StorageUnavailableError
from postroom.mime.isolated import InProcessParser, MailParser, ParseFailure, ParseOutcome
from postroom.records.items import ItemRecord
from postroom.records.mail import MessageRecord
from postroom.records.statuses import MessageStatus
from postroom.services.apply import Applier, message_status
from postroom.services.duration_tally import HandlingTimes
from postroom.services.explain import Explanation, preview
from postroom.services.failures import error_text
from postroom.services.ledger import decision_document, item_document, quarantine_document
from postroom.services.not_mail import REASON, NotMail, not_mail
from postroom.storage.unit import Storage, UnitOfWork

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Arrival:
    """Raw bytes and where they came from (a channel and the message's UIDL there)."""

    raw: bytes
    channel_id: int | None = None
    source_uid: str | None = None


@dataclass(frozen=True, slots=True)
class IngestResult:
    """What became of one message: handled now (``decision``, the ``items`` it created or
    updated as they are now), quarantined (``error``), or found in the ledger as stored
    before (``already_stored``)."""

    message_row: int
    decision: Decision | None = None
    items: tuple[ItemRecord, ...] = ()
    error: str | None = None
    """Why it could not be handled: the traceback, then the cause in one line."""
    already_stored: bool = False
    recorded: dict[str, Any] | None = None
    """The decision as the ledger recorded it (`postroom.services.ledger`); None when this
    attempt recorded none (a quarantine retry that failed again keeps the earlier one)."""

    @property
    def outcome(self) -> Outcome:
        if self.recorded is not None:
            return Outcome(self.recorded["outcome"])
        if self.decision is not None:
            return self.decision.outcome
        return Outcome.QUARANTINED


class IngestService:
    def __init__(
        self,
        storage: Storage,
        handler_settings: HandlerSettings,
        default_sender: str,
        templates_dir: Path | None = None,
        clock: Callable[[], datetime] = utcnow,
        parser: MailParser | None = None,
    ) -> None:
        self.storage = storage
        self.parser: MailParser = parser or InProcessParser()
        """Parses with a time budget per message in `postroom run` (`IsolatedParser`)."""
        self.settings = handler_settings
        self.default_sender = default_sender
        self.templates_dir = templates_dir
        self.clock = clock
        self._config_cache: _Config | None = None

    CONFIG_TTL = 5.0
    """Seconds a long-running service keeps routes, own addresses and channel addresses
    before reading them again."""

    def _config(self, uow: UnitOfWork) -> tuple[list[Route], frozenset[str], dict[int, str | None]]:
        now = time.monotonic()
        cached = self._config_cache
        if cached is None or now - cached[0] > self.CONFIG_TTL:
            cached = (
                now,
                uow.config.routes(),
                uow.handler.own_addresses(self.default_sender),
                uow.handler.channel_addresses(),
            )
            self._config_cache = cached
        return cached[1], cached[2], cached[3]

    def ingest(
        self,
        raw: bytes,
        channel_id: int | None = None,
        source_uid: str | None = None,
        channel: str | None = None,
    ) -> IngestResult:
        """Store and handle one message (an MTA pipe, a file); see `ingest_batch`.
        ``channel`` names the input channel it came through (instead of ``channel_id``)."""
        if channel is not None:
            with self.storage.reading() as uow:
                channel_id = uow.channels.get(channel).id
        return self.ingest_batch([Arrival(raw, channel_id, source_uid)])[0]

    def ingest_batch(
        self,
        arrivals: Sequence[Arrival],
        stopping: threading.Event | None = None,
        parsed: list[ParseOutcome] | None = None,
    ) -> list[IngestResult]:
        """Store and handle several messages with one blob flush (before the writer's turn)
        and one commit.

        Each message is handled inside its own SAVEPOINT, so a message that fails is
        quarantined (in the same transaction) without undoing the others. When this
        returns, every message of the batch is durably stored: the caller may delete
        them from the mailbox. It raises `StorageUnavailableError` when the batch
        could not be committed (then nothing of it counts as stored), and
        `ParseInterrupted` when ``stopping`` was set while the batch was parsed
        (nothing of it stored either). ``parsed`` are the arrivals' outcomes when the
        caller had them parsed already (a poll streams each message to the parser as it
        is retrieved: `MailParser.stream`).

        Parsing comes first, outside the writer's turn (`Storage.turn`): with
        `IsolatedParser` it runs in a child process under a time budget per message,
        and a message past its budget is quarantined with that reason while the rest of
        the batch goes on.
        """
        if parsed is None:
            parsed = self.parser.parse_many([a.raw for a in arrivals], stopping)
        shas = self.storage.blobs.put_many([a.raw for a in arrivals])
        with self.storage.turn():
            return self._ingest_batch(arrivals, shas, parsed)

    def _ingest_batch(
        self, arrivals: Sequence[Arrival], shas: list[str], parsed: list[ParseOutcome]
    ) -> list[IngestResult]:
        now = self.clock()
        mails = [mail for mail in parsed if isinstance(mail, ParsedMail) and not not_mail(mail)]
        try:
            if len(mails) == len(arrivals):
                return self._ingest_plain(arrivals, shas, mails, now)
        except StorageUnavailableError:
            raise
        except Exception:  # noqa: BLE001 - one message failed: redo with one SAVEPOINT each
            log.info("a batch of %d had a failing message; handling one by one", len(arrivals))
        try:
            with self.storage.writing() as uow:
                items = zip(arrivals, shas, parsed, strict=True)
                times = HandlingTimes()  # /metrics: each message's handling, written once
                results = [times.timed(self._ingest_in, uow, *item, now) for item in items]
                times.record(uow, arrivals[0].channel_id if arrivals else None)
                return results
        except StorageError as exc:
            raise StorageUnavailableError(f"could not commit the messages: {exc}") from exc

    def _ingest_plain(
        self,
        arrivals: Sequence[Arrival],
        shas: list[str],
        mails: list[ParsedMail],
        now: datetime,
    ) -> list[IngestResult]:
        """The common case, every message going through: no SAVEPOINT per message, and the
        writes nothing reads back before the commit go out as one statement each (the
        ledger rows, the item events, the replies, the outcomes: a batch's unit of work)."""
        with self.storage.writing(batch=True) as uow:
            items = list(zip(arrivals, shas, strict=True))
            ledger = [(sha, len(a.raw), a.channel_id, a.source_uid) for a, sha in items]
            rows = uow.messages.insert_arrivals(ledger, now)
            uow.handler.look_up_copies(mail.content_hash for mail in mails)  # D1, one query
            window = now - self.settings.autoreply_window
            uow.handler.count_auto_replies(_answerable(mails), window)
            outcomes: list[dict[str, Any]] = []
            times = HandlingTimes()  # /metrics: each message's handling, written once
            results = [
                times.timed(self._handle, uow, mail, row_id, now, outcomes, a.channel_id)
                for (a, _), mail, row_id in zip(items, mails, rows, strict=True)
            ]
            uow.messages.set_outcomes(outcomes)
            times.record(uow, arrivals[0].channel_id if arrivals else None)
            return results

    def _ingest_in(
        self, uow: UnitOfWork, arrival: Arrival, sha: str, mail: ParseOutcome, now: datetime
    ) -> IngestResult:
        if isinstance(mail, ParseFailure):
            error = mail.reason  # past its time budget: quarantined without handling
        else:
            handled = self._try_handle(uow, arrival, sha, mail, now)
            if isinstance(handled, IngestResult):
                return handled
            error = handled
        last = error.strip().splitlines()[-1] if error.strip() else "unknown error"
        log.warning("message %s quarantined: %s", sha[:12], last)
        with uow.savepoint():
            row_id = _arrive(uow, arrival, sha, now, status=MessageStatus.QUARANTINED)
            recorded = quarantine_document(row_id, error)
            uow.messages.set_outcome(
                row_id,
                error=error,
                attempts=1,
                decision=recorded,
                rule=Rule.Q1.value,
                path=Rule.Q1.value,
            )
        return IngestResult(row_id, error=error, recorded=recorded)

    def _try_handle(
        self, uow: UnitOfWork, arrival: Arrival, sha: str, mail: ParsedMail, now: datetime
    ) -> IngestResult | str:
        """Record and handle one arrival in a SAVEPOINT: its result, or the error text that
        quarantines it."""
        error = ""
        for _attempt in range(2):
            try:
                with uow.savepoint():
                    row_id = _arrive(uow, arrival, sha, now, mail=mail)
                    return self._handle(uow, mail, row_id, now, channel_id=arrival.channel_id)
            except StorageConflictError as exc:
                row = uow.messages.find_arrival(arrival.channel_id, arrival.source_uid, sha)
                if row is not None:
                    return _known(row)
                # Another process committed the same message meanwhile (dedupe_key):
                # decide again, now seeing it (D1).
                error = error_text(exc)
            except StorageUnavailableError:
                raise  # storage, not the message: nothing of the batch counts as stored
            except NotMail as exc:
                return str(exc)  # a classified reason, no traceback
            except Exception as exc:  # noqa: BLE001 - Q1: any unexpected error quarantines it
                return error_text(exc)
        return error

    def handle_stored(
        self, message_row: int, waiting: MessageStatus = MessageStatus.QUARANTINED
    ) -> IngestResult:
        """Handle an arrival again (a retry from quarantine, or of unhandled mail once a
        route exists): same row, a new attempt, only while it is still ``waiting``. A
        failure puts it in quarantine with the new error. A person asks for it, often
        right after changing a route: the configuration is read afresh, not from the cache."""
        self._config_cache = None
        now = self.clock()
        with self.storage.reading() as uow:
            row = uow.messages.get(message_row)
        raw = self.storage.blobs.get(row.raw_sha256)
        mail = self.parser.parse_many([raw])[0]
        if isinstance(mail, ParseFailure):
            error = mail.reason
        else:
            try:
                with self.storage.writing() as uow:
                    if not uow.messages.take_in(message_row, waiting):
                        return _known(uow.messages.get(message_row))  # another retry's
                    return self._handle(uow, mail, message_row, now, channel_id=row.channel_id)
            except NotMail as exc:
                error = str(exc)
            except Exception as exc:  # noqa: BLE001 - stays in quarantine with the new error
                error = error_text(exc)
        with self.storage.writing() as uow:
            if not uow.messages.take_in(message_row, waiting):
                return _known(uow.messages.get(message_row))
            uow.messages.set_outcome(
                message_row,
                status=MessageStatus.QUARANTINED.value,
                error=error,
                attempts=row.attempts + 1,
            )
        return IngestResult(message_row, error=error)

    def explain(self, raw: bytes) -> Explanation:
        """A dry run: the parsed mail and the decision it would get, nothing written."""
        from postroom.mime.parser import parse  # ingest parses in a child: not loaded here

        mail = parse(raw)
        if not_mail(mail):
            decision = Decision(
                Outcome.QUARANTINED, Rule.Q1, (Rule.Q1,), reason=REASON, trace=(REASON,)
            )
            return Explanation(mail, None, decision, ())
        with self.storage.reading() as uow:
            decision = decide(mail, self._context(uow, None), self.settings, self.clock())
        with self.storage.reading() as uow:
            items = preview(uow, decision)
            own = uow.handler.own_addresses(self.default_sender)
        return Explanation(mail, automatic_reason(mail, own), decision, items)

    def _context(
        self, uow: UnitOfWork, row_id: int | None, channel_id: int | None = None
    ) -> HandlerContext:
        routes, own, addresses = self._config(uow)
        # The address a message came through is the channel's: known without a query,
        # unless the channel is newer than the cache.
        known = channel_id is None or channel_id in addresses
        return uow.handler.context(
            routes,
            own,
            exclude_message=row_id,
            arrival_address=addresses.get(channel_id) if channel_id is not None else None,
            arrival_known=known and row_id is not None,
        )

    def _handle(
        self,
        uow: UnitOfWork,
        mail: ParsedMail,
        row_id: int,
        now: datetime,
        outcomes: list[dict[str, Any]] | None = None,
        channel_id: int | None = None,
    ) -> IngestResult:
        """Decide and apply. In a batch's unit (``uow.seen``) the message's row does not
        carry its Message-ID and content hash yet: the later messages of the batch learn
        them here. With ``outcomes`` the ledger row's outcome is left to the caller.
        Bytes that are not mail raise `NotMail` (they are quarantined, never handled)."""
        if not_mail(mail):
            raise NotMail
        context = self._context(uow, row_id, channel_id)
        decision = decide(mail, context, self.settings, now)
        key = _dedupe_key(uow, mail, decision)
        if uow.seen is not None and mail.content_hash:
            uow.seen.record(mail.message_id, mail.content_hash, row_id, key)
        applier = Applier(uow, self.default_sender, self.templates_dir, now)
        touched = tuple(applier.apply(decision, mail, row_id))
        recorded = decision_document(decision, [item_document(i) for i in touched], row_id)
        recorded["trace"] = list(decision.trace)  # `message show` tells how it was decided
        outcome = dict(
            status=message_status(decision).value,
            content_hash=mail.content_hash,
            message_id=mail.message_id,
            from_address=mail.from_.address if mail.from_ else None,
            subject=mail.subject,
            rule=decision.rule.value,
            path=",".join(r.value for r in decision.path),
            matched_by=decision.matched_by.value if decision.matched_by else None,
            reason=decision.reason,
            decision=recorded,
            duplicate_of=decision.duplicate_of,
            dedupe_key=key,
            error=None,
            attempts=1,
        )
        if outcomes is None:
            uow.messages.set_outcome(row_id, **outcome)
        else:
            outcomes.append({"_row": row_id, **outcome})
        return IngestResult(row_id, decision, touched, recorded=recorded)


_Config = tuple[float, list[Route], frozenset[str], dict[int, str | None]]
"""When read; routes; own addresses; each channel's address by id."""


def _answerable(mails: list[ParsedMail]) -> list[str]:
    """Where an automated reply to these messages goes (`reply_address`): the first
    Reply-To, else From. Not every Reply-To: remote mail may list thousands, each a bound
    parameter of the count. An address chosen past these (the first Reply-To not fully
    qualified) is counted by a query of its own (`auto_replies_since`)."""
    found = [mail.reply_to[0].normalized for mail in mails if mail.reply_to]
    found += [mail.from_.normalized for mail in mails if mail.from_ is not None]
    return found


def _known(row: MessageRecord) -> IngestResult:
    """An arrival found in the ledger: what was decided for it then."""
    if row.decision:
        return IngestResult(row.id, already_stored=True, recorded=row.decision)
    return IngestResult(row.id, error=row.error or "", already_stored=True)


def _dedupe_key(uow: UnitOfWork, mail: ParsedMail, decision: Decision) -> str | None:
    """Set for every message the handler acted on: the same message cannot be acted on twice
    for the same routes, even by two processes at the same moment (the second commit fails,
    then sees D1); a copy for other routes can be (`postroom.domain.copies`)."""
    if decision.rule in (Rule.D1, Rule.D2) or not mail.content_hash:
        return None
    return uow.handler.dedupe_key(mail.message_id, mail.content_hash, decision.routes)


def _arrive(
    uow: UnitOfWork,
    arrival: Arrival,
    sha: str,
    now: datetime,
    status: MessageStatus = MessageStatus.STORED,
    mail: ParsedMail | None = None,
) -> int:
    """Record the arrival (the ledger row); unique per channel, UIDL and content. The
    Message-ID and content hash go in at once: a copy later in the same batch is a D1."""
    return uow.messages.insert_arrival(
        raw_sha256=sha,
        size=len(arrival.raw),
        now=now,
        channel_id=arrival.channel_id,
        source_uid=arrival.source_uid,
        status=status,
        content_hash=mail.content_hash if mail else None,
        message_id=mail.message_id if mail else None,
    )
