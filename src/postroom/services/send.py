"""The outbox sender: due messages out through SMTP, several connections per server per batch.

A round claims the due rows in one transaction and sends each server's share over up to
``connections`` sessions at once, each in a thread of its own (the work is waiting for the
server: its reply to the final dot above all) and each reused for many messages. The
threads take the next message from one queue, so a slow or broken connection holds back
no other: a connection that breaks stops taking messages and the others drain the queue;
what no connection could take is released (or, when none could be opened, counted as a
failed attempt). The threads live and die within `OutboxSender.send_due`: the sender owns
them, no one else sees them.

What is guaranteed when the process stops at any moment (README text, "Sending"):

* A message is claimed with a lease (status ``sending``, ``lease_until``) in
  one committed UPDATE per row, so two processes never send the same row at
  once; a lease left by a stopped process expires and the row is sent later.
* Once the server accepted the envelope (MAIL, RCPT) and has the content,
  just before the final ``.`` of DATA, the row is committed as
  ``delivering``; the outcome after the server's reply to the dot is committed
  with the round's next write (another connection's mark, this connection's
  next mark, or the end of its work), never at the end of the batch: marks and
  outcomes of several messages share transactions (`services/send_book.py`).  A server
  takes responsibility for a message only with its reply to that dot (RFC
  5321 §4.1.1.4), so a process stopped any earlier — during MAIL, RCPT or
  the content — leaves the row ``sending``: its lease expires and it is sent
  again, which cannot make a second copy.
* A row found ``delivering`` with an expired lease — the process stopped
  between the final dot and recording the answer, the only window in which
  Postroom cannot know whether the server took it — is marked ``unknown``
  and is **not** sent again automatically; ``postroom outbox retry ID``
  sends it again when a person decides so.  Postroom therefore never sends a
  second copy by itself after a crash.  If the lease was taken over by
  then, the connection is dropped without the dot and the row left to its
  new holder.
* What SMTP itself cannot prevent remains: when the connection drops after
  the message's final ``.`` but before the server's reply (RFC 5321 §4.1.1.4,
  RFC 1047), the server may have taken it while Postroom saw a failure; that
  attempt counts as temporary and is retried, which can deliver a duplicate
  (with the same Message-ID, so mail clients usually show it once).
* "Stops" above means the process (killed, crashed, ``kill -9``): on SQLite the
  ``delivering`` mark is committed without waiting for the disk (it is in the
  WAL, in the OS's cache, which outlives the process; `storage.sending`), and
  flushed while the dot goes out and the server answers it. A power loss or an
  OS crash before that flush can undo the mark: the row is ``sending`` again and
  is sent once more after its lease, the window RFC 1047 leaves anyway. The
  outcomes go on disk with the next flush, at the latest with the round's last
  write, which waits for it (it holds no mark). PostgreSQL commits every write
  durably.
* A recipient that accepted the message is never sent to again on a later
  attempt; only the deferred ones are.
* One message never costs the others their connection: a refusal, of a
  recipient or of the whole message (a 4xx or 5xx reply, an address the server
  cannot take, such as a non-ASCII one without SMTPUTF8), is that message's
  result, and the next message goes out over the same connection
  (`postroom.ports.sending.SmtpSession.send`).  Only a lost connection (or a
  421) ends it; the other connections take the messages it did not try, and
  those none could take are released, due again at the next round.
* A database that goes away in the middle of a round changes none of this: the
  outcomes of what was sent meanwhile, and the release of the rows not tried,
  are kept in memory and written at the next round that reaches the database
  (`postroom run` tries again with back-off). A process that stops before that
  leaves them to the leases: a row not tried is sent once its lease runs out, a
  sent one is found ``delivering`` and marked ``unknown``, never sent twice.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from postroom.credentials import Secret, SecretBox
from postroom.errors import PostroomError, StorageUnavailableError
from postroom.net.connection import ConnectionFailure, MailUrl
from postroom.net.sasl import AuthMechanism, Credentials
from postroom.ports.sending import SmtpConnector, SmtpServer, SmtpSession
from postroom.records.config import ServerRecord
from postroom.records.outbox import OutboxRecord
from postroom.records.statuses import CommunicationStatus, OutboxStatus
from postroom.services import delivery
from postroom.services.delivery import RetryPolicy, Settled
from postroom.services.send_book import AfterCommit, GroupWrites
from postroom.storage.unit import Storage, UnitOfWork

log = logging.getLogger(__name__)


@dataclass
class SendReport:
    """What one round did; plain counts for `postroom run` and `outbox send --json`."""

    claimed: int = 0
    sent: int = 0
    retrying: int = 0
    failed: int = 0
    unknown: int = 0
    """Rows found half-delivered by a stopped process (never resent automatically)."""
    skipped: int = 0
    """Rows another process took over, or left for the next round after a lost connection."""
    connections: int = 0
    errors: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class _Job:
    row: OutboxRecord
    token: datetime
    next_token: datetime | None = None
    """The lease `start_delivery` was asked to set: the row holds it if that commit went
    through while its answer was lost with the database connection."""
    settled: Settled | None = None
    server: str | None = None
    done: bool = False
    """Its outcome (or its release) is committed."""


class OutboxSender:
    def __init__(
        self,
        storage: Storage,
        secrets: SecretBox,
        connector: SmtpConnector,
        *,
        policy: RetryPolicy | None = None,
        lease: timedelta = timedelta(minutes=5),
        batch: int = 100,
        connections: int = 4,
        tokens: Callable[[ServerRecord], Secret | None] | None = None,
    ) -> None:
        self.storage = storage
        self.secrets = secrets
        self.connector = connector
        self.tokens = tokens
        """An OAuth2 server's access token, fresh for each round's connections (None: every
        server logs in by password)."""
        """Opens SMTP sessions (`postroom.ports.sending`), as bootstrap chose."""
        self.policy = policy or RetryPolicy()
        self.lease = lease
        self.batch = batch
        self.connections = max(1, connections)
        """SMTP sessions at once per server in a round (``POSTROOM_SMTP_CONNECTIONS``)."""
        self._counting = threading.Lock()
        """The round's report is counted by every connection's thread."""
        self._owed: list[_Job] = []
        """Claimed rows whose outcome or release a storage outage kept from the database."""
        self._round_started = 0.0
        """`time.monotonic()` when the current round claimed its rows."""
        self._book = GroupWrites(storage)
        """The round's marks and outcomes, grouped into few transactions (`send_book`)."""
        self._stopping = threading.Event()
        """`stop` was called: each connection ends after the message it is sending."""

    def stop(self) -> None:
        """End the current round soon, and start no other (the process is stopping).

        Each connection finishes the message it is sending (a message is never cut short
        between its final dot and the record of the server's answer) and takes no other; the
        round's rows not tried are released, due again for the next process. Safe from any
        thread; not from a signal handler (it sets an event)."""
        self._stopping.set()

    def send_due(self, now: datetime) -> SendReport:
        """Send every message due at ``now`` (naive UTC); never raises for a server's answer."""
        report = SendReport()
        self._settle_owed(report)
        if self._stopping.is_set():
            return report
        with self.storage.reading() as uow:
            if not uow.sending.anything_to_do(now):
                return report
        self._round_started = time.monotonic()
        groups: dict[str | None, list[_Job]] = {}
        servers: dict[str, ServerRecord] = {}
        with self.storage.writing() as uow:
            token = uow.sending.lease_token(now, self.lease)
            for row_id in uow.sending.abandon_stale_deliveries(now):
                uow.communications.set_status_of_outbox(
                    row_id, CommunicationStatus.UNKNOWN, uow.sending.UNKNOWN_OUTCOME
                )
                report.unknown += 1
            chosen: dict[str, ServerRecord | None] = {}
            for row in uow.sending.claim_due(now, token, self.batch):
                # One lookup per sender, not per message (three queries each).
                sender = row.sender.strip().lower()
                if sender not in chosen:
                    chosen[sender] = uow.servers.server_for(row.sender)
                record = chosen[sender]
                key = record.name if record else None
                if record is not None:
                    servers[record.name] = record
                groups.setdefault(key, []).append(_Job(row, token))
        report.claimed = sum(len(jobs) for jobs in groups.values())
        try:
            with self._book.holding():
                self._send_groups(groups, servers, now, report)
        except StorageUnavailableError:
            # The database went away mid-round: what was sent is known here only, and the
            # rows not tried yet are leased to this process. Both are written at the next
            # round that reaches the database (`_settle_owed`), so nothing waits for its
            # lease to run out. (A process that stops meanwhile leaves that to the leases.)
            self._book.drop()
            self._owed.extend(job for jobs in groups.values() for job in jobs if not job.done)
            raise
        return report

    def _send_groups(
        self,
        groups: dict[str | None, list[_Job]],
        servers: dict[str, ServerRecord],
        now: datetime,
        report: SendReport,
    ) -> None:
        for key, jobs in groups.items():
            if key is None:
                for job in jobs:
                    reason = (
                        f"no SMTP server sends for {job.row.sender}: add one with "
                        "`postroom smtp add NAME --url URL --default` or `channel set-smtp`"
                    )
                    self._give_up_attempt(job, reason, None, now, report)
                continue
            self._send_group(servers[key], jobs, now, report)

    def _settle_owed(self, report: SendReport) -> None:
        """Write the outcomes and releases an outage kept from the database; raises
        `StorageUnavailableError` while it is still away (the debt is kept)."""
        if not self._owed:
            return
        with self.storage.writing() as uow:
            written = [_write(uow, job) for job in self._owed]
        for job, mine in zip(self._owed, written, strict=True):
            if job.settled is None or not mine:
                report.skipped += 1
            else:
                self._count(job, job.settled, report)
        self._owed.clear()

    # ------------------------------------------------------------------ one server
    def _send_group(
        self, record: ServerRecord, jobs: list[_Job], now: datetime, report: SendReport
    ) -> None:
        """The server's share of the round over up to `connections` sessions at once."""
        if self._stopping.is_set():
            self._release(jobs, report)
            return
        try:
            server = self._server(record)
        except PostroomError as exc:
            self._give_up_all(record.name, jobs, str(exc), now, report)
            return
        waiting = deque(jobs)
        lanes = min(self.connections, len(jobs))
        refusals: list[str] = []
        if lanes == 1:
            self._lane(server, record.name, waiting, now, report, refusals)
        else:
            with ThreadPoolExecutor(lanes, thread_name_prefix=f"smtp-{record.name}") as pool:
                futures = [
                    pool.submit(self._lane, server, record.name, waiting, now, report, refusals)
                    for _ in range(lanes)
                ]
            failures = [f.exception() for f in futures]
            for failure in failures:  # a storage outage first: it decides what is owed
                if isinstance(failure, StorageUnavailableError):
                    raise failure
            for failure in failures:
                if failure is not None:
                    raise failure
        left = list(waiting)
        if not left:
            return
        with self._counting:
            opened_none = len(refusals) == lanes
        if opened_none:
            self._give_up_all(record.name, left, refusals[0], now, report)
        else:
            self._release(left, report)

    def _lane(
        self,
        server: SmtpServer,
        name: str,
        waiting: deque[_Job],
        now: datetime,
        report: SendReport,
        refusals: list[str],
    ) -> None:
        """One connection: messages taken from ``waiting`` until it is empty, the
        connection breaks or the database goes away (the others then stop too)."""
        try:
            connection = self.connector.connect(server)
        except (ConnectionFailure, PostroomError) as exc:
            with self._counting:
                refusals.append(f"{name}: {exc}")
                if len(refusals) == 1:
                    report.errors.append(refusals[0])
            return
        with self._counting:
            report.connections += 1
        with connection:
            while not connection.broken and not self._stopping.is_set():
                try:
                    job = waiting.popleft()
                except IndexError:
                    break
                try:
                    self._send_one(connection, name, job, now, report)
                except BaseException:
                    waiting.clear()  # the other connections stop after their message
                    raise
        self._book.flush()  # this connection's last outcomes

    def _give_up_all(
        self, name: str, jobs: list[_Job], reason: str, now: datetime, report: SendReport
    ) -> None:
        reason = reason if reason.startswith(f"{name}: ") else f"{name}: {reason}"
        if reason not in report.errors:
            report.errors.append(reason)
        for job in jobs:
            self._give_up_attempt(job, reason, name, now, report)

    def _send_one(
        self, connection: SmtpSession, server: str, job: _Job, now: datetime, report: SendReport
    ) -> None:
        row = job.row
        targets = delivery.still_to_send(list(row.recipients), row.recipient_results)
        try:
            raw = self.storage.outbound_bytes(row)
        except PostroomError as exc:
            self._give_up_attempt(job, str(exc), server, now, report)
            return
        taken_over = False

        def before_end(accepted: list[str]) -> bool:
            """MAIL and RCPT were accepted and the content sent: ``delivering`` now, before
            the final dot, the one step after which the server may have the message."""
            nonlocal taken_over
            # The lease runs from this moment, not from the round's start: the messages
            # before this one took their time, and the server's answer to the dot is yet
            # to come; a lease already run out would let another process call it unknown.
            pending = delivery.pending(row.recipient_results, accepted)

            def mark(uow: UnitOfWork) -> bool:
                elapsed = timedelta(seconds=time.monotonic() - self._round_started)
                new_token = uow.sending.lease_token(now + elapsed, self.lease)
                job.next_token = new_token
                return uow.sending.start_delivery(row.id, job.token, new_token, pending)

            mine = bool(self._book.now(mark))
            if mine:
                job.token, job.next_token = job.next_token or job.token, None
            taken_over = not mine
            return mine

        result = connection.send(row.sender, targets, raw, before_end)
        if taken_over:  # another process holds the row: the server got no final dot from us
            job.done = True
            with self._counting:
                report.skipped += 1
            return
        settled = delivery.settle(row.recipient_results, result, row.attempts, self.policy, now)
        job.settled, job.server = settled, server
        self._book.later(lambda uow: self._written(uow, job, report))

    # ------------------------------------------------------------------ recording
    def _give_up_attempt(
        self, job: _Job, reason: str, server: str | None, now: datetime, report: SendReport
    ) -> None:
        row = job.row
        targets = delivery.still_to_send(list(row.recipients), row.recipient_results)
        settled = delivery.failed_attempt(
            row.recipient_results, targets, reason, row.attempts, self.policy, now
        )
        self._record(job, settled, server, report)

    def _record(self, job: _Job, settled: Settled, server: str | None, report: SendReport) -> None:
        job.settled, job.server = settled, server
        with self.storage.writing() as uow:
            mine = _write(uow, job)
        job.done = True
        with self._counting:
            if not mine:
                report.skipped += 1
                return
            self._count(job, settled, report)

    def _written(self, uow: UnitOfWork, job: _Job, report: SendReport) -> AfterCommit:
        """The job's outcome in a grouped transaction; counted once that commits."""
        mine = _write(uow, job)

        def committed() -> None:
            job.done = True
            with self._counting:
                if not mine:
                    report.skipped += 1
                elif job.settled is not None:
                    self._count(job, job.settled, report)

        return committed

    def _count(self, job: _Job, settled: Settled, report: SendReport) -> None:
        if settled.status is OutboxStatus.SENT:
            report.sent += 1
        elif settled.status is OutboxStatus.QUEUED:
            report.retrying += 1
        else:
            report.failed += 1
        log.info("outbox %s: %s %s", job.row.id, settled.status, settled.last_error or "")

    def _release(self, jobs: list[_Job], report: SendReport) -> None:
        """Rows no connection tried (they broke): due again at the next round."""
        with self.storage.writing() as uow:
            for job in jobs:
                uow.sending.put_back(job.row.id, job.token)
        report.skipped += len(jobs)
        for job in jobs:
            job.done = True

    def _server(self, record: ServerRecord) -> SmtpServer:
        url = MailUrl.parse(record.url)
        user = url.user or record.user
        login = None
        token = self.tokens(record) if self.tokens is not None else None
        if user and token is not None:
            mechanism = AuthMechanism(record.mechanism or AuthMechanism.XOAUTH2)
            login = Credentials(user, token, None, mechanism)
        elif user:
            if not record.password_enc:
                raise PostroomError(f"{record.name} has a user but no stored password")
            login = Credentials(user, self.secrets.open(record.password_enc), record.authzid)
        ca = Path(record.ca_file) if record.ca_file else None
        return SmtpServer(url, login, ca, float(record.timeout_s))


def _write(uow: UnitOfWork, job: _Job) -> bool:
    """The job's outcome, or its release when it was not tried; False when another
    process took the row over meanwhile."""
    settled = job.settled
    if settled is None:
        tokens = [job.token] if job.next_token is None else [job.token, job.next_token]
        return any(uow.sending.put_back(job.row.id, token) for token in tokens)
    values = settled.values()
    if not uow.sending.finish(job.row.id, job.token, smtp_server=job.server, **values):
        return False
    status = CommunicationStatus(settled.status.value)
    uow.communications.set_status_of_sent(
        job.row.id, job.row.work_item_id, status, settled.detail()
    )
    return True
