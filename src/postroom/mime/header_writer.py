"""Header fields written by hand, for mail Postroom writes itself (RFC 5322, RFC 2047).

The email package's policy machinery costs milliseconds per message; an
acknowledgement needs a handful of fields whose grammar is small, so they are
written here, as text, by rules that can be read and tested one by one:

1. Lines are folded at white space to 78 characters (RFC 5322 §2.1.1, §2.2.3);
   no line ever exceeds 998.  Every token written fits on a line of its own.
2. Non-ASCII text, and ASCII words that cannot stand as they are, become RFC 2047
   encoded words, and only where §5 allows them: unstructured text (Subject)
   and a display name (a phrase).  Never in an address, never in a msg-id.
3. An encoded word is ``=?utf-8?q?…?=`` (readable) unless ``=?utf-8?b?…?=``
   is clearly shorter for the run it carries; at most 75 characters (§2); it never splits
   a UTF-8 sequence (§5: each word decodes on its own).  Q uses only letters,
   digits and ``!*+-/`` unencoded, the set §5(3) allows even in a phrase.
4. White space between two encoded words is not text (§6.2), so consecutive
   words that need encoding are encoded as one run with their spaces inside,
   then cut into encoded words at character boundaries.
5. An ASCII word stays as it is unless it contains ``=?`` (a reader would take
   it for an encoded word) or cannot fit on a line.
6. Threading headers carry ids as they are, folded between ids only
   (RFC 5322 §3.6.4); `outgoing.writable_id` chose ids that fit on a line.
7. Addresses are written as they are (`outgoing.addressing` chose them).

Each function returns a whole field, ``Name: value`` and its CRLF, as text: a
message is encoded once, as UTF-8 (an SMTPUTF8 message may carry UTF-8 addresses,
RFC 6532; every other byte written here is ASCII).
"""

from __future__ import annotations

import binascii
import functools
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta

SOFT_LINE = 78
HARD_LINE = 998
_MAX_WORD = 75
"""RFC 2047 §2: an encoded word is at most 75 characters."""
_CRLF = "\r\n"
_PHRASE_WORD = 60
"""An atom or quoted display name this long still fits after ``From: `` (rule 1)."""

_Q_SAFE = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789!*+-/")
_Q_BYTE = [chr(b) if b in _Q_SAFE else f"={b:02X}" for b in range(256)]
_Q_BYTE[0x20] = "_"
_ATEXT = frozenset(
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789!#$%&'*+-/=?^_`{|}~"
)
"""RFC 5322 §3.2.3 atext: what an atom of a display name may hold."""
_PRINTABLE = frozenset(chr(c) for c in range(0x21, 0x7F))

_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


# ---------------------------------------------------------------------- folding
class _Folder:
    """Lines of one field: a token goes on the current line if it fits, else on a new one."""

    __slots__ = ("head", "line", "lines")

    def __init__(self, name: str) -> None:
        self.lines: list[str] = []
        self.head = f"{name}:"
        self.line = self.head

    def room(self) -> int:
        """Characters a token may take on the current line (after its space)."""
        return SOFT_LINE - len(self.line) - 1

    def add(self, token: str) -> None:
        """Fold before ``token`` past 78 characters; right after the field name only past
        998 (a name alone on its line is legal but confuses some readers)."""
        limit = HARD_LINE if self.line == self.head else SOFT_LINE
        if len(self.line) + 1 + len(token) > limit:
            self.lines.append(self.line)
            self.line = ""
        self.line += " " + token

    def field(self) -> str:
        self.lines.append(self.line)
        return _CRLF.join(self.lines) + _CRLF


# ---------------------------------------------------------------------- encoded words
def _q_length(data: bytes) -> int:
    return sum(len(_Q_BYTE[b]) for b in data)


def _add_encoded(folder: _Folder, text: str) -> None:
    """``text`` as encoded words (rules 3 and 4), packed onto the folder's lines."""
    data = text.encode("utf-8")
    b_length = (len(data) + 2) // 3 * 4
    if _q_length(data) - b_length < 5:  # Q, readable, unless B is clearly shorter
        _add_q(folder, text)
    else:
        _add_b(folder, text)


def _capacity(folder: _Folder, smallest: int) -> int:
    """Encoded characters the next word may carry: what is left of the current line, or
    a whole word's worth on a new line when that is less than ``smallest``."""
    room = min(folder.room(), _MAX_WORD) - 12  # =?utf-8?X? and ?=
    if room >= smallest:
        return room
    return _MAX_WORD - 12


