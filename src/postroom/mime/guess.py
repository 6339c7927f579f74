"""Header bytes without a charset: which charset the sender's mailer used.

RFC 5322 headers are ASCII, RFC 6532 allows UTF-8; older mailers write their
local charset (GB2312/GBK, Shift_JIS, Big5, windows-1252 …) raw into Subject
and From and label nothing. One header value is too short to tell a charset
by (two Chinese characters read as Big5, Korean or Latin alike), so the guess
is made once per message from more evidence, in this order:

1. The charset the message declares for its body (the first ``charset=``
   parameter other than ASCII): the mailer that wrote the body unlabelled in
   the header used the same one, most of the time. It is taken when the value
   decodes in it without error.
2. Otherwise the 8-bit lines of the message's start (headers and body, at most
   ``SAMPLE`` bytes) go to ``charset-normalizer``, limited to the charsets
   mail is written in (``CANDIDATES``). When the runs of 8-bit bytes in the
   sample are short (at most three bytes, most of them one: accented letters
   between ASCII ones) the text is Western and windows-1252 is taken without
   asking the detector, which mistakes short Latin text for Big5.
3. A value that does not decode in the guess is read as windows-1252 (latin-1
   where that has a gap), never as mojibake of UTF-8.

The scan for ``charset=`` and the sample are bounded, the detector runs at
most once per message, and only for a message with such a header.
"""

from __future__ import annotations

import re

from postroom.mime.charset import codec_for

SCAN = 65_536
"""Bytes of the message searched for a declared charset and for 8-bit lines."""
SAMPLE = 16_384
"""Bytes of 8-bit lines handed to the detector at most."""
CANDIDATES = (
    *("utf_8", "gb18030", "cp932", "big5", "cp949", "euc_jp", "cp1251", "koi8_r"),
    *("cp1250", "cp1252", "iso8859_7", "cp1253", "cp1255", "cp1256", "cp874", "cp1254"),
)
_DECLARED = re.compile(rb"charset[ \t]*=[ \t]*\"?([A-Za-z0-9_.:-]{1,40})", re.IGNORECASE)
_HIGH_RUN = re.compile(rb"[\x80-\xff]+")
_PLAIN = frozenset(("us-ascii", "ascii", "utf-8", "utf8"))


class Guess:
    """The message-wide guess for unlabelled 8-bit header values (computed when first asked)."""

    __slots__ = ("_codec", "_data", "_declared", "_done")

    def __init__(self, data: bytes) -> None:
        self._data = data
        self._declared: str | None = None
        self._codec: str | None = None
        self._done = False

    def decode(self, raw: bytes) -> tuple[str, str]:
        """``raw`` (not UTF-8) as text, and the charset it was read in."""
        if not self._done:
            self._done = True
            self._declared = _declared(self._data)
            self._codec = _detected(self._data)
        for codec in (self._declared, self._codec):
            if codec is None:
                continue
            try:
                return raw.decode(codec), codec
            except (UnicodeDecodeError, LookupError):
                continue
        try:
            return raw.decode("cp1252"), "cp1252"
        except UnicodeDecodeError:
            return raw.decode("latin-1"), "latin-1"


def _declared(data: bytes) -> str | None:
    for match in _DECLARED.finditer(data, 0, min(len(data), SCAN)):
        label = match.group(1).decode("ascii").lower()
        if label in _PLAIN:
            continue
        return codec_for(label)
    return None


def _detected(data: bytes) -> str | None:
    lines = [line for line in data[:SCAN].split(b"\n") if not line.isascii() and not _is_utf8(line)]
    sample = b"\n".join(lines)[:SAMPLE]
    if not sample:
        return None
    if _western(sample):
        return "cp1252"
    from charset_normalizer import from_bytes  # imported here: rare, and 40 ms to import

    best = from_bytes(sample, cp_isolation=list(CANDIDATES)).best()
    return None if best is None else codec_for(best.encoding)


def _western(sample: bytes) -> bool:
    """Accented letters between ASCII ones: runs of 8-bit bytes of at most three, and
    most of them one byte long (CJK and Cyrillic words are runs of many bytes)."""
    single = longer = 0
    for run in _HIGH_RUN.finditer(sample):
        size = run.end() - run.start()
        if size > 3:
            return False
        if size == 1:
            single += 1
        else:
            longer += 1
    return single >= longer


def _is_utf8(line: bytes) -> bool:
    try:
        line.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True
