"""Composing Postroom's outbound mail: automated replies and agents' replies.

Every message gets a Message-ID Postroom recognises, In-Reply-To and
References to the conversation (RFC 5322 §3.6.4), the work item's reference in
the subject exactly once, and the marker header that lets Postroom recognise
its own mail (rule D2). Automated replies carry ``Auto-Submitted:
auto-replied`` (RFC 3834 §5).
"""

from __future__ import annotations

import re
import string
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime, formataddr
from pathlib import Path

from postroom.domain.context import MARKER_HEADER, OWN_MESSAGE_ID_PREFIX

_BUILTIN = Path(__file__).resolve().parent.parent / "templates"
_REFERENCE_TAG = re.compile(r"\s*\[\d+-(?:T|C(?:-A\d+)?)\]\s*", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class Attachment:
    filename: str
    content_type: str
    """``type/subtype``; ``application/octet-stream`` when unknown."""
    data: bytes


@dataclass(frozen=True, slots=True)
class Composed:
    raw: bytes
    message_id: str
    subject: str


def new_message_id(sender: str) -> str:
    domain = sender.rpartition("@")[2] or "localhost"
    return f"{OWN_MESSAGE_ID_PREFIX}{uuid.uuid4().hex}@{domain}>"


def subject_with_reference(subject: str, reference: str) -> str:
    """``[101203-T] subject``: any reference tag already present is replaced, never repeated."""
    bare = _REFERENCE_TAG.sub(" ", subject).strip()
    return f"[{reference}] {bare}".strip()


def load_template(kind: str, folder: Path | None) -> str:
    """A template by kind; a file of the same name in ``folder`` overrides the built-in one."""
    for base in (folder, _BUILTIN):
        if base is not None and (base / f"{kind}.txt").is_file():
            return (base / f"{kind}.txt").read_text(encoding="utf-8")
    raise FileNotFoundError(f"no template {kind}.txt")


def render(template: str, values: dict[str, str]) -> tuple[str, str]:
    """Fill placeholders ($reference, $subject, …); returns (subject line, body)."""
    text = string.Template(template).safe_substitute(values)
    head, _, body = text.partition("\n\n")
    subject = ""
    for line in head.splitlines():
        if line.lower().startswith("subject:"):
            subject = line.split(":", 1)[1].strip()
    if not subject:
        body = text
    return subject, body.strip() + "\n"


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
    msg = EmailMessage(policy=SMTP)
    msg["From"] = formataddr((sender_name, sender)) if sender_name else sender
    msg["To"] = ", ".join(to)
    if cc:
        msg["Cc"] = ", ".join(cc)
    msg["Subject"] = subject
    # Stored times are naive UTC: say so (+0000), not "unknown zone" (-0000, RFC 5322 §3.3).
    msg["Date"] = format_datetime(now if now.tzinfo else now.replace(tzinfo=UTC))
    message_id = new_message_id(sender)
    msg["Message-ID"] = message_id
    if in_reply_to:
        msg["In-Reply-To"] = in_reply_to
        chain = [r for r in references if r != in_reply_to] + [in_reply_to]
        msg["References"] = " ".join(chain[-20:])
    if automated:
        msg["Auto-Submitted"] = "auto-replied"
        msg["X-Auto-Response-Suppress"] = "All"
    msg[MARKER_HEADER] = "1"
    msg.set_content(body)
    for item in attachments:
        maintype, _, subtype = item.content_type.partition("/")
        if not subtype:
            maintype, subtype = "application", "octet-stream"
        msg.add_attachment(item.data, maintype=maintype, subtype=subtype, filename=item.filename)
    return Composed(raw=msg.as_bytes(), message_id=message_id, subject=subject)
