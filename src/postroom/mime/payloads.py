"""The bytes of a message's attachments, in the order `parse` lists them.

``parse`` describes attachments (name, type, size) without keeping their bytes: a 50 MB
message must not bring 50 MB of payloads into every `ParsedMail`. A download asks for one
attachment by its index in ``ParsedMail.attachments``; this module walks the message as
the parser does (the same rules, the parser's own helpers) and decodes only that one.

Files the parser lists from inside a container (a ``winmail.dat``, uuencoded text) have
no MIME part of their own: their entry is None here (the raw message holds them).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from postroom.mime import parser
from postroom.mime.embedded import tnef_files, uuencoded
from postroom.mime.guess import Guess
from postroom.mime.names import clean_name, described_name
from postroom.mime.newlines import has_bare_cr, to_lf
from postroom.mime.params import parse_value
from postroom.mime.structure import Part, parse_structure


@dataclass(slots=True)
class _Walk:
    wanted: int
    collected: parser._Collected
    found: list[tuple[bytes, Part] | None] = field(default_factory=list)


def downloadable(raw: bytes) -> list[bool]:
    """For each attachment `parse` lists, whether it has bytes of its own here (as many
    entries as ``parse(raw).attachments``)."""
    return [entry is not None for entry in _walk_message(raw, wanted=-1).found]


def attachment_payload(raw: bytes, index: int) -> bytes | None:
    """The decoded bytes of attachment ``index`` (as `parse` numbers them), or None when
    it has no part of its own or there is no such attachment."""
    if index < 0:
        return None
    walk = _walk_message(raw, wanted=index)
    if index >= len(walk.found):
        return None
    entry = walk.found[index]
    if entry is None:
        return None
    data, part = entry
    return parser._payload(data, part, [])


def _walk_message(raw: bytes, wanted: int) -> _Walk:
    defects: list[str] = []
    if has_bare_cr(raw):
        raw = to_lf(raw)
    guess = Guess(raw)
    root = parse_structure(raw, defects, parser._header_start(raw, defects), guess)
    walk = _Walk(wanted, parser._Collected(guess))
    _walk(raw, root, None, walk, 0)
    return walk


def _walk(data: bytes, part: Part, parent_type: str | None, walk: _Walk, nested: int) -> None:
    """`parser._walk`, step for step, recording each attachment's part instead of its
    description."""
    if 0 <= walk.wanted < len(walk.found):
        return  # the one asked for is found: the rest need not be read
    out = walk.collected
    if part.is_multipart:
        for child in part.children:
            _walk(data, child, part.content_type, walk, nested)
        return
    content_type = part.content_type
    disposition, disposition_params = parse_value(part.header.get("content-disposition"))
    filename = clean_name(disposition_params.get("filename") or part.params.get("name"), [])
    if filename is None and not part.content_type.startswith("text/"):
        filename = described_name(part.header.get("content-description"), [])
    as_attachment = disposition == "attachment"
    text_type = content_type in ("text/plain", "text/html")
    if nested and text_type and not as_attachment and not filename:
        return
    if content_type == "text/plain" and not as_attachment and not nested:
        if not out.plain or (not filename and parent_type == "multipart/mixed"):
            text = parser._text(data, part, [], out.guess)
            if not out.uu_found and "begin " in text:
                text, packed = uuencoded(text, [])
                out.uu_found = bool(packed)
                walk.found.extend(None for _ in packed)
            out.plain.append("")
            return
    elif content_type == "text/html" and not as_attachment and out.html is None and not nested:
        out.html = ""
        return
    alternative = parent_type == "multipart/alternative" and not filename
    if alternative and content_type in parser._ALTERNATIVES:
        return
    if content_type in parser._ORIGINAL_TYPES:
        inner, source = parser._attached_message(data, part, content_type, out, [])
        walk.found.append((data, part))
        if inner is not None and nested < parser.MAX_NESTED and inner.is_multipart:
            _walk(source, inner, None, walk, nested + 1)
        return
    if content_type in parser._TNEF_TYPES or (filename or "").lower() == "winmail.dat":
        files = tnef_files(parser._payload(data, part, []), [])
        if files:
            walk.found.extend(None for _ in files)
            return
    walk.found.append((data, part))
