"""The outbox's loop in a service process: a round as soon as replies are queued.

A batch of mail that queued acknowledgements commits in a poll thread; its replies
should go out then, not at the next tick. The engine calls `SendingLoop.wake` after
each commit that queued outbox rows (`postroom.storage.outbox_signal`), and the loop,
in a thread of its own, runs a round when woken and at least every tick (for rows
queued by another process, retries come due, leases run out). A round that claimed a
full batch is followed by the next at once. The thread belongs to the process's
runtime, not to the sender: `OutboxSender.send_due` is the same call `postroom outbox
send` makes. A database that goes away is tried again with the same back-off as the
scheduler's (`Outage`), quietly: the scheduler of the same process says it, once per step;
any other failure is said here the same way.
"""

from __future__ import annotations

import logging
import threading

from postroom.clock import utcnow
from postroom.errors import StorageUnavailableError
from postroom.services.outage import Outage
from postroom.services.send import OutboxSender

log = logging.getLogger("postroom.send")
_quiet = logging.getLogger("postroom.send.outage")
"""The database's outage as the sender meets it: the scheduler's lines already say it."""
_quiet.setLevel(logging.ERROR)


class SendingLoop:
    """`run` in a thread until `close`; `wake` from any thread (cheap, never raises)."""

    def __init__(self, sender: OutboxSender, tick: float) -> None:
        self.sender = sender
        self.tick = tick
        self._woken = threading.Event()
        self._closing = threading.Event()

    def wake(self) -> None:
        """Rows were queued and committed: a round now."""
        self._woken.set()

    def close(self) -> None:
        """End `run` soon: the current round ends after the messages being sent."""
        self._closing.set()
        self.sender.stop()
        self._woken.set()

    def run(self) -> None:
        storage = Outage(_quiet, "storage")
        failing = Outage(log, "sending")
        while not self._closing.is_set():
            self._woken.clear()
            more = False
            if storage.ready() and failing.ready():
                more = self._round(storage, failing)
            if not more:
                self._woken.wait(min(storage.wait(self.tick), failing.wait(self.tick)))

    def _round(self, storage: Outage, failing: Outage) -> bool:
        """One round; True when it claimed a full batch (more may be due)."""
        try:
            report = self.sender.send_due(utcnow())
        except StorageUnavailableError as exc:
            storage.failed(exc)
            return False
        except Exception as exc:  # noqa: BLE001 - the loop must go on
            failing.failed(exc, trace=True)
            return False
        storage.succeeded("the database is back")
        failing.succeeded("sending works again")
        if report.errors:
            log.warning("outbox: %s", "; ".join(report.errors))
        if report.claimed:
            counts = {k: getattr(report, k) for k in ("claimed", "sent", "retrying", "failed")}
            log.info(
                "outbox round: %(claimed)d claimed, %(sent)d sent, %(retrying)d to retry, "
                "%(failed)d failed",
                counts,
                extra={"event": "send.round", "data": counts},
            )
        return report.claimed >= self.sender.batch
