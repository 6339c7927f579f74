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
from typing import Any

from sqlalchemy import Connection, insert, select

from postroom.errors import UserError
from postroom.mime import parse
from postroom.mime.compose import (
    Attachment,
    UnwritableSender,
    compose,
    header_text,
    subject_with_reference,
    writable_id,
)
from postroom.storage import outbox, workitems
from postroom.storage.blobs import FileBlobStore
from postroom.storage.handler_store import own_addresses
from postroom.storage.tables import communications, messages

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


def queue_reply(
    conn: Connection,
    blobs: FileBlobStore,
    *,
    reference: str,
    body: str,
    now: datetime,
    default_sender: str,
    to: list[str] | None = None,
    cc: list[str] | None = None,
    attachments: tuple[Attachment, ...] = (),
    sender: str | None = None,
) -> QueuedReply:
    """Compose, store and queue one reply; the caller's transaction makes it all-or-nothing."""
    item = workitems.get(conn, reference)
    recipients = list(to or ([item.requester] if item.requester else []))
    if not recipients:
        raise UserError(f"{item.reference} has no requester: give --to ADDRESS")
    if not body.strip():
        raise UserError("the reply body is empty")
    thread = list(
        conn.execute(
            select(communications)
            .where(communications.c.work_item_id == item.id)
            .order_by(communications.c.id)
        )
    )
    # An id that cannot be written as is (2 MB, spaces…) is skipped: the reply answers the
    # newest message whose id can be, so the thread holds together.
    ids = [c.message_id for c in thread if c.message_id and writable_id(c.message_id)]
    latest = ids[-1] if ids else None
    from_address = sender or _conversation_address(conn, blobs, thread, default_sender)
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
    sha = blobs.put(composed.raw)
    out_id = outbox.enqueue(
        conn,
        kind="reply",
        work_item_id=item.id,
        sender=from_address,
        recipients=list(composed.recipients),
        subject=composed.subject,
        message_id=composed.message_id,
        raw_sha256=sha,
        now=now,
    )
    conn.execute(
        insert(communications).values(
            work_item_id=item.id,
            direction="out",
            outbox_id=out_id,
            message_id=composed.message_id,
            from_address=from_address,
            subject=composed.subject,
            status="queued",
            created_at=now,
        )
    )
    return QueuedReply(
        out_id,
        item.reference,
        composed.message_id,
        from_address,
        recipients,
        list(cc or []),
        composed.subject,
    )


def _conversation_address(
    conn: Connection, blobs: FileBlobStore, thread: list[Any], default_sender: str
) -> str:
    for comm in reversed(thread):
        if comm.direction == "out" and comm.from_address:
            return str(comm.from_address)
    ours = own_addresses(conn, default_sender)
    for comm in reversed(thread):
        if comm.direction != "in" or comm.message_row_id is None:
            continue
        sha = conn.execute(
            select(messages.c.raw_sha256).where(messages.c.id == comm.message_row_id)
        ).scalar()
        if sha is None or not blobs.exists(sha):
            continue
        mail = parse(blobs.get(sha))
        for address in (*mail.delivered_to, *mail.x_original_to, *mail.to, *mail.cc):
            if address.address.lower() in ours:
                return address.address.lower()
    return default_sender
