"""A text/plain body in UTF-8 and the transfer encoding it travels in (RFC 2045 §6).

The choice is the one the email package makes for ``set_content`` under
Postroom's SMTP policy (lines of at most 78 characters), so a body reads the
same whichever writer produced it:

1. Every line at most 78 octets: ``7bit`` when the text is ASCII, else ``8bit``
   (RFC 6152), as `compose` has always sent it.
2. A longer line: ``quoted-printable``, unless base64 is shorter over the first
   ten lines (text that is mostly non-ASCII).

Lines end in CRLF, and the body with one (RFC 5322 §2.3); a bare CR or LF is a
line break, as the email package reads it.
"""

from __future__ import annotations

import binascii
from email import quoprimime

_MAX_LINE = 78
_SNIFFED_LINES = 10
_BASE64_OCTETS = _MAX_LINE // 4 * 3


def text_body(text: str) -> tuple[str, bytes]:
    """(Content-Transfer-Encoding, the encoded body ending in CRLF) for ``text``."""
    lines = text.encode("utf-8").splitlines()
    if max((len(line) for line in lines), default=0) <= _MAX_LINE:
        body = b"\r\n".join(lines) + b"\r\n"
        return ("7bit" if body.isascii() else "8bit"), body
    sniff = b"\r\n".join(lines[:_SNIFFED_LINES]) + b"\r\n"
    quoted = quoprimime.body_encode(sniff.decode("latin-1"), _MAX_LINE)
    if len(quoted) > len(binascii.b2a_base64(sniff)):
        whole = b"\r\n".join(lines) + b"\r\n"
        encoded = b"".join(
            binascii.b2a_base64(whole[i : i + _BASE64_OCTETS])
            for i in range(0, len(whole), _BASE64_OCTETS)
        )
        return "base64", encoded.replace(b"\n", b"\r\n")
    if len(lines) > _SNIFFED_LINES:
        quoted = quoprimime.body_encode((b"\n".join(lines) + b"\n").decode("latin-1"), _MAX_LINE)
    return "quoted-printable", _crlf(quoted)


def _crlf(text: str) -> bytes:
    """Quoted-printable output (ASCII, ``\\n`` line ends) with CRLF line ends."""
    return b"\r\n".join(text.encode("ascii").splitlines()) + b"\r\n"
