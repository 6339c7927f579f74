"""Raw bytes -> ParsedMail: the one entry point of the MIME layer.

``parse`` never raises. Whatever arrives (empty, binary, truncated, with
broken headers) is described as well as it can be, and everything that was
wrong or guessed is listed in ``defects`` as a sentence an operator can
read. The handler decides what to do with such mail; the parser only
reports.

Which part is the body (RFC 2046 §5.1.3–§5.1.4, and what mail readers do):

1. The first text/plain part that is not ``Content-Disposition:
   attachment`` is the body text; further inline text/plain parts without a
   filename directly in a multipart/mixed (list footers) are appended.
2. The first such text/html part is ``html``; when there is no text/plain
   (or only a blank one, as some mailers send), the body text is that HTML
   converted to text.
3. Every other leaf part is an attachment, inline images included;
   ``message/rfc822`` counts as one attachment (its parts are not listed).
4. TNEF (``winmail.dat``, ``application/ms-tnef``) is listed as one
   attachment under that name and type; its content is not unpacked.

What the rest of the layer relies on:

5. A message with a bare CR anywhere is read with every CRLF and CR as LF
   (``newlines``), so CR-only mail has headers and a body.
6. When the body comes from HTML, ``visible_text`` holds the words a person
   sees and ``body_text`` the display text (``html``); the HTML read is
   capped at ``MAX_MARKUP`` characters, with a defect past it.
7. At most ``MAX_DEFECTS`` distinct defects are kept, the last saying how
   many more there were: a message of 100,000 broken lines must not bring
   100,000 sentences along.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from postroom import failpoints
from postroom.domain.mail import Address, Attachment, ParsedMail
from postroom.mime import fields
from postroom.mime.charset import decode_text
from postroom.mime.content_hash import content_hash
from postroom.mime.headers import HeaderBlock, decode_words, parse_header_block, unstructured
from postroom.mime.html import read_html
from postroom.mime.newlines import has_bare_cr, to_lf
from postroom.mime.params import parse_value
from postroom.mime.report import dsn_report, looks_like_bounce, text_report
from postroom.mime.structure import Part, parse_structure
from postroom.mime.transfer import decode_body, decoded_size

_STATUS_TYPES = frozenset(("message/delivery-status", "message/global-delivery-status"))
_ORIGINAL_TYPES = frozenset(
    ("message/rfc822", "message/global", "text/rfc822-headers", "message/global-headers")
)
_TNEF_TYPES = frozenset(("application/ms-tnef", "application/vnd.ms-tnef"))
_IDENTITY = frozenset(("", "7bit", "8bit", "binary"))
MAX_DEFECTS = 100


@dataclass(slots=True)
class _Collected:
    plain: list[str] = field(default_factory=list)
    html: str | None = None
    attachments: list[Attachment] = field(default_factory=list)
    status_bodies: list[bytes] = field(default_factory=list)
    originals: list[HeaderBlock] = field(default_factory=list)


def parse(raw: bytes) -> ParsedMail:
    """Parse one raw RFC 5322 message; never raises, problems go to ``defects``."""
    if not isinstance(raw, bytes):
        raw = raw.encode("utf-8", "surrogateescape") if isinstance(raw, str) else bytes(raw)
    failpoints.stall("parse-stall", raw)
    try:
        return _parse(raw)
    except Exception as exc:  # noqa: BLE001 - the contract is "never raises"; say why instead
        try:
            digest = content_hash(raw)
        except Exception:  # noqa: BLE001
            digest = ""
        return ParsedMail(
            defects=(f"message could not be parsed: {type(exc).__name__}: {exc}"[:300],),
            content_hash=digest,
        )


def _parse(raw: bytes) -> ParsedMail:
    defects: list[str] = []
    empty = not raw or raw.isspace()  # no .strip(): it would copy a 25 MB message
    if empty:
        defects.append("empty message")
    if has_bare_cr(raw):
        raw = to_lf(raw)
        defects.append("bare CR line endings read as line breaks")
    root = parse_structure(raw, defects)
    header = root.header
    collected = _Collected()
    _walk(raw, root, None, collected, defects)

    from_list = fields.addresses(header.get_all("from")[:1], defects, "From")
    if header.get("from") is None:
        defects.append("no From header")
    elif not from_list:
        defects.append("From header has no address")
    subject = unstructured(header.get("subject"), defects, "Subject")
    message_id = fields.first_message_id(header.get("message-id"))
    if message_id is None and not empty:
        defects.append("no Message-ID header")

    body_text = "\n".join(collected.plain) if collected.plain else ""
    visible_text = None
    if collected.html is not None and not body_text.strip():
        read = read_html(collected.html)
        body_text, visible_text = read.display, read.visible
        if read.truncated:
            defects.append("HTML body too long: only its start was read")

    from_ = from_list[0] if from_list else None
    report = None
    if collected.status_bodies:
        report = dsn_report(collected.status_bodies, collected.originals)
    elif looks_like_bounce(from_, subject):
        report = text_report(body_text, collected.originals)

    return ParsedMail(
        from_=from_,
        to=_addresses(header, "to", defects),
        cc=_addresses(header, "cc", defects),
        reply_to=_addresses(header, "reply-to", defects),
        delivered_to=_addresses(header, "delivered-to", defects),
        x_original_to=_addresses(header, "x-original-to", defects),
        envelope_to=_addresses(header, "envelope-to", defects),
        resent_to=_addresses(header, "resent-to", defects),
        subject=subject,
        date=fields.date(header.get("date"), defects),
        message_id=message_id,
        in_reply_to=fields.first_message_id(header.get("in-reply-to")),
        references=tuple(dict.fromkeys(fields.message_ids(header.get("references")))),
        body_text=body_text,
        visible_text=visible_text,
        html=collected.html,
        attachments=tuple(collected.attachments),
        content_type=root.content_type,
        report=report,
        headers={name: unstructured(value) for name, value in header.first.items()},
        defects=_bounded(defects),
        content_hash=content_hash(raw),
    )


def _addresses(header: HeaderBlock, name: str, defects: list[str]) -> tuple[Address, ...]:
    return fields.addresses(header.get_all(name), defects, name)


def _walk(
    data: bytes, part: Part, parent_type: str | None, out: _Collected, defects: list[str]
) -> None:
    if part.is_multipart:
        for child in part.children:
            _walk(data, child, part.content_type, out, defects)
        return
    content_type = part.content_type
    disposition, disposition_params = parse_value(part.header.get("content-disposition"))
    filename = _filename(disposition_params.get("filename") or part.params.get("name"), defects)
    as_attachment = disposition == "attachment"

    if content_type == "text/plain" and not as_attachment:
        if not out.plain or (not filename and parent_type == "multipart/mixed"):
            out.plain.append(_text(data, part, defects))
            return
    elif content_type == "text/html" and not as_attachment and out.html is None:
        out.html = _text(data, part, defects)
        return

    if content_type in _STATUS_TYPES:
        out.status_bodies.append(to_lf(_payload(data, part, defects)))
    elif content_type in _ORIGINAL_TYPES:
        if part.encoding in _IDENTITY:
            out.originals.append(parse_header_block(data, part.start, part.end))
        else:
            out.originals.append(parse_header_block(to_lf(_payload(data, part, defects))))
    out.attachments.append(_attachment(data, part, content_type, filename, disposition))


def _attachment(
    data: bytes, part: Part, content_type: str, filename: str | None, disposition: str
) -> Attachment:
    if content_type in _TNEF_TYPES or (filename or "").lower() == "winmail.dat":
        content_type = "application/ms-tnef"
        filename = filename or "winmail.dat"
    raw_cid = part.header.get("content-id")
    content_id = fields.first_message_id(raw_cid)
    return Attachment(
        filename=filename,
        content_type=content_type,
        size=decoded_size(data, part.start, part.end, part.encoding),
        content_id=content_id[1:-1] if content_id else None,
        inline=disposition == "inline" or (not disposition and content_id is not None),
    )


def _filename(value: str | None, defects: list[str]) -> str | None:
    """A filename for display: RFC 2047 words decoded, no directory part."""
    if not value:
        return None
    name = decode_words(value, defects, "filename").strip().replace("\\", "/")
    name = name.rsplit("/", 1)[-1].strip()
    return name or None


def _payload(data: bytes, part: Part, defects: list[str]) -> bytes:
    return decode_body(data[part.start : part.end], part.encoding, defects)


def _text(data: bytes, part: Part, defects: list[str]) -> str:
    text, defect = decode_text(_payload(data, part, defects), part.params.get("charset"), "body")
    if defect:
        defects.append(defect)
    return text.replace("\r\n", "\n").replace("\r", "\n") if "\r" in text else text


def _bounded(defects: list[str]) -> tuple[str, ...]:
    """Distinct defects in order, at most ``MAX_DEFECTS`` (rule 7)."""
    distinct = list(dict.fromkeys(defects))
    if len(distinct) <= MAX_DEFECTS:
        return tuple(distinct)
    more = len(distinct) - MAX_DEFECTS + 1
    return (*distinct[: MAX_DEFECTS - 1], f"{more} more defects not listed")
