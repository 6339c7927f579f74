"""The bytes of an SMTP transaction: dot-stuffing the content, reading a reply's text.

Pure functions, apart from the connection: RFC 5321 §4.5.2 (transparency), what the
content needs of the server (8BITMIME, SMTPUTF8 for UTF-8 header fields) and the
one-line form of a (possibly multi-line) reply that results and messages show.
"""

from __future__ import annotations

import re

_LINE_START_DOT = re.compile(rb"^\.", re.MULTILINE)
_BLANK_LINE = re.compile(rb"(?:\A|\n)\r?\n")


def dot_stuffed(raw: bytes) -> bytes:
    """Lines starting with a dot get another (RFC 5321 §4.5.2); the content ends with CRLF."""
    stuffed = _LINE_START_DOT.sub(b"..", raw)
    return stuffed if stuffed.endswith(b"\r\n") else stuffed + b"\r\n"


def is_8bit(raw: bytes) -> bool:
    """The content needs ``BODY=8BITMIME`` (RFC 6152) where the server offers it."""
    return not raw.isascii()


def header_section(raw: bytes) -> bytes:
    """The message's header fields: everything before the first empty line (CRLF or LF)."""
    blank = _BLANK_LINE.search(raw)
    return raw[: blank.start()] if blank else raw


def header_is_8bit(raw: bytes) -> bool:
    """The header fields hold non-ASCII octets: UTF-8 headers (RFC 6532), which only an
    SMTPUTF8 transaction may carry (RFC 6531 §3.2)."""
    return not raw.isascii() and not header_section(raw).isascii()


def reply_text(reply: bytes | str) -> str:
    """A server's reply on one line, whitespace collapsed, undecodable bytes replaced."""
    if isinstance(reply, bytes):
        reply = reply.decode("utf-8", "replace")
    return " ".join(reply.split())
