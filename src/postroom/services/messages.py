"""Reading a stored mail: a communication (received or sent) with its exact bytes, parsed
again for a person, and for a received one the decision the Email Handler recorded.

`postroom message show|raw`, `item show --full` and the web's message view call this. The
bytes are the ones stored at arrival (or composed for sending), read from the blob store;
they are parsed again with the same parser and time budget as at ingest, since a stored
message is as hostile as it was when it came in. A message that cannot be parsed within
its budget is still shown: its record, its decision and why its text is missing.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from postroom.domain.mail import ParsedMail
from postroom.errors import NotFoundError
from postroom.mime.isolated import MailParser, ParseFailure
from postroom.records.items import CommunicationRecord
from postroom.records.mail import MessageRecord
from postroom.records.outbox import OutboxRecord
from postroom.storage.unit import Storage


@dataclass(frozen=True, slots=True)
class StoredMail:
    """One stored message as a person reads it."""

    communication: CommunicationRecord | None
    """The communication asked for (None: an arrival asked for by its ledger row)."""
    arrival: MessageRecord | None
    """Received mail: its ledger row (status, decision, error)."""
    outbox: OutboxRecord | None
    """Sent mail: its outbox row."""
    size: int
    sha256: str
    mail: ParsedMail | None
    """The message parsed again; None when it could not be (``unparsed`` says why)."""
    unparsed: str | None = None

    @property
    def decision(self) -> dict[str, Any] | None:
        """The decision as the ledger recorded it (with its ``trace`` when the handler's
        steps were recorded), for received mail."""
        return self.arrival.decision if self.arrival is not None else None


class MessageService:
    def __init__(self, storage: Storage, parser: MailParser) -> None:
        self.storage = storage
        self.parser = parser

    def show(self, communication_id: int) -> StoredMail:
        """The communication with this id (`item show` lists them), parsed."""
        communication, arrival, outbox = self._records(communication_id)
        return self._read(communication, arrival, outbox)

    def show_arrival(self, message_row: int) -> StoredMail:
        """A received message by its ledger row (`quarantine list` and `unhandled list`
        show these ids), parsed: also mail that is on no work item."""
        with self.storage.reading() as uow:
            arrival = uow.messages.get(message_row)
        return self._read(None, arrival, None)

    def raw(self, communication_id: int) -> bytes:
        """The exact bytes of the communication's message."""
        _, arrival, outbox = self._records(communication_id)
        return self._bytes(arrival, outbox)

    def raw_arrival(self, message_row: int) -> bytes:
        with self.storage.reading() as uow:
            arrival = uow.messages.get(message_row)
        return self.storage.blobs.get(arrival.raw_sha256)

    def _records(
        self, communication_id: int
    ) -> tuple[CommunicationRecord, MessageRecord | None, OutboxRecord | None]:
        with self.storage.reading() as uow:
            try:
                communication = uow.communications.get(communication_id)
            except NotFoundError:
                raise NotFoundError(
                    f"no communication {communication_id} (item show REF lists them; "
                    "for a quarantined or unhandled message: message show --arrival ID)"
                ) from None
            arrival = outbox = None
            if communication.message_row_id is not None:
                arrival = uow.messages.get(communication.message_row_id)
            elif communication.outbox_id is not None:
                outbox = uow.outbox.get(communication.outbox_id)
            else:
                raise NotFoundError(f"communication {communication_id} has no stored message")
        return communication, arrival, outbox

    def _read(
        self,
        communication: CommunicationRecord | None,
        arrival: MessageRecord | None,
        outbox: OutboxRecord | None,
    ) -> StoredMail:
        raw = self._bytes(arrival, outbox)
        [parsed] = self.parser.parse_many([raw])
        mail = parsed if isinstance(parsed, ParsedMail) else None
        unparsed = parsed.reason if isinstance(parsed, ParseFailure) else None
        return StoredMail(
            communication, arrival, outbox, len(raw), _sha(arrival, outbox), mail, unparsed
        )

    def _bytes(self, arrival: MessageRecord | None, outbox: OutboxRecord | None) -> bytes:
        if arrival is None and outbox is not None:
            return self.storage.outbound_bytes(outbox)
        return self.storage.blobs.get(_sha(arrival, outbox))


def _sha(arrival: MessageRecord | None, outbox: OutboxRecord | None) -> str:
    if arrival is not None:
        return arrival.raw_sha256
    if outbox is not None:
        return outbox.raw_sha256
    raise NotFoundError("no stored message")
