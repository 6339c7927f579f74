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
3. Every other leaf part is an attachment, inline images included, named
   as ``names`` says (a nameless one gets a name from its type, with a
   defect). ``message/rfc822`` is one attachment, and the attachments inside
   it (not its text) follow it in the list, to ``MAX_NESTED`` levels and
   ``MAX_NESTED_PARTS`` parts in all. The other renderings of the text in a
   multipart/alternative (text/enriched, AMP HTML, a second plain or HTML
   part) are not attachments.
4. TNEF (``winmail.dat``, ``application/ms-tnef``) is listed as the files
   inside it (``embedded``); when it cannot be read, as one ``winmail.dat``.
   uuencoded files in a text body are taken out of the text and listed.

What the rest of the layer relies on:

5. A message with a bare CR anywhere is read with every CRLF and CR as LF
   (``newlines``), so CR-only mail has headers and a body.
6. When the body comes from HTML, ``visible_text`` holds the words a person
   sees and ``body_text`` the display text (``html``); the HTML read is
   capped at ``MAX_MARKUP`` characters, with a defect past it.
7. At most ``MAX_DEFECTS`` distinct defects are kept, the last saying how
   many more there were: a message of 100,000 broken lines must not bring
   100,000 sentences along.

Who sent it, when From gives no address (``from_source`` records which):

8. A From without an address, or with only a local name (``root``), is not
   usable while another header below gives a full address. ``Sender``
   first: RFC 5322 §3.6.2 names it the mailbox responsible for sending,
   so it is a person or system that did send this message. Then
   ``Reply-To``: the author's own choice of where answers go. Then
   ``Return-Path``: the envelope sender, a real address of the sending
   system but often a bounce or list address (an empty ``<>`` is skipped).
   Last the mbox ``From `` line, the same envelope sender as written by
   the mailbox that stored it. Each of these is a defect saying which one.
9. Blank or junk lines before the first header line (a message pasted from
   elsewhere, ``---- Original message ----``) are skipped, with a defect.

Text bodies: ``format=flowed`` (RFC 3676) is unwrapped (``flowed``); the
offsets where quoted earlier mail and the signature begin are found in the
body text (``replies``), which itself is kept whole.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from postroom import failpoints
from postroom.domain.mail import Address, Attachment, ParsedMail
from postroom.mime import fields
from postroom.mime.charset import decode_text
from postroom.mime.content_hash import content_hash, content_hash_of_lines
from postroom.mime.embedded import tnef_files, uuencoded
from postroom.mime.flowed import unflow
from postroom.mime.guess import Guess
from postroom.mime.headers import HeaderBlock, parse_header_block, unstructured
from postroom.mime.html import read_html
from postroom.mime.names import clean_name, described_name, name_from_type
from postroom.mime.newlines import has_bare_cr, to_lf
from postroom.mime.params import parse_value
from postroom.mime.replies import markers
from postroom.mime.report import dsn_report, looks_like_bounce, text_report
from postroom.mime.structure import Part, parse_part_at, parse_structure
from postroom.mime.transfer import decode_body, decoded_size

_STATUS_TYPES = frozenset(("message/delivery-status", "message/global-delivery-status"))
_ORIGINAL_TYPES = frozenset(
    ("message/rfc822", "message/global", "text/rfc822-headers", "message/global-headers")
)
_TNEF_TYPES = frozenset(("application/ms-tnef", "application/vnd.ms-tnef"))
_IDENTITY = frozenset(("", "7bit", "8bit", "binary"))
# Renderings of the text a multipart/alternative may hold besides the one shown:
# never attachments (text/calendar there is an invitation, and is listed).
_ALTERNATIVES = frozenset(
    (
        "text/plain",
        "text/html",
        "text/enriched",
        "text/richtext",
        "text/x-amp-html",
        "text/watch-html",
    )
)
MAX_DEFECTS = 100
MAX_NESTED = 3
"""Levels of attached messages whose own attachments are listed."""
MAX_NESTED_PARTS = 1000
"""Parts of attached messages read in all, for their attachments."""
MAX_NESTED_DECODE = 10 * 1024 * 1024
"""Bytes of an encoded (base64) attached message decoded to list its attachments."""


