"""One communication of a work item as a person reads it: its headers, its text, its HTML
made safe (`postroom.mime.html.sanitize_html`: no script, no event handler, no remote
image), its attachments; the raw message; one attachment's bytes.

A received communication's bytes are its ledger row's blob, a sent one's its outbox row's.
The mail is hostile: it is parsed as `parse` always does (bounded, never raising), and an
attachment is handed out only as bytes for a download, never as something to render.
"""

from __future__ import annotations

from dataclasses import dataclass

from postroom.domain.mail import ParsedMail
from postroom.errors import NotFoundError
from postroom.mime import parse
from postroom.mime.html import sanitize_html
from postroom.mime.payloads import attachment_payload, downloadable
from postroom.records.items import CommunicationRecord
from postroom.storage.unit import Storage, UnitOfWork


@dataclass(frozen=True, slots=True)
class AttachmentView:
    index: int
    name: str | None
    size: int
    content_type: str
    inline: bool
    content_id: str | None
    downloadable: bool
    """False for a file packed in another (winmail.dat, uuencoded text)."""


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


@dataclass(frozen=True, slots=True)
class Download:
    name: str
    content_type: str
    data: bytes


class CommunicationService:
    def __init__(self, storage: Storage) -> None:
        self.storage = storage

    def show(self, communication_id: int) -> CommunicationView:
        """The communication, its message parsed and its HTML sanitised."""
        record, reference, raw = self._read(communication_id)
        mail = parse(raw)
        return CommunicationView(
            record=record,
            item_reference=reference,
            headers=dict(mail.headers),
            text=mail.body_text,
            html=sanitize_html(mail.html) if mail.html is not None else None,
            attachments=_attachments(mail, downloadable(raw)),
            defects=mail.defects,
        )

    def raw(self, communication_id: int) -> bytes:
        """The message as it was received or sent, byte for byte."""
        return self._read(communication_id)[2]

    def attachment(self, communication_id: int, index: int) -> Download:
        """Attachment ``index`` (0-based, as `show` lists them) as bytes to download."""
        _, _, raw = self._read(communication_id)
        listed = parse(raw).attachments
        if not 0 <= index < len(listed):
            raise NotFoundError(
                f"communication {communication_id} has no attachment {index} "
                f"(it has {len(listed)}: see GET /api/v1/communications/{communication_id})"
            )
        data = attachment_payload(raw, index)
        if data is None:
            raise NotFoundError(
                f"attachment {index} of communication {communication_id} is packed inside "
                "another file (winmail.dat or uuencoded text): download the raw message"
            )
        found = listed[index]
        return Download(found.filename or f"attachment-{index}", found.content_type, data)

    def _read(self, communication_id: int) -> tuple[CommunicationRecord, str, bytes]:
        with self.storage.reading() as uow:
            record = uow.communications.get(communication_id)
            reference = uow.items.by_id(record.work_item_id).reference
            sha = _raw_sha256(uow, record)
            if sha is None or not uow.blobs.exists(sha):
                raise NotFoundError(
                    f"the message of communication {communication_id} is not stored "
                    "(removed from the blob store)"
                )
            return record, reference, uow.blobs.get(sha)


def _raw_sha256(uow: UnitOfWork, record: CommunicationRecord) -> str | None:
    if record.message_row_id is not None:
        return uow.messages.get(record.message_row_id).raw_sha256
    if record.outbox_id is not None:
        return uow.outbox.get(record.outbox_id).raw_sha256
    return None


def _attachments(mail: ParsedMail, parts: list[bool]) -> tuple[AttachmentView, ...]:
    return tuple(
        AttachmentView(
            i,
            a.filename,
            a.size,
            a.content_type,
            a.inline,
            a.content_id,
            i < len(parts) and parts[i],
        )
        for i, a in enumerate(mail.attachments)
    )
