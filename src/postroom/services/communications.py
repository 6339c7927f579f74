"""One communication of a work item as the web shows it: what `MessageService` reads
(the stored bytes, parsed again with ingest's parser and time budget) with the item's
reference, the HTML made safe (`postroom.mime.html.sanitize_html`: no script, no event
handler, no frame, no remote image) and the attachments numbered for download; one
attachment's bytes.

The mail is hostile: a message that cannot be parsed within its budget is shown with its
record and the reason, no text; an attachment is handed out only as bytes to download,
never as something to render. An attachment's part is looked for (`mime.payloads`) only
in a message the budgeted parse read.
"""

from __future__ import annotations

from dataclasses import dataclass

from postroom.errors import NotFoundError
from postroom.mime.html import sanitize_html
from postroom.mime.payloads import attachment_payload
from postroom.records.items import CommunicationRecord
from postroom.services.messages import MessageService
from postroom.storage.unit import Storage


@dataclass(frozen=True, slots=True)
class AttachmentView:
    index: int
    name: str | None
    size: int
    content_type: str
    inline: bool
    content_id: str | None


@dataclass(frozen=True, slots=True)
class CommunicationView:
    """What the API shows of one communication."""

    record: CommunicationRecord
    item_reference: str
    headers: dict[str, str]
    text: str
    html: str | None
    """Sanitised; None when the message has no HTML part."""
    attachments: tuple[AttachmentView, ...]
    defects: tuple[str, ...]
    """What was wrong or guessed in the message (or why it could not be parsed)."""


@dataclass(frozen=True, slots=True)
class Download:
    name: str
    content_type: str
    data: bytes


class CommunicationService:
    def __init__(self, storage: Storage, messages: MessageService) -> None:
        self.storage = storage
        self.messages = messages

    def show(self, communication_id: int) -> CommunicationView:
        """The communication, its message parsed again and its HTML sanitised."""
        stored = self.messages.show(communication_id)
        record = stored.communication
        assert record is not None, "asked for by its communication"
        with self.storage.reading() as uow:
            reference = uow.items.by_id(record.work_item_id).reference
        mail = stored.mail
        if mail is None:
            why = f"the message could not be parsed: {stored.unparsed}"
            return CommunicationView(record, reference, {}, "", None, (), (why,))
        return CommunicationView(
            record=record,
            item_reference=reference,
            headers=dict(mail.headers),
            text=mail.body_text,
            html=sanitize_html(mail.html) if mail.html is not None else None,
            attachments=tuple(
                AttachmentView(i, a.filename, a.size, a.content_type, a.inline, a.content_id)
                for i, a in enumerate(mail.attachments)
            ),
            defects=mail.defects,
        )

    def raw(self, communication_id: int) -> bytes:
        """The message as it was received or sent, byte for byte."""
        return self.messages.raw(communication_id)

    def attachment(self, communication_id: int, index: int) -> Download:
        """Attachment ``index`` (0-based, as `show` lists them) as bytes to download."""
        stored = self.messages.show(communication_id)
        listed = stored.mail.attachments if stored.mail is not None else ()
        if not 0 <= index < len(listed):
            raise NotFoundError(
                f"communication {communication_id} has no attachment {index} "
                f"(it has {len(listed)}: see GET /api/v1/communications/{communication_id})"
            )
        data = attachment_payload(self.messages.raw(communication_id), index)
        if data is None:
            raise NotFoundError(
                f"attachment {index} of communication {communication_id} is packed inside "
                "another file (winmail.dat or uuencoded text): download the raw message"
            )
        found = listed[index]
        return Download(found.filename or f"attachment-{index}", found.content_type, data)
