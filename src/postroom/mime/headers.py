"""Header blocks: splitting raw bytes into fields, unfolding and RFC 2047 decoding.

We parse the header block ourselves instead of through ``email.parser``: it is
several times faster, works on offsets into the one ``bytes`` object (no
copies of a 25 MB body), and lets us decide what a broken line means:

1. A field is ``name ":" value`` (RFC 5322 §2.2); the name is printable ASCII
   without spaces. Lines starting with a space or tab continue the previous
   field (§2.2.3 unfolding: the line break is removed, the whitespace kept).
2. The first empty line ends the header block (§2.1); LF and CRLF both count
   (the parser rewrites a message with bare CRs to LF first, ``newlines``).
3. A leading ``From `` line (mbox envelope) is not a field; its address is
   kept as ``envelope_from`` (the sender of last resort, ``parser``).
4. A line that is not a field is a defect. After a field, when the next
   line is a field or the blank line, it is the rest of a long value folded
   without leading whitespace and joins the field above (with a space);
   before any field it is junk (``---- Original message ----``) and is
   skipped. Otherwise the body starts there (a missing separator line), as
   most mail readers do. Only the first ``MAX_LINE_DEFECTS`` such lines are
   described one by one.
5. Values are text: ASCII and UTF-8 as they are; other 8-bit bytes (a
   mailer's local charset, unlabelled) in the message-wide ``Guess``
   (``guess``), with a defect naming the charset used.

Each line is looked at a constant number of times, and the field-name
pattern has one quantifier per character class, so a header block of any
size is read in linear time.
"""

from __future__ import annotations

import binascii
import re
from dataclasses import dataclass, field

from postroom.mime.charset import codec_for, decode_text
from postroom.mime.guess import Guess

_FIELD_NAME = re.compile(rb"[!-9;-~]+[ \t]*:")
MAX_LINE_DEFECTS = 20


@dataclass(slots=True)
class HeaderBlock:
    """The fields of one header block, in order, with values as unfolded text.

    Values are *not* RFC 2047 decoded here: structured fields (addresses,
    Content-Type) must be tokenised before encoded-words are decoded
    (RFC 2047 §5 forbids encoded-words inside quoted strings and addr-specs).
    """

    fields: list[tuple[str, str]] = field(default_factory=list)
    first: dict[str, str] = field(default_factory=dict)
    body_start: int = 0
    defects: list[str] = field(default_factory=list)
    envelope_from: str | None = None
    """The address of a leading mbox ``From `` line (RFC 4155), if there was one."""

    def get(self, name: str) -> str | None:
        return self.first.get(name)

    def get_all(self, name: str) -> list[str]:
        return [value for key, value in self.fields if key == name]


def parse_header_block(
    data: bytes, start: int = 0, end: int | None = None, guess: Guess | None = None
) -> HeaderBlock:
    """Read the header block of ``data[start:end]``; ``body_start`` is an offset into ``data``.

    ``guess`` reads unlabelled 8-bit values; by default one made from ``data``.
    """
    stop = len(data) if end is None else end
    block = HeaderBlock(body_start=stop)
    raw_fields: list[list[bytes]] = []
    pos = start
    first_line = True
    skipped = 0
    while pos < stop:
        nl = data.find(b"\n", pos, stop)
        line_end = stop if nl < 0 else nl
        next_pos = stop if nl < 0 else nl + 1
        line = data[pos:line_end]
        if line.endswith(b"\r"):
            line = line[:-1]
        if not line:
            block.body_start = next_pos
            break
        if line[0] in b" \t":
            if raw_fields:
                raw_fields[-1].append(line)
            else:
                block.defects.append("header block starts with a continuation line")
        elif _FIELD_NAME.match(line):
            raw_fields.append([line])
        elif first_line and line.startswith(b"From "):
            block.envelope_from = _envelope_sender(line)
        elif raw_fields and _continues(raw_fields[-1][-1], line, _next_line(data, next_pos, stop)):
            raw_fields[-1].append(b" " + line)
            skipped += 1
            if skipped <= MAX_LINE_DEFECTS:
                block.defects.append(
                    f"header line without leading whitespace read as folded: {_preview(line)}"
                )
        elif _FIELD_NAME.match(_next_line(data, next_pos, stop)):
            skipped += 1
            if skipped <= MAX_LINE_DEFECTS:
                block.defects.append(f"header line without a colon skipped: {_preview(line)}")
            elif skipped == MAX_LINE_DEFECTS + 1:
                block.defects.append("more header lines without a colon skipped")
        else:
            block.defects.append("no blank line between headers and body")
            block.body_start = pos
            break
        first_line = False
        pos = next_pos
    reader = guess if guess is not None else Guess(data)
    for lines in raw_fields:
        _add_field(block, lines, reader)
    return block


def _continues(above: bytes, line: bytes, below: bytes) -> bool:
    """Is ``line`` (not a field) between ``above`` and ``below`` the rest of a folded value?

    Only after a long line (a mailer broke it at its line length) or when it
    is an encoded-word, and only when a field or the blank line follows (a
    body does not go on with fields; a short line before the blank one, or a
    line after a short field, is not part of the headers).
    """
    if len(above) < _FOLD_WIDTH and not line.startswith(b"=?"):
        return False
    stripped = below[:-1] if below.endswith(b"\r") else below
    return not stripped or _FIELD_NAME.match(stripped) is not None