@dataclass(slots=True)
class _Collected:
    guess: Guess
    plain: list[str] = field(default_factory=list)
    html: str | None = None
    attachments: list[Attachment] = field(default_factory=list)
    status_bodies: list[bytes] = field(default_factory=list)
    originals: list[HeaderBlock] = field(default_factory=list)
    nested_parts: int = 0
    uu_found: bool = False


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
    guess = Guess(raw)
    root = parse_structure(raw, defects, _header_start(raw, defects), guess)
    header = root.header
    collected = _Collected(guess)
    _walk(raw, root, None, collected, defects, 0)

    from_, from_source = _sender(header, defects)
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
    quote_start, signature_start = markers(body_text)

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
        content_hash=content_hash_of_lines(raw),  # no bare CR left (rule 5)
        from_source=from_source,
        quote_start=quote_start,
        signature_start=signature_start,
    )


_FIELD_START = re.compile(rb"[!-9;-~]{1,80}[ \t]*:")
_JUNK_LINES = 5
"""Lines before the headers (blank, or ``---- Original message ----``) looked past at most."""


def _header_start(raw: bytes, defects: list[str]) -> int:
    """Where the header block starts: past blank or junk lines before it (rule 9).

    Only when the message does not start with a field (or an mbox ``From `` line)
    and a field follows within ``_JUNK_LINES`` lines.
    """
    if _FIELD_START.match(raw) or raw.startswith(b"From "):
        return 0
    pos = 0
    for _ in range(_JUNK_LINES):
        nl = raw.find(b"\n", pos, pos + 1000)
        if nl < 0:
            return 0
        pos = nl + 1
        if _FIELD_START.match(raw, pos):
            defects.append("lines before the headers skipped")
            return pos
    return 0


_FALLBACK_SENDERS = (
    ("sender", "Sender"),
    ("reply-to", "Reply-To"),
    ("return-path", "Return-Path"),
)


def _sender(header: HeaderBlock, defects: list[str]) -> tuple[Address | None, str]:
    """The sender and the header it came from (rule 8)."""
    found = fields.addresses(header.get_all("from")[:1], defects, "From", single=True)
    if found and "@" in found[0].address:
        return found[0], "from"
    if header.get("from") is None:
        defects.append("no From header")
    elif not found:
        defects.append("From header has no address")
    for key, shown in _FALLBACK_SENDERS:
        candidates = fields.addresses(header.get_all(key)[:1], defects, shown)
        usable = [a for a in candidates if "@" in a.address]
        if usable:
            defects.append(f"sender taken from the {shown} header (no usable From)")
            return usable[0], key
    if header.envelope_from:
        defects.append("sender taken from the mbox From line (no usable From)")
        return Address(header.envelope_from), "envelope"
    if found:
        return found[0], "from"  # a bare local name ("root"): nothing better
    return None, ""


def _addresses(header: HeaderBlock, name: str, defects: list[str]) -> tuple[Address, ...]:
    return fields.addresses(header.get_all(name), defects, name)


def _walk(
    data: bytes,
    part: Part,
    parent_type: str | None,
    out: _Collected,
    defects: list[str],
    nested: int,
) -> None:
    """Collect the body texts and attachments of ``part``; ``nested`` > 0 inside an
    attached message, whose text is not this message's body."""
    if part.is_multipart:
        for child in part.children:
            _walk(data, child, part.content_type, out, defects, nested)
        return
    content_type = part.content_type
    disposition, disposition_params = parse_value(part.header.get("content-disposition"))
    filename = clean_name(disposition_params.get("filename") or part.params.get("name"), defects)
    if filename is None and not part.content_type.startswith("text/"):
        filename = described_name(part.header.get("content-description"), defects)
    as_attachment = disposition == "attachment"

    text_type = content_type in ("text/plain", "text/html")
    if nested and text_type and not as_attachment and not filename:
        return  # the attached message's own text: not an attachment
    # A named text part with a disposition (``inline; filename="notes.txt"``) below
    # the top is a file the sender attached, not the message's text.
    as_attachment = as_attachment or bool(filename and disposition and parent_type)
    if content_type == "text/plain" and not as_attachment and not nested:
        if not out.plain or (not filename and parent_type == "multipart/mixed"):
            text = _text(data, part, defects, out.guess)
            if not out.uu_found and "begin " in text:
                text, packed = uuencoded(text, defects)
                out.uu_found = bool(packed)
                out.attachments.extend(
                    Attachment(filename=p.name, content_type=_uu_type(p.name), size=p.size)
                    for p in packed
                )
            out.plain.append(text)
            return
    elif content_type == "text/html" and not as_attachment and out.html is None and not nested:
        out.html = _text(data, part, defects, out.guess)
        return

    if parent_type == "multipart/alternative" and not filename and content_type in _ALTERNATIVES:
        return  # another rendering of the text (text/enriched, AMP, a second HTML)

    if content_type in _STATUS_TYPES and not nested:
        out.status_bodies.append(to_lf(_payload(data, part, defects)))
    elif content_type in _ORIGINAL_TYPES:
        inner, source = _attached_message(data, part, content_type, out, defects)
        if filename is None:
            subject = unstructured(out.originals[-1].get("subject"))
            filename = name_from_type(content_type, subject)
            if parent_type != "multipart/report":
                defects.append(f"attached message without a name: named {filename[:80]!r}")
        out.attachments.append(_attachment(data, part, content_type, filename, disposition))
        if inner is not None and nested < MAX_NESTED and inner.is_multipart:
            _walk(source, inner, None, out, defects, nested + 1)
        return
    if content_type in _TNEF_TYPES or (filename or "").lower() == "winmail.dat":
        files = tnef_files(_payload(data, part, defects), defects)
        if files:
            out.attachments.extend(
                Attachment(filename=f.name, content_type=_uu_type(f.name), size=f.size)
                for f in files
            )
            defects.append(f"winmail.dat (TNEF) unpacked: {len(files)} file(s) listed instead")
            return
    if filename is None:
        filename = name_from_type(content_type)
        if parent_type != "multipart/report" and part.header.get("content-id") is None:
            defects.append(f"{content_type[:60]} attachment without a name: named {filename!r}")
    out.attachments.append(_attachment(data, part, content_type, filename, disposition))


