"""Composing agents' replies with the email package (attachments, any MIME structure).

Automated replies take the fast path (`autoreply.compose_automated`); both ask
`outgoing` which addresses and ids may be written, and both give a `Composed`.
Every message gets a Message-ID Postroom recognises, In-Reply-To and
References to the conversation (RFC 5322 §3.6.4), the work item's reference in
the subject exactly once, and the marker header that lets Postroom recognise
its own mail (rule D2).  Remote text in a header (subjects, display names,
file names) goes through `header_text`.  Threading headers are written as the
ids they are (`_OutboundPolicy`), never as RFC 2047 words.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import EmailMessage
from email.policy import EmailPolicy
from email.utils import format_datetime, formataddr
from typing import TYPE_CHECKING, Any

from postroom.domain.ports import MARKER_HEADER
from postroom.mime import header_writer
from postroom.mime.header_text import header_text
from postroom.mime.outgoing import Composed, addressing, new_message_id, thread_ids

_ID_FIELDS = frozenset({"message-id", "in-reply-to", "references"})


if TYPE_CHECKING:
    _Policy = EmailPolicy[EmailMessage]
else:  # not subscriptable at run time
    _Policy = EmailPolicy


class _OutboundPolicy(_Policy):
    """SMTP's policy, except that threading headers are written as the ids they are.

    The email package treats In-Reply-To and References as unstructured text:
    an id longer than a line is RFC 2047-encoded so that it can be folded.
    """

    def header_store_parse(self, name: str, value: Any) -> tuple[str, Any]:
        if name.lower() in _ID_FIELDS:
            return name, str(value)
        return super().header_store_parse(name, value)

    def fold(self, name: str, value: Any) -> Any:
        if name.lower() in _ID_FIELDS:
            return _ids(name, value, self.linesep)
        return super().fold(name, value)

    def fold_binary(self, name: str, value: Any) -> bytes:
        if name.lower() in _ID_FIELDS:
            return _ids(name, value, self.linesep).encode("ascii")
        return super().fold_binary(name, value)


def _ids(name: str, value: Any, linesep: str) -> str:
    return header_writer.ids(name, str(value).split()).replace("\r\n", linesep)


_POLICY = _OutboundPolicy(linesep="\r\n")


# ---------------------------------------------------------------------- composing
@dataclass(frozen=True, slots=True)
class Attachment:
    filename: str
    content_type: str
    """``type/subtype``; ``application/octet-stream`` when unknown."""
    data: bytes


def compose(
    *,
    sender: str,
    to: list[str],
    subject: str,
    body: str,
    now: datetime,
    in_reply_to: str | None = None,
    references: tuple[str, ...] = (),
    automated: bool = False,
    cc: list[str] | None = None,
    sender_name: str = "",
    attachments: tuple[Attachment, ...] = (),
) -> Composed:
    addresses = addressing(sender, to, cc or [])
    subject = header_text(subject)
    msg = EmailMessage(policy=_POLICY)
    name = header_text(sender_name)
    msg["From"] = formataddr((name, sender)) if name else sender
    if addresses.to:
        msg["To"] = ", ".join(addresses.to)
    if addresses.cc:
        msg["Cc"] = ", ".join(addresses.cc)
    msg["Subject"] = subject
    # Stored times are naive UTC: say so (+0000), not "unknown zone" (-0000, RFC 5322 §3.3).
    msg["Date"] = format_datetime(now if now.tzinfo else now.replace(tzinfo=UTC))
    message_id = new_message_id(sender)
    msg["Message-ID"] = message_id
    parent, chain = thread_ids(in_reply_to, references)
    if parent:
        msg["In-Reply-To"] = parent
    if chain:
        msg["References"] = " ".join(chain)
    if automated:
        msg["Auto-Submitted"] = "auto-replied"
        msg["X-Auto-Response-Suppress"] = "All"
    msg[MARKER_HEADER] = "1"
    msg.set_content(body)
    for item in attachments:
        maintype, _, subtype = item.content_type.partition("/")
        if not subtype:
            maintype, subtype = "application", "octet-stream"
        filename = header_text(item.filename) or "attachment"
        msg.add_attachment(item.data, maintype=maintype, subtype=subtype, filename=filename)
    return Composed(
        raw=msg.as_bytes(),
        message_id=message_id,
        subject=subject,
        recipients=addresses.recipients,
        left_out=addresses.left_out,
    )
