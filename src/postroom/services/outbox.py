"""The outbox as use cases: list it, send what is due, retry or cancel one message.

Sending is the `OutboxSender`'s (services/send.py), which bootstrap builds with its SMTP
connector; this service only hands it the moment. Retry and cancel are a person's
decisions about one message, and the communication on its work item says so.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Protocol

from postroom.clock import utcnow
from postroom.errors import UserError
from postroom.records.items import Cause
from postroom.records.outbox import OutboxRecord
from postroom.records.statuses import CommunicationStatus, OutboxStatus, RecipientStatus
from postroom.services.send import SendReport
from postroom.storage.unit import Storage, UnitOfWork

_RETRYABLE = tuple(s for s in OutboxStatus if s.retryable)
_CANCELLABLE = tuple(s for s in OutboxStatus if s.cancellable)


class Sender(Protocol):
    """What sends the due mail: `services.send.OutboxSender`, as bootstrap builds it."""

    def send_due(self, now: datetime) -> SendReport: ...


class OutboxService:
    def __init__(
        self, storage: Storage, sender: Sender, clock: Callable[[], datetime] = utcnow
    ) -> None:
        self.storage = storage
        self.sender = sender
        self._clock = clock

    def list(self) -> list[OutboxRecord]:
        """Queued, sent and given-up outbound mail, oldest first, with item references."""
        with self.storage.reading() as uow:
            return uow.outbox.all()

    def send_due(self) -> SendReport:
        """Send what is due now (one round, as `postroom run` does each tick)."""
        return self.sender.send_due(self._clock())

    def retry(self, outbox_id: int, actor: str | None = None) -> OutboxRecord:
        """Due now with attempts from zero; recipients that took it already are not sent
        to again. Only mail that is not on its way or delivered can be retried."""
        now = self._clock()
        with self.storage.writing() as uow:
            message = uow.outbox.get(outbox_id)
            if OutboxStatus(message.status) not in _RETRYABLE:
                raise UserError(_refused(message, _RETRYABLE, "retried"))
            accepted = {
                address: result
                for address, result in (message.recipient_results or {}).items()
                if result.get("status") == RecipientStatus.ACCEPTED
            }
            if not uow.outbox.requeue(outbox_id, now, accepted or None, _RETRYABLE):
                raise UserError(_refused(uow.outbox.get(outbox_id), _RETRYABLE, "retried"))
            uow.communications.set_status_of_outbox(
                outbox_id, CommunicationStatus.QUEUED, f"retry asked at {now.isoformat()}Z"
            )
            _record(uow, message, OutboxStatus.QUEUED, actor, now)
            return _listed(uow, outbox_id)

    def cancel(self, outbox_id: int, actor: str | None = None) -> OutboxRecord:
        """Never send it (unless a sender took it meanwhile: then nothing changes)."""
        now = self._clock()
        with self.storage.writing() as uow:
            message = uow.outbox.get(outbox_id)
            if OutboxStatus(message.status) not in _CANCELLABLE:
                raise UserError(_refused(message, _CANCELLABLE, "cancelled"))
            if not uow.outbox.cancel(outbox_id, _CANCELLABLE):
                raise UserError(_refused(uow.outbox.get(outbox_id), _CANCELLABLE, "cancelled"))
            uow.communications.set_status_of_outbox(outbox_id, CommunicationStatus.CANCELLED, None)
            _record(uow, message, OutboxStatus.CANCELLED, actor, now)
            return _listed(uow, outbox_id)


def _record(
    uow: UnitOfWork, before: OutboxRecord, status: OutboxStatus, actor: str | None, now: datetime
) -> None:
    """A person's retry or cancel in the work item's history (``actor``: who, through the
    web; None: as before, the communication's status says it)."""
    if actor is None or before.work_item_id is None:
        return
    cause = Cause("user", actor=actor, note=f"outbox message {before.id}")
    uow.items.record(before.work_item_id, "outbox", before.status, status.value, cause, now)


def _listed(uow: UnitOfWork, outbox_id: int) -> OutboxRecord:
    """The row as `list` shows it, its work item's reference joined (`get` reads the row
    alone): `outbox retry|cancel --json` and the API answer in the list's shape."""
    message = uow.outbox.get(outbox_id)
    if message.work_item_id is None:
        return message
    same_item = uow.outbox.all(message.work_item_id)
    return next((m for m in same_item if m.id == outbox_id), message)


def _refused(message: OutboxRecord, allowed: tuple[OutboxStatus, ...], done: str) -> str:
    listed = ", ".join(allowed[:-1]) + f" or {allowed[-1]}"
    return f"outbox message {message.id} is {message.status}: only {listed} mail can be {done}"
