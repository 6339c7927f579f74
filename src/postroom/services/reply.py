"""Agents' replies on work items, queued in the outbox in the same transaction.

A reply goes by default to the item's requester, from the address the
conversation is held with (the last address Postroom wrote from on this item,
else the one of our addresses the customer wrote to, else the default
sender).  It answers the item's latest communication (In-Reply-To) and lists
the earlier ones in References (RFC 5322 §3.6.4), and carries the item's
reference in the subject once, so the customer's answer comes back to it.
The subject is the customer's text made fit for a header (`header_text`); a
recipient that cannot be written (`address_problem`) stops the reply with the
reason instead of being dropped silently.
"""

from __future__ import annotations

import mimetypes
import re
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from postroom.errors import UserError
from postroom.mime import parse
from postroom.mime.compose import Attachment, compose
from postroom.mime.header_text import header_text, subject_with_reference
from postroom.mime.outgoing import UnwritableSender, writable_id
from postroom.records.items import CommunicationRecord
from postroom.storage.unit import Storage, UnitOfWork

_REPLY_PREFIX = re.compile(r"^\s*((re|aw|sv|antw)\s*:\s*)+", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class QueuedReply:
    outbox_id: int
    reference: str
    message_id: str
    sender: str
    to: list[str]
    cc: list[str]
    subject: str


def read_attachment(path: Path) -> Attachment:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise UserError(f"cannot read attachment {path}: {exc.strerror}") from exc
    kind, _ = mimetypes.guess_type(path.name)
    return Attachment(path.name, kind or "application/octet-stream", data)


class ReplyService:
    """Agents' replies, from ``default_sender`` unless the conversation says otherwise."""

    def __init__(self, storage: Storage, default_sender: str) -> None:
        self.storage = storage
        self.default_sender = default_sender

    def queue_reply(
        self,
        *,
        reference: str,
        body: str,
        now: datetime,
        to: list[str] | None = None,
        cc: list[str] | None = None,
        attachments: tuple[Attachment, ...] = (),
        sender: str | None = None,
    ) -> QueuedReply:
        """Compose, store and queue one reply, all or nothing (one unit of work)."""
        with self.storage.writing() as uow:
            return self._queue(uow, reference, body, now, to, cc, attachments, sender)

    def _queue(
        self,
        uow: UnitOfWork,
        reference: str,
        body: str,
        now: datetime,
        to: list[str] | None,
        cc: list[str] | None,
        attachments: tuple[Attachment, ...],
        sender: str | None,
    ) -> QueuedReply:
        item = uow.items.get(reference)
        recipients = list(to or ([item.requester] if item.requester else []))
        if not recipients:
            raise UserError(f"{item.reference} has no requester: give --to ADDRESS")
        if not body.strip():
            raise UserError("the reply body is empty")
        thread = uow.communications.of_item(item.id)
        # An id that cannot be written as is (2 MB, spaces…) is skipped: the reply answers
        # the newest message whose id can be, so the thread holds together.
        ids = [c.message_id for c in thread if c.message_id and writable_id(c.message_id)]
        latest = ids[-1] if ids else None
        from_address = sender or self._conversation_address(uow, thread)
        # The stored subject is the customer's text: one line without control characters.
        bare = _REPLY_PREFIX.sub("", header_text(item.subject or "")) or "(no subject)"
        subject = subject_with_reference(f"Re: {bare}", item.reference)
        try:
            composed = compose(
                sender=from_address,
                to=recipients,
                cc=list(cc or []),
                subject=subject,
                body=body,
                now=now,
                in_reply_to=latest,
                references=tuple(ids),  # compose keeps the newest it can write
                attachments=attachments,
            )
        except UnwritableSender as exc:
            raise UserError(f"{exc}: give --from ADDRESS") from exc
        if composed.left_out:
            # An agent's explicit recipient is never dropped silently: nothing is queued.
            raise UserError(
                f"cannot write to {composed.why_left_out()}; nothing queued (use --to/--cc)"
            )
        sha, inline = uow.keep_outbound(composed.raw)
        out_id = uow.outbox.queue_for_item(
            kind="reply",
            work_item_id=item.id,
            sender=from_address,
            recipients=list(composed.recipients),
            subject=composed.subject,
            message_id=composed.message_id,
            raw_sha256=sha,
            raw=inline,
            rule=None,
            now=now,
        )
        assert out_id is not None, "a reply's unit writes at once (not a batch's)"
        return QueuedReply(
            out_id,
            item.reference,
            composed.message_id,
            from_address,
            recipients,
            list(cc or []),
            composed.subject,
        )

    def _conversation_address(self, uow: UnitOfWork, thread: list[CommunicationRecord]) -> str:
        for comm in reversed(thread):
            if comm.direction == "out" and comm.from_address:
                return comm.from_address
        ours = uow.handler.own_addresses(self.default_sender)
        for comm in reversed(thread):
            if comm.direction != "in" or comm.message_row_id is None:
                continue
            sha = uow.messages.get(comm.message_row_id).raw_sha256
            if not uow.blobs.exists(sha):
                continue
            mail = parse(uow.blobs.get(sha))
            for address in (*mail.delivered_to, *mail.x_original_to, *mail.to, *mail.cc):
                if address.address.lower() in ours:
                    return address.address.lower()
        return self.default_sender
