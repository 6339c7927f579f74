"""The MIME tree of a message, as offsets into the raw bytes (RFC 2045, RFC 2046).

Parts never copy their bodies: a ``Part`` holds its header block and the
``start``/``end`` offsets of its body in the one ``bytes`` object, so a
25 MB message costs 25 MB plus small change, however deep it nests.

Rules (RFC 2046 §5.1.1 unless noted):

1. A delimiter line is ``--boundary`` at the start of a line, followed only
   by optional whitespace ("transport padding"); ``--boundary--`` closes.
   The line break *before* a delimiter belongs to the delimiter, not to the
   part above it.
2. Text before the first delimiter (preamble) and after the close delimiter
   (epilogue) is ignored.
3. A multipart with no close delimiter (truncated mail) ends its last part
   at the end of the data, with a defect; a multipart without a boundary
   parameter or without any delimiter is read as text/plain.
4. Parts of multipart/digest default to message/rfc822 (RFC 2046 §5.1.5),
   all others to text/plain (RFC 2045 §5.2).
5. Nesting deeper than ``MAX_DEPTH`` or more than ``MAX_PARTS`` parts are
   not followed (mail bombs), with a defect.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from postroom.mime.guess import Guess
from postroom.mime.headers import HeaderBlock, parse_header_block
from postroom.mime.params import parse_value

MAX_DEPTH = 32
MAX_PARTS = 1000


@dataclass(slots=True)
class Part:
    header: HeaderBlock
    content_type: str
    params: dict[str, str]
    start: int
    end: int
    children: list[Part] = field(default_factory=list)

    @property
    def encoding(self) -> str:
        return (self.header.get("content-transfer-encoding") or "").strip().lower()

    @property
    def is_multipart(self) -> bool:
        return self.content_type.startswith("multipart/")


@dataclass(slots=True)
class _Budget:
    guess: Guess
    parts: int = 0


def parse_structure(
    data: bytes, defects: list[str], start: int = 0, guess: Guess | None = None
) -> Part:
    """The root part of ``data[start:]`` with its whole tree of children; ``guess``
    reads unlabelled 8-bit header values (by default one made from ``data``)."""
    budget = _Budget(guess if guess is not None else Guess(data))
    return _parse_part(data, start, len(data), "text/plain", 0, defects, budget)


def parse_part_at(
    data: bytes,
    start: int,
    end: int,
    defects: list[str],
    default_type: str = "text/plain",
    max_parts: int = MAX_PARTS,
) -> Part:
    """A part (and its children) found inside ``data[start:end]``, e.g. an attached message;
    at most ``max_parts`` parts of it are read."""
    budget = _Budget(Guess(data), parts=MAX_PARTS - max(1, max_parts))
    return _parse_part(data, start, end, default_type, 0, defects, budget)


def _parse_part(
    data: bytes,
    start: int,
    end: int,
    default_type: str,
    depth: int,
    defects: list[str],
    budget: _Budget,
) -> Part:
    budget.parts += 1
    header = parse_header_block(data, start, end, budget.guess)
    defects.extend(header.defects)
    raw_type = header.get("content-type")
    content_type, params = parse_value(raw_type)
    if "/" not in content_type or " " in content_type:
        if raw_type is not None:
            defects.append(f"unreadable Content-Type {raw_type[:60]!r}; used {default_type}")
        content_type = default_type
        params = {} if raw_type is None else params
    part = Part(header, content_type, params, header.body_start, end)
    if not part.is_multipart:
        return part
    boundary = params.get("boundary", "")
    if not boundary:
        defects.append(f"{content_type[:60]} without boundary; read as text/plain")
        part.content_type = "text/plain"
        return part
    if depth >= MAX_DEPTH or budget.parts >= MAX_PARTS:
        defects.append("MIME nesting too deep or too many parts; rest not parsed")
        part.content_type = "application/octet-stream"
        return part
    ranges, closed = _split(data, part.start, end, boundary.encode("utf-8", "replace"))
    if not ranges:
        defects.append(f"{content_type[:60]}: no part found for boundary {boundary[:70]!r}")
        part.content_type = "text/plain"
        return part
    if not closed:
        defects.append(f"{content_type[:60]}: close delimiter missing (truncated message?)")
    child_type = "message/rfc822" if content_type == "multipart/digest" else "text/plain"
    for child_start, child_end in ranges:
        if budget.parts >= MAX_PARTS:
            defects.append("too many MIME parts; rest not parsed")
            break
        child = _parse_part(data, child_start, child_end, child_type, depth + 1, defects, budget)
        part.children.append(child)
    return part


def _split(
    data: bytes, start: int, end: int, boundary: bytes
) -> tuple[list[tuple[int, int]], bool]:
    """The body ranges between delimiter lines, and whether a close delimiter was seen."""
    delimiter = b"--" + boundary
    ranges: list[tuple[int, int]] = []
    current: int | None = None
    pos = start
    while True:
        found = data.find(delimiter, pos, end)
        if found < 0:
            break
        if found != start and data[found - 1] != 0x0A:
            pos = found + 1
            continue
        after = found + len(delimiter)
        closing = data.startswith(b"--", after)
        nl = data.find(b"\n", after, end)
        line_end = end if nl < 0 else nl
        rest = data[after + 2 if closing else after : line_end]
        if rest.strip(b" \t\r"):
            pos = found + 1  # a longer boundary that merely starts with ours
            continue
        if current is not None:
            ranges.append((current, _before_line_break(data, current, found)))
        if closing:
            return ranges, True
        current = end if nl < 0 else nl + 1
        pos = current
    if current is not None:
        ranges.append((current, end))
    return ranges, False


def _before_line_break(data: bytes, floor: int, found: int) -> int:
    """Offset of the CRLF/LF that precedes a delimiter (RFC 2046 §5.1.1)."""
    stop = found
    if stop > floor and data[stop - 1] == 0x0A:
        stop -= 1
        if stop > floor and data[stop - 1] == 0x0D:
            stop -= 1
    return stop
