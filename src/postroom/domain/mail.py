"""An inbound email as plain data: what the MIME layer extracts and the handler reads."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime


@dataclass(frozen=True, slots=True)
class Address:
    """One mailbox: `address` is `local@domain` as written (case kept), `name` the display name."""

    address: str
    name: str = ""

    @property
    def normalized(self) -> str:
        """The address lowercased, for comparisons (RFC 5321 local parts are
        case-sensitive in theory; no mail system we meet treats them so)."""
        return self.address.strip().lower()


@dataclass(frozen=True, slots=True)
class Attachment:
    filename: str | None
    content_type: str
    size: int
    content_id: str | None = None
    inline: bool = False


@dataclass(frozen=True, slots=True)
class DeliveryReport:
    """What a delivery status notification (RFC 3464) says about an earlier message."""

    original_message_ids: tuple[str, ...]
    failed_recipients: tuple[str, ...] = ()
    status: str | None = None
    diagnostic: str | None = None
    action: str | None = None
    kind: str | None = None
    """``hard`` (permanent: the address will not work), ``soft`` (temporary: full
    mailbox, delay) or None when the report does not say."""


@dataclass(frozen=True, slots=True)
class ParsedMail:
    """Everything the handler and `explain` need from one raw message.

    Message-IDs (``message_id``, ``in_reply_to``, ``references``) keep their
    angle brackets, as written in the header (``<abc@example.com>``).
    ``headers`` holds the first value of every header, keyed by its
    lowercased name, decoded to text (RFC 2047 words decoded).
    """

    from_: Address | None = None
    to: tuple[Address, ...] = ()
    cc: tuple[Address, ...] = ()
    reply_to: tuple[Address, ...] = ()
    delivered_to: tuple[Address, ...] = ()
    x_original_to: tuple[Address, ...] = ()
    envelope_to: tuple[Address, ...] = ()
    resent_to: tuple[Address, ...] = ()
    subject: str = ""
    date: datetime | None = None
    message_id: str | None = None
    in_reply_to: str | None = None
    references: tuple[str, ...] = ()
    body_text: str = ""
    """The body for display: the text/plain part, or the HTML laid out as text
    (links as ``text <url>``, images by their ``alt`` text)."""
    visible_text: str | None = None
    """The body's words a person sees, where they differ from ``body_text``: set
    by the MIME layer when the body is HTML, without hidden elements, link
    targets and ``alt`` text (``postroom.domain.visibility``). References in
    the body are searched here; None means ``body_text`` is what is seen."""
    html: str | None = None
    attachments: tuple[Attachment, ...] = ()
    content_type: str = "text/plain"
    report: DeliveryReport | None = None
    headers: Mapping[str, str] = field(default_factory=dict)
    defects: tuple[str, ...] = ()
    content_hash: str = ""
    """SHA-256 (hex) of the message without the headers added in transit
    (Received, Return-Path, Delivered-To, X-Original-To, Envelope-To): the
    same message delivered through two channels has the same content hash."""
    from_source: str = "from"
    """The header ``from_`` was taken from: ``from``, or when the message has no
    usable From ``sender``, ``reply-to``, ``return-path`` or ``envelope`` (the
    mbox ``From `` line); ``""`` when there is no sender at all."""
    quote_start: int | None = None
    """Offset in ``body_text`` where quoted earlier mail begins (``On … wrote:``,
    ``> `` lines, an Outlook header block): the new part ends there. None: no quote."""
    signature_start: int | None = None
    """Offset in ``body_text`` of the sender's signature (``-- `` line), None if none."""

    @property
    def has_html(self) -> bool:
        return self.html is not None

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())

    @property
    def return_path_present(self) -> bool:
        return "return-path" in self.headers

    def recipients(self) -> tuple[Address, ...]:
        """Every address the message was delivered for, in docs/handler.md order."""
        return (
            self.to
            + self.cc
            + self.delivered_to
            + self.x_original_to
            + self.envelope_to
            + self.resent_to
        )
