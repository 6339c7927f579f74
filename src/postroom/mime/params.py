"""Content-Type and Content-Disposition: the value and its parameters.

Rules followed (and bent, where mailers bend them):

1. ``type/subtype`` is case-insensitive (RFC 2045 §5.1); a missing or
   malformed type gives None and the caller applies the default.
2. Parameters are ``name=token`` or ``name="quoted string"``; names are
   case-insensitive. Unquoted values with spaces are taken up to the next
   ``;`` rather than dropped.
3. RFC 2231 §3–§4: ``name*0``, ``name*1`` … continuations are joined in
   number order; a ``*`` suffix means ``charset'language'%XX`` encoding.
   A section number of more than four digits is not a section.
4. RFC 2047 encoded-words inside a quoted filename are forbidden
   (RFC 2047 §5) yet sent by Outlook and Thunderbird; the caller decodes
   them for filenames.

Every pattern here reads remote text in linear time: no two quantifiers
can match the same characters one after the other, and a failed match
skips to the next ``;``.
"""

from __future__ import annotations

import re
from urllib.parse import unquote_to_bytes

from postroom.mime.charset import decode_text

_PARAM = re.compile(
    r"""\s*([^\s=;"]+)\s*=\s*("(?:[^"\\]|\\.)*"?|[^;]*)\s*;?""",
    re.DOTALL,
)
# A section number has at most four digits: more sections than that are no
# filename, and int() of a long digit run is slow (and refused past 4,300).
_SECTION = re.compile(r"^(.+?)\*([0-9]{1,4})(\*?)$")
_UNQUOTE = re.compile(r"\\(.)")


def parse_value(value: str | None) -> tuple[str, dict[str, str]]:
    """Split ``value; a=b; c="d"`` into (lowercased value, params)."""
    if not value:
        return "", {}
    head, sep, rest = value.partition(";")
    main = head.strip().strip('"').lower()
    if not sep:
        return main, {}
    return main, _parse_params(rest)


def _parse_params(rest: str) -> dict[str, str]:
    simple: dict[str, str] = {}
    sections: dict[str, dict[int, tuple[str, bool]]] = {}
    encoded_simple: dict[str, str] = {}
    pos = 0
    while pos < len(rest):
        match = _PARAM.match(rest, pos)
        if not match or match.end() == pos:
            nxt = rest.find(";", pos)
            if nxt < 0:
                break
            pos = nxt + 1
            continue
        pos = match.end()
        name = match.group(1).lower()
        raw = match.group(2).strip()
        if raw.startswith('"'):
            raw = _UNQUOTE.sub(r"\1", raw[1:-1] if raw.endswith('"') and len(raw) > 1 else raw[1:])
        section = _SECTION.match(name)
        if section:
            base, number, star = section.groups()
            sections.setdefault(base, {})[int(number)] = (raw, bool(star))
        elif name.endswith("*"):
            encoded_simple[name[:-1]] = raw
        else:
            simple.setdefault(name, raw)
    for name, raw in encoded_simple.items():
        simple[name] = _decode_2231(raw)
    for name, parts in sections.items():
        simple[name] = _join_sections(parts)
    return simple


def _join_sections(parts: dict[int, tuple[str, bool]]) -> str:
    """RFC 2231 §3–§4.1: join continuations; only section 0 carries the charset."""
    charset = ""
    data = bytearray()
    first = min(parts)
    for index in sorted(parts):
        raw, encoded = parts[index]
        if encoded:
            if index == first:
                pieces = raw.split("'", 2)
                if len(pieces) == 3:
                    charset, raw = pieces[0], pieces[2]
            data += unquote_to_bytes(raw)
        else:
            data += raw.encode("utf-8", "surrogateescape")
    text, _defect = decode_text(bytes(data), charset or "utf-8", "parameter")
    return text


def _decode_2231(raw: str) -> str:
    pieces = raw.split("'", 2)
    if len(pieces) == 3:
        charset, _language, payload = pieces
    else:
        charset, payload = "", raw
    text, _defect = decode_text(unquote_to_bytes(payload), charset or "utf-8", "parameter")
    return text