_FOLD_WIDTH = 60


_ENVELOPE = re.compile(rb"From +(\S{1,320})")


def _envelope_sender(line: bytes) -> str | None:
    """``From alice@example.com Mon Mar  2 …`` -> ``alice@example.com``; None without "@"."""
    match = _ENVELOPE.match(line)
    if match is None:
        return None
    address = match.group(1).decode("ascii", "replace").strip("<>")
    return address if "@" in address else None


def _next_line(data: bytes, pos: int, stop: int) -> bytes:
    nl = data.find(b"\n", pos, stop)
    return data[pos : stop if nl < 0 else nl]


def _preview(line: bytes) -> str:
    return repr(line[:60].decode("ascii", "replace"))


def _add_field(block: HeaderBlock, lines: list[bytes], guess: Guess) -> None:
    joined = lines[0] if len(lines) == 1 else b"".join(lines)
    colon = joined.index(b":")
    name = joined[:colon].rstrip().decode("ascii").lower()
    raw_value = joined[colon + 1 :].strip()
    if raw_value.isascii():
        value = raw_value.decode("ascii")
    else:
        # RFC 6532 allows raw UTF-8 in headers; older mailers send their
        # local charset unlabelled (rule 5).
        try:
            value = raw_value.decode("utf-8")
        except UnicodeDecodeError:
            value, used = guess.decode(raw_value)
            if len(block.defects) < MAX_LINE_DEFECTS:
                block.defects.append(
                    f"header {name[:60]}: 8-bit data without a charset; decoded as {used}"
                )
    block.fields.append((name, value))
    if name not in block.first:
        block.first[name] = value


# RFC 2047 §2: encoded-word = "=?" charset ["*" language] "?" encoding "?" text "?="
# The text may hold spaces (``=?UTF-8?Q? Personal=C3=A4nderung?=``, against
# §5 but common); it cannot hold "?", so a match never runs past the third
# "?" after its start and the scan stays linear.
_ENCODED_WORD = re.compile(r"=\?([^?\s*]+)(?:\*[^?\s]*)?\?([bBqQ])\?([^?]*)\?=")
_WS = re.compile(r"[ \t\r\n]+")


def decode_words(value: str, defects: list[str] | None = None, what: str = "header") -> str:
    """Decode RFC 2047 encoded-words in an unstructured value.

    Whitespace between two adjacent encoded-words is dropped (RFC 2047 §6.2).
    Adjacent words in the same charset are decoded together, because many
    mailers split one multibyte character across two words.
    """
    if "=?" not in value:
        return value
    pieces: list[str] = []
    pending: bytearray = bytearray()
    pending_charset = ""
    pos = 0
    for match in _ENCODED_WORD.finditer(value):
        gap = value[pos : match.start()]
        if gap and (not pending or gap.strip(" \t\r\n")):
            if pending:
                pieces.append(_decode_pending(pending, pending_charset, defects, what))
                pending = bytearray()
            pieces.append(gap)
        charset = match.group(1).lower()
        data = _decode_word_payload(match.group(2), match.group(3), charset)
        if data is None:
            # Keep a broken word as written: the reader may still make sense of it.
            if defects is not None:
                defects.append(f"{what}: broken base64 encoded-word")
            if pending:
                pieces.append(_decode_pending(pending, pending_charset, defects, what))
                pending = bytearray()
            pieces.append(match.group(0))
            pos = match.end()
            continue
        if pending and charset != pending_charset:
            pieces.append(_decode_pending(pending, pending_charset, defects, what))
            pending = bytearray()
        pending += data
        pending_charset = charset
        pos = match.end()
    if pending:
        pieces.append(_decode_pending(pending, pending_charset, defects, what))
    pieces.append(value[pos:])
    return "".join(pieces)


def _decode_word_payload(encoding: str, text: str, charset: str) -> bytes | None:
    """The bytes of one encoded-word, or None when its base64 is broken.

    Q text with raw 8-bit characters in it (``=?utf-8?Q?M=C3=BCller_Grüße?=``, as some
    webmailers write) keeps them, in the word's own charset.
    """
    if text.isascii():
        raw = text.encode("ascii")
    else:
        raw = text.encode(codec_for(charset) or "utf-8", "replace")
    if encoding in "bB":
        raw = raw.translate(None, b" \t\r\n")
        padded = raw + b"=" * (-len(raw) % 4)
        try:
            decoded = binascii.a2b_base64(padded)
        except binascii.Error:
            return None
        # Nothing decoded from something written: not base64 at all.
        return decoded if decoded or not raw.strip(b"=") else None
    # RFC 2047 §4.2: "_" is a space in Q encoding.
    return binascii.a2b_qp(raw.replace(b"_", b" "))


def _decode_pending(data: bytearray, charset: str, defects: list[str] | None, what: str) -> str:
    text, defect = decode_text(bytes(data), charset, what)
    if defect and defects is not None:
        defects.append(defect)
    return text


def unstructured(value: str | None, defects: list[str] | None = None, what: str = "header") -> str:
    """An unstructured field (Subject, Comments) as display text: decoded, one line."""
    if not value:
        return ""
    decoded = decode_words(value, defects, what)
    if "\n" in decoded or "\r" in decoded or "\t" in decoded:
        decoded = _WS.sub(" ", decoded)
    return decoded.strip()
