"""Ingest: store the raw bytes, then handle them in one transaction; quarantine what fails (Q1).

Order matters for "nothing lost, nothing twice":
1. the bytes go to the blob store (durable before anything refers to them);
2. one transaction records the arrival, asks the Email Handler and applies its
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
import traceback
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine
from sqlalchemy.exc import IntegrityError, OperationalError, SQLAlchemyError, StatementError

from postroom.domain.decision import Decision, Outcome, Rule
from postroom.domain.handler import decide
from postroom.domain.mail import ParsedMail
from postroom.domain.ports import HandlerSettings
from postroom.domain.routes import Route
from postroom.errors import StorageUnavailableError
from postroom.mime.isolated import InProcessParser, MailParser, ParseFailure, ParseOutcome
from postroom.services.apply import Applier, BlobWriter, message_status
from postroom.services.present import decision_json, item_json
from postroom.storage import channels, config, messages, workitems
from postroom.storage.blobs import FileBlobStore, StagedBlobs
from postroom.storage.database import reading
from postroom.storage.handler_store import BatchSeen, SqlHandlerContext, dedupe_key, own_addresses

log = logging.getLogger(__name__)


def utcnow() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


@dataclass(frozen=True, slots=True)
class Arrival:
    """Raw bytes and where they came from (a channel and the message's UIDL there)."""

    raw: bytes
    channel_id: int | None = None
    source_uid: str | None = None


@dataclass(frozen=True)
class IngestResult:
    message_row: int
    decision: dict[str, Any]
    already_stored: bool = False

    @property
    def outcome(self) -> str:
        return str(self.decision["outcome"])


class IngestService:
    def __init__(
        self,
        engine: Engine,
        blobs: FileBlobStore,
        handler_settings: HandlerSettings,
        default_sender: str,
        templates_dir: Path | None = None,
        clock: Callable[[], datetime] = utcnow,
        parser: MailParser | None = None,
    ) -> None:
        self.engine = engine
        self.parser: MailParser = parser or InProcessParser()
        """Parses with a time budget per message in `postroom run` (`IsolatedParser`)."""
        self.blobs = blobs
        self.settings = handler_settings
        self.default_sender = default_sender
        self.templates_dir = templates_dir
        self.clock = clock
        self._config_cache: _Config | None = None
        self._one_batch = threading.Lock()
        """Batches of one process are ingested one at a time (see `ingest_batch`)."""

    CONFIG_TTL = 5.0
    """Seconds a long-running service keeps routes, own addresses and channel addresses
    before reading them again."""

    def _config(
        self, conn: Connection
    ) -> tuple[list[Route], frozenset[str], dict[int, str | None]]:
        now = time.monotonic()
        cached = self._config_cache
        if cached is None or now - cached[0] > self.CONFIG_TTL:
            cached = (
                now,
                config.list_routes(conn),
                own_addresses(conn, self.default_sender),
                channels.addresses(conn),
            )
            self._config_cache = cached
        return cached[1], cached[2], cached[3]

    def ingest(
        self, raw: bytes, channel_id: int | None = None, source_uid: str | None = None
    ) -> IngestResult:
        """Store and handle one message (an MTA pipe, a file); see `ingest_batch`."""
        return self.ingest_batch([Arrival(raw, channel_id, source_uid)])[0]

    def ingest_batch(
        self,
        arrivals: Sequence[Arrival],
        stopping: threading.Event | None = None,
        parsed: list[ParseOutcome] | None = None,
    ) -> list[IngestResult]:
        """Store and handle several messages with one blob flush and one commit.

        Each message is handled inside its own SAVEPOINT, so a message that fails is
        quarantined (in the same transaction) without undoing the others. When this
        returns, every message of the batch is durably stored: the caller may delete
        them from the mailbox. It raises `StorageUnavailableError` when the batch
        could not be committed (then nothing of it counts as stored), and
        `ParseInterrupted` when ``stopping`` was set while the batch was parsed
        (nothing of it stored either). ``parsed`` are the arrivals' outcomes when the
        caller had them parsed already (a poll streams each message to the parser as it
        is retrieved: `MailParser.stream`).

        Parsing comes first, outside the turn: with `IsolatedParser` it runs in a
        child process under a time budget per message, and a message past its budget
        is quarantined with that reason while the rest of the batch goes on.

        The poll threads of one process take turns here; their network reads go on
        meanwhile. Python runs one thread of a process at a time anyway, and a thread
        that handles its batch inside the database's single-writer turn while the
        process's other threads parse would share the interpreter with them: the turn
        then lasts ~1.6 times its CPU time, and every other process waits for it (with
        2 processes x 4 mailboxes, a third fewer messages a second than one at a time).
        Several cores are used by several processes (`postroom run --workers`).
        """
        if parsed is None:
            parsed = self.parser.parse_many([a.raw for a in arrivals], stopping)
        with self._one_batch:
            return self._ingest_batch(arrivals, parsed)

    def _ingest_batch(
        self, arrivals: Sequence[Arrival], parsed: list[ParseOutcome]
    ) -> list[IngestResult]:
        shas = self.blobs.put_many([a.raw for a in arrivals])
        now = self.clock()
        items = list(zip(arrivals, shas, parsed, strict=True))
        mails = [mail for mail in parsed if isinstance(mail, ParsedMail)]
        try:
            if len(mails) == len(items):
                return self._ingest_plain(items, mails, now)
        except OperationalError as exc:
            raise StorageUnavailableError(f"could not commit the messages: {exc}") from exc
        except StorageUnavailableError:
            raise
        except Exception:  # noqa: BLE001 - one message failed: redo with one SAVEPOINT each
            log.info("a batch of %d had a failing message; handling one by one", len(items))
        try:
            with self._writing() as (conn, staged):
                return [self._ingest_in(conn, *item, now, staged) for item in items]
        except SQLAlchemyError as exc:
            raise StorageUnavailableError(f"could not commit the messages: {exc}") from exc

    @contextmanager
    def _writing(self) -> Iterator[tuple[Connection, StagedBlobs]]:
        """A write transaction whose outbound messages (automated replies) are written as
        they come and made durable together, once, just before the commit."""
        staged = self.blobs.staged()
        try:
            with self.engine.begin() as conn:
                yield conn, staged
                staged.publish()
        finally:
            staged.discard()

    def _ingest_plain(
        self,
        items: list[tuple[Arrival, str, ParseOutcome]],
        mails: list[ParsedMail],
        now: datetime,
    ) -> list[IngestResult]:
        """The common case, every message going through: no SAVEPOINT per message, and the
        writes nothing reads back before the commit go out as one statement each (the
        ledger rows, the item events, the outcomes)."""
        with self._writing() as (conn, staged):
            ledger = [(sha, len(a.raw), a.channel_id, a.source_uid) for a, sha, _ in items]
            rows = messages.insert_arrivals(conn, ledger, now)
            outcomes: list[dict[str, Any]] = []
            seen = BatchSeen()
            with workitems.deferred_writes(conn):
                results = [
                    self._handle(conn, mail, row_id, now, outcomes, staged, seen, a.channel_id)
                    for (a, _, _), mail, row_id in zip(items, mails, rows, strict=True)
                ]
            messages.set_outcomes(conn, outcomes)
            return results

    def _ingest_in(
        self,
        conn: Connection,
        arrival: Arrival,
        sha: str,
        mail: ParseOutcome,
        now: datetime,
        staged: BlobWriter,
    ) -> IngestResult:
        if isinstance(mail, ParseFailure):
            error = mail.reason  # past its time budget: quarantined without handling
        else:
            handled = self._try_handle(conn, arrival, sha, mail, now, staged)
            if isinstance(handled, IngestResult):
                return handled
            error = handled
        last = error.strip().splitlines()[-1] if error.strip() else "unknown error"
        log.warning("message %s quarantined: %s", sha[:12], last)
        with conn.begin_nested():
            row_id = _arrive(conn, arrival, sha, now, status="quarantined")
            data = _quarantined(row_id, error)
            messages.set_outcome(
                conn, row_id, error=error, attempts=1, decision=data, rule="Q1", path="Q1"
            )
        return IngestResult(row_id, data)

    def _try_handle(
        self,
        conn: Connection,
        arrival: Arrival,
        sha: str,
        mail: ParsedMail,
        now: datetime,
        staged: BlobWriter,
    ) -> IngestResult | str:
        """Record and handle one arrival in a SAVEPOINT: its result, or the error text that
        quarantines it."""
        error = ""
        for _attempt in range(2):
            try:
                with conn.begin_nested():
                    row_id = _arrive(conn, arrival, sha, now, mail=mail)
                    return self._handle(
                        conn, mail, row_id, now, blobs=staged, channel_id=arrival.channel_id
                    )
            except IntegrityError as exc:
                row = messages.find_arrival(conn, arrival.channel_id, arrival.source_uid, sha)
                if row is not None:
                    data = row.decision or _quarantined(row.id, row.error or "")
                    return IngestResult(row.id, data, already_stored=True)
                # Another process committed the same message meanwhile (dedupe_key):
                # decide again, now seeing it (D1).
                error = _error_text(exc)
            except (OperationalError, StorageUnavailableError):
                raise  # storage, not the message: nothing of the batch counts as stored
            except Exception as exc:  # noqa: BLE001 - Q1: any unexpected error quarantines it
                return _error_text(exc)
        return error

    def handle_stored(self, message_row: int) -> IngestResult:
        """Handle an arrival again (quarantine retry): same row, a new attempt."""
        now = self.clock()
        with reading(self.engine) as conn:
            row = messages.get(conn, message_row)
        raw = self.blobs.get(row.raw_sha256)
        mail = self.parser.parse_many([raw])[0]
        if isinstance(mail, ParseFailure):
            error = mail.reason
        else:
            try:
                with self.engine.begin() as conn:
                    return self._handle(conn, mail, message_row, now, channel_id=row.channel_id)
            except Exception as exc:  # noqa: BLE001 - stays in quarantine with the new error
                error = _error_text(exc)
        with self.engine.begin() as conn:
            messages.set_outcome(
                conn, message_row, status="quarantined", error=error, attempts=row.attempts + 1
            )
        return IngestResult(message_row, _quarantined(message_row, error))

    def decide_only(self, mail: ParsedMail) -> Decision:
        """A dry run for `explain`: the decision, nothing written."""
        with reading(self.engine) as conn:
            return decide(mail, self._context(conn, None), self.settings, self.clock())

    def _context(
        self,
        conn: Connection,
        row_id: int | None,
        batch_seen: BatchSeen | None = None,
        channel_id: int | None = None,
    ) -> SqlHandlerContext:
        routes, own, addresses = self._config(conn)
        # The address a message came through is the channel's: known without a query,
        # unless the channel is newer than the cache.
        known = channel_id is None or channel_id in addresses
        return SqlHandlerContext(
            conn,
            routes,
            own,
            exclude_message=row_id,
            batch_seen=batch_seen,
            arrival_address=addresses.get(channel_id) if channel_id is not None else None,
            arrival_known=known and row_id is not None,
        )

    def _handle(
        self,
        conn: Connection,
        mail: ParsedMail,
        row_id: int,
        now: datetime,
        outcomes: list[dict[str, Any]] | None = None,
        blobs: BlobWriter | None = None,
        batch_seen: BatchSeen | None = None,
        channel_id: int | None = None,
    ) -> IngestResult:
        """Decide and apply. With ``batch_seen`` the message's row does not carry its
        Message-ID and content hash yet: the later messages of the batch learn them here."""
        context = self._context(conn, row_id, batch_seen, channel_id)
        decision = decide(mail, context, self.settings, now)
        key = _dedupe_key(mail, decision)
        if batch_seen is not None and mail.content_hash:
            batch_seen.record(mail.message_id, mail.content_hash, row_id, key)
        applier = Applier(conn, blobs or self.blobs, self.default_sender, self.templates_dir, now)
        touched = applier.apply(decision, mail, row_id)
        items = [item_json(conn, row) for row in touched]
        data = decision_json(decision, items, row_id)
        outcome = dict(
            status=message_status(decision),
            content_hash=mail.content_hash,
            message_id=mail.message_id,
            from_address=mail.from_.address if mail.from_ else None,
            subject=mail.subject,
            rule=decision.rule.value,
            path=",".join(r.value for r in decision.path),
            matched_by=decision.matched_by.value if decision.matched_by else None,
            reason=decision.reason,
            decision=data,
            duplicate_of=decision.duplicate_of,
            dedupe_key=key,
            error=None,
            attempts=1,
        )
        if outcomes is None:
            messages.set_outcome(conn, row_id, **outcome)
        else:
            outcomes.append({"_row": row_id, **outcome})
        return IngestResult(row_id, data)


_Config = tuple[float, list[Route], frozenset[str], dict[int, str | None]]
"""When read; routes; own addresses; each channel's address by id."""


def _dedupe_key(mail: ParsedMail, decision: Decision) -> str | None:
    """Set for every message the handler acted on: the same message cannot be acted on twice
    for the same routes, even by two processes at the same moment (the second commit fails,
    then sees D1); a copy for other routes can be (`postroom.domain.copies`)."""
    if decision.rule in (Rule.D1, Rule.D2) or not mail.content_hash:
        return None
    return dedupe_key(mail.message_id, mail.content_hash, decision.routes)


def _arrive(
    conn: Connection,
    arrival: Arrival,
    sha: str,
    now: datetime,
    status: str = "stored",
    mail: ParsedMail | None = None,
) -> int:
    """Record the arrival (the ledger row); unique per channel, UIDL and content. The
    Message-ID and content hash go in at once: a copy later in the same batch is a D1."""
    return messages.insert_arrival(
        conn,
        raw_sha256=sha,
        size=len(arrival.raw),
        now=now,
        channel_id=arrival.channel_id,
        source_uid=arrival.source_uid,
        status=status,
        content_hash=mail.content_hash if mail else None,
        message_id=mail.message_id if mail else None,
    )


def _quarantined(row_id: int, error: str) -> dict[str, Any]:
    """The decision of a message that could not be handled: its reason is the last line of
    ``error``, which `_error_text` makes the real cause."""
    last = error.strip().splitlines()[-1] if error.strip() else "unknown error"
    return {
        "outcome": Outcome.QUARANTINED.value,
        "rule": Rule.Q1.value,
        "path": [Rule.Q1.value],
        "matched_by": None,
        "work_items": [],
        "auto_reply": None,
        "reason": f"could not be handled: {last}",
        "message": row_id,
    }


_CAUSE_LIMIT = 300
"""Characters of a cause kept in the reason (an exception can quote the whole message)."""


def _error_text(exc: BaseException) -> str:
    """What a quarantined message keeps of its failure: the traceback, for whoever fixes the
    bug, then the real cause in one line (`_cause`), which the reason and the log quote."""
    return "".join(traceback.format_exception(exc, limit=8)) + _cause(exc)


def _cause(exc: BaseException) -> str:
    """``Class: first line of the message`` of the exception that really failed.

    A database error is named by the driver's own exception: SQLAlchemy's text around it
    adds the statement and a link to its documentation. Only the first line is taken
    (PostgreSQL's DETAIL line quotes the values of the row), at most `_CAUSE_LIMIT`
    characters of it; the rest is kept as it is (whoever shows it escapes it).
    """
    if isinstance(exc, StatementError) and exc.orig is not None:
        exc = exc.orig
    lines = str(exc).strip().splitlines()
    first = lines[0][:_CAUSE_LIMIT].strip() if lines else ""
    name = type(exc).__name__
    return f"{name}: {first}" if first else name