def _add_q(folder: _Folder, text: str) -> None:
    pieces = [
        _Q_BYTE[ord(c)] if c < "\x80" else "".join(_Q_BYTE[b] for b in c.encode("utf-8"))
        for c in text
    ]
    word: list[str] = []
    size = 0
    capacity = _capacity(folder, 12)
    for piece in pieces:
        if size + len(piece) > capacity and word:
            folder.add(f"=?utf-8?q?{''.join(word)}?=")
            word, size = [], 0
            capacity = _capacity(folder, 12)
        word.append(piece)
        size += len(piece)
    folder.add(f"=?utf-8?q?{''.join(word)}?=")


def _add_b(folder: _Folder, text: str) -> None:
    chunk = bytearray()
    octets = _capacity(folder, 16) // 4 * 3
    for char in text:
        encoded = char.encode("utf-8")
        if len(chunk) + len(encoded) > octets and chunk:
            folder.add(_b_word(chunk))
            chunk = bytearray()
            octets = _capacity(folder, 16) // 4 * 3
        chunk += encoded
    folder.add(_b_word(chunk))


def _b_word(chunk: bytes | bytearray) -> str:
    return f"=?utf-8?b?{binascii.b2a_base64(chunk, newline=False).decode('ascii')}?="


def _stands_as_is(word: str, room: int) -> bool:
    """Rule 5: a printable ASCII word, not like an encoded word, that fits in ``room``."""
    return len(word) <= room and _PRINTABLE.issuperset(word) and "=?" not in word


def _add_text(folder: _Folder, words: Sequence[str]) -> None:
    """Words of text, each as is where it can be, runs of the others encoded (rule 4)."""
    run: list[str] = []
    for index, word in enumerate(words):
        # A word fits on a continuation line (" word"); the first also after "Name: ".
        room = folder.room() if index == 0 else SOFT_LINE - 1
        if _stands_as_is(word, room):
            if run:
                _add_encoded(folder, " ".join(run))
                run = []
            folder.add(word)
        else:
            run.append(word)
    if run:
        _add_encoded(folder, " ".join(run))


# ---------------------------------------------------------------------- fields
def unstructured(name: str, text: str) -> str:
    """An unstructured field (Subject): ``text`` has single spaces only (`header_text`)."""
    folder = _Folder(name)
    if text:
        _add_text(folder, text.split(" "))
    else:
        folder.line += " "
    return folder.field()


def mailbox(name: str, address: str, display_name: str = "") -> str:
    """``Name: display name <address>``, or the bare address when there is no name."""
    folder = _Folder(name)
    if display_name:
        _add_phrase(folder, display_name)
        folder.add(f"<{address}>")
    else:
        folder.add(address)
    return folder.field()


def _add_phrase(folder: _Folder, name: str) -> None:
    """A display name: atoms, else one quoted string, else encoded words (RFC 5322 §3.2.5)."""
    words = name.split(" ")
    if all(_ATEXT.issuperset(w) and "=?" not in w and len(w) <= _PHRASE_WORD for w in words):
        for word in words:
            folder.add(word)
        return
    quoted = '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'
    # Many readers decode an encoded word even inside quotes: "=?" is encoded.
    plain = _PRINTABLE.issuperset(name.replace(" ", "")) and "=?" not in name
    if len(quoted) <= _PHRASE_WORD and plain:
        folder.add(quoted)
        return
    _add_encoded(folder, name)


def address_list(name: str, addresses: Iterable[str]) -> str:
    """``Name: a, b, c`` folded after the commas; addresses as they are (rule 7)."""
    folder = _Folder(name)
    written = list(addresses)
    for index, address in enumerate(written):
        folder.add(address + ("," if index < len(written) - 1 else ""))
    return folder.field()


def ids(name: str, values: Iterable[str]) -> str:
    """``Name: <a> <b>`` folded between ids only (rule 6; RFC 5322 §2.2.3, §3.6.4)."""
    folder = _Folder(name)
    for ident in values:
        folder.add(ident)
    return folder.field()


def date(when: datetime) -> str:
    """RFC 5322 §3.3 date-time; a naive time is UTC, so ``+0000`` (not ``-0000``, unknown)."""
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    # Keyed by the offset too: equal instants at other offsets are other texts.
    return _date_text(when, when.utcoffset())


@functools.lru_cache(maxsize=4)
def _date_text(when: datetime, offset: timedelta | None) -> str:
    """`date`'s text, kept for the last few times: a batch's replies share its one time."""
    minutes = int(offset.total_seconds()) // 60 if offset is not None else 0
    sign = "+" if minutes >= 0 else "-"
    hours, minutes = divmod(abs(minutes), 60)
    return (
        f"{_DAYS[when.weekday()]}, {when.day:02d} {_MONTHS[when.month - 1]} {when.year:04d} "
        f"{when.hour:02d}:{when.minute:02d}:{when.second:02d} {sign}{hours:02d}{minutes:02d}"
    )