def _attached_message(
    data: bytes, part: Part, content_type: str, out: _Collected, defects: list[str]
) -> tuple[Part | None, bytes]:
    """The attached message's structure and the bytes its offsets point into; its
    header block goes to ``out.originals``."""
    room = MAX_NESTED_PARTS - out.nested_parts
    if part.encoding in _IDENTITY:
        source, start, end = data, part.start, part.end
    else:
        if part.end - part.start > MAX_NESTED_DECODE:
            out.originals.append(HeaderBlock())
            return None, data
        source = to_lf(_payload(data, part, defects))
        start, end = 0, len(source)
    if content_type in ("text/rfc822-headers", "message/global-headers") or room <= 1:
        out.originals.append(parse_header_block(source, start, end, Guess(source)))
        return None, source
    inner = parse_part_at(source, start, end, defects, max_parts=room)
    out.nested_parts += _count(inner)
    out.originals.append(inner.header)
    return inner, source


def _count(part: Part) -> int:
    total = 0
    stack = [part]
    while stack:
        current = stack.pop()
        total += 1
        stack.extend(current.children)
    return total


_UU_TYPES = {
    "pdf": "application/pdf",
    "zip": "application/zip",
    "jpg": "image/jpeg",
    "jpeg": "image/jpeg",
    "png": "image/png",
    "gif": "image/gif",
    "txt": "text/plain",
    "doc": "application/msword",
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "xls": "application/vnd.ms-excel",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "csv": "text/csv",
    "rtf": "application/rtf",
}


def _uu_type(name: str) -> str:
    """The type of a file taken out of a text body or a winmail.dat, from its extension."""
    _stem, dot, extension = name.rpartition(".")
    return (
        _UU_TYPES.get(extension.lower(), "application/octet-stream")
        if dot
        else ("application/octet-stream")
    )


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


def _payload(data: bytes, part: Part, defects: list[str]) -> bytes:
    return decode_body(data[part.start : part.end], part.encoding, defects)


def _text(data: bytes, part: Part, defects: list[str], guess: Guess) -> str:
    payload = _payload(data, part, defects)
    label = part.params.get("charset")
    if label or payload.isascii():
        text, defect = decode_text(payload, label, "body")
    else:
        # No charset: UTF-8 if it is that, else the message's guess (``guess``).
        try:
            text, defect = (
                payload.decode("utf-8"),
                "body: 8-bit data without a charset; decoded as utf-8",
            )
        except UnicodeDecodeError:
            text, used = guess.decode(payload)
            defect = f"body: 8-bit data without a charset; decoded as {used}"
    if defect:
        defects.append(defect)
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    if part.params.get("format", "").lower() == "flowed" and part.content_type == "text/plain":
        text = unflow(text, part.params.get("delsp", "").lower() == "yes")
    return text


def _bounded(defects: list[str]) -> tuple[str, ...]:
    """Distinct defects in order, at most ``MAX_DEFECTS`` (rule 7)."""
    distinct = list(dict.fromkeys(defects))
    if len(distinct) <= MAX_DEFECTS:
        return tuple(distinct)
    more = len(distinct) - MAX_DEFECTS + 1
    return (*distinct[: MAX_DEFECTS - 1], f"{more} more defects not listed")
