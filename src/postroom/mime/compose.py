"""Composing agents' replies with the email package (attachments, any MIME structure).

Automated replies take the fast path (`autoreply.compose_automated`); both ask
`outgoing` which addresses and ids may be written, and both give a `Composed`.
Every message gets a Message-ID Postroom recognises, In-Reply-To and
References to the conversation (RFC 5322 §3.6.4), the work item's reference in
the subject exactly once, and the marker header that lets Postroom recognise
its own mail (rule D2).  Remote text in a header (subjects, display names,
file names) goes through `header_text`.  Threading headers are written as the
ids they are and address fields as the addresses they are (`_OutboundPolicy`):
never as RFC 2047 words, which the email package would make of a non-ASCII
address (RFC 2047 §5 forbids them there; RFC 6532 writes it in UTF-8).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import EmailMessage
from email.policy import EmailPolicy
from email.utils import format_datetime
from typing import TYPE_CHECKING, Any

from postroom.domain.ports import MARKER_HEADER
from postroom.mime import header_writer
from postroom.mime.header_text import header_text
from postroom.mime.outgoing import Composed, addressing, new_message_id, thread_ids

_ID_FIELDS = frozenset({"message-id", "in-reply-to", "references"})
_ADDRESS_FIELDS = frozenset({"from", "to", "cc"})


if TYPE_CHECKING:
    _Policy = EmailPolicy[EmailMessage]
else:  # not subscriptable at run time
    _Policy = EmailPolicy


class _OutboundPolicy(_Policy):
    """SMTP's policy, except for the fields `header_writer` writes.

    The email package treats In-Reply-To and References as unstructured text:
    an id longer than a line is RFC 2047-encoded so that it can be folded.  It
    encodes a non-ASCII address too, into a word no server delivers to.  So an
    address field is stored already written (`_written`), and written as is.
    """

    def header_store_parse(self, name: str, value: Any) -> tuple[str, Any]:
        if name.lower() in _ID_FIELDS or name.lower() in _ADDRESS_FIELDS:
            return name, str(value)
        return super().header_store_parse(name, value)

    def fold(self, name: str, value: Any) -> Any:
        if name.lower() in _ID_FIELDS:
            return _ids(name, value, self.linesep)
        if name.lower() in _ADDRESS_FIELDS:
            return f"{name}:{value}\r\n".replace("\r\n", self.linesep)
        return super().fold(name, value)

    def fold_binary(self, name: str, value: Any) -> bytes:
        if name.lower() in _ID_FIELDS:
            return _ids(name, value, self.linesep).encode("ascii")
        if name.lower() in _ADDRESS_FIELDS:
            # UTF-8 only when an address is: an SMTPUTF8 message (RFC 6532).
            return self.fold(name, value).encode("utf-8")  # type: ignore[no-any-return]
        return super().fold_binary(name, value)


def _ids(name: str, value: Any, linesep: str) -> str:
    return header_writer.ids(name, str(value).split()).replace("\r\n", linesep)


def _written(field: str) -> str:
    """The value of a field `header_writer` wrote (``Name: value\\r\\n``), folding kept."""
    return field.split(":", 1)[1][: -len("\r\n")]


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
    msg["From"] = _written(header_writer.mailbox("From", sender, header_text(sender_name)))
    if addresses.to:
        msg["To"] = _written(header_writer.address_list("To", addresses.to))
    if addresses.cc:
        msg["Cc"] = _written(header_writer.address_list("Cc", addresses.cc))
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
