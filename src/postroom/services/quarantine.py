"""Inbound mail that needs a person: the quarantine (could not be handled) and the
unhandled (matched no item and no route, under the ``unhandled`` policy)."""

from __future__ import annotations

from postroom.clock import utcnow
from postroom.errors import UserError
from postroom.records.items import Cause
from postroom.records.mail import MessageRecord
from postroom.records.statuses import MessageStatus
from postroom.services.ingest import IngestResult, IngestService
from postroom.storage.unit import Storage


class QuarantineService:
    def __init__(self, storage: Storage, ingest: IngestService) -> None:
        self.storage = storage
        self.ingest = ingest

    def quarantined(self) -> list[MessageRecord]:
        """Messages that could not be handled, oldest first, with the error."""
        return self._in(MessageStatus.QUARANTINED)

    def unhandled(self) -> list[MessageRecord]:
        """Messages that matched no work item and no route, oldest first."""
        return self._in(MessageStatus.UNHANDLED)

    def retry(self, message_row: int, actor: str | None = None) -> IngestResult:
        """Handle a quarantined message again (same ledger row, a new attempt). Given the
        ``actor`` (a person, through the web), each item the handling created or updated
        says in its history that they asked for it."""
        return self._again(message_row, MessageStatus.QUARANTINED, "quarantine", actor)

    def retry_unhandled(self, message_row: int, actor: str | None = None) -> IngestResult:
        """Handle an unhandled message again, once a route covers the address it came to
        (or a work item it names exists): the Email Handler decides anew; with still no
        route it stays unhandled. Recorded like `retry`."""
        return self._again(message_row, MessageStatus.UNHANDLED, "unhandled", actor)

    def _again(
        self, message_row: int, waiting: MessageStatus, where: str, actor: str | None
    ) -> IngestResult:
        with self.storage.reading() as uow:
            row = uow.messages.get(message_row)
        if row.status != waiting:
            state = "in quarantine" if waiting is MessageStatus.QUARANTINED else waiting.value
            raise UserError(f"message {message_row} is not {state} ({row.status})")
        result = self.ingest.handle_stored(message_row, waiting)
        if actor is not None and result.items:
            cause = Cause("user", actor=actor, note=f"retried from {where}: message {message_row}")
            with self.storage.writing() as uow:
                for item in result.items:
                    uow.items.record(item.id, where, waiting.value, "handled", cause, utcnow())
        return result

    def _in(self, status: MessageStatus) -> list[MessageRecord]:
        with self.storage.reading() as uow:
            return uow.messages.by_status(status)
