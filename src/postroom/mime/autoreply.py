"""Automated replies (acknowledgements, "address not configured") written straight to bytes.

An intake that acknowledges every new Ticket composes one reply per message;
the email package's policy machinery spends milliseconds on each, more than
filing the message.  These replies are plain text with a fixed set of fields,
so they are written here by `header_writer` and `text_body` in tens of
microseconds, to the same field values and body text as `compose` would
produce (tests/unit/mime/test_autoreply_parity.py checks it on generated input).

What every Postroom message carries (RFC 5322 §3.6.4 threading, the marker
header of rule D2, the reference in the subject) and which addresses and ids
may be written are decided in `outgoing`, shared with `compose`.  An automated
reply also says so: ``Auto-Submitted: auto-replied`` (RFC 3834 §5) and
``X-Auto-Response-Suppress: All`` (Exchange's "do not answer this").
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from postroom.domain.ports import MARKER_HEADER
from postroom.mime import header_writer as fields
from postroom.mime.header_text import header_text
from postroom.mime.outgoing import Composed, addressing, new_message_id, thread_ids
from postroom.mime.text_body import text_body

_AUTOMATED = (
    "Auto-Submitted: auto-replied\r\n"
    "X-Auto-Response-Suppress: All\r\n"
    f"{MARKER_HEADER}: 1\r\n"
    'Content-Type: text/plain; charset="utf-8"\r\n'
)


def compose_automated(
    *,
    sender: str,
    to: Sequence[str],
    subject: str,
    body: str,
    now: datetime,
    in_reply_to: str | None = None,
    references: Sequence[str] = (),
    sender_name: str = "",
) -> Composed:
    """An automated reply from ``sender`` to the writable ones of ``to``.

    Raises `UnwritableSender` when ``sender`` cannot be written; a recipient
    that cannot be is left out, with its reason (`Composed.left_out`).
    """
    addresses = addressing(sender, to)
    subject = header_text(subject)
    message_id = new_message_id(sender)
    parent, chain = thread_ids(in_reply_to, references)
    cte, encoded = text_body(body)
    head = [fields.mailbox("From", sender, header_text(sender_name) if sender_name else "")]
    if addresses.to:
        head.append(fields.address_list("To", addresses.to))
    head.append(fields.unstructured("Subject", subject))
    head.append(f"Date: {fields.date(now)}\r\n")
    head.append(fields.ids("Message-ID", (message_id,)))
    if parent:
        head.append(fields.ids("In-Reply-To", (parent,)))
    if chain:
        head.append(fields.ids("References", chain))
    head.append(_AUTOMATED)
    head.append(f"Content-Transfer-Encoding: {cte}\r\nMIME-Version: 1.0\r\n\r\n")
    return Composed(
        raw="".join(head).encode("utf-8") + encoded,
        message_id=message_id,
        subject=subject,
        recipients=addresses.recipients,
        left_out=addresses.left_out,
    )
