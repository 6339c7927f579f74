"""Line endings: CRLF, LF and a bare CR all end a line.

RFC 5322 §2.1 ends lines with CRLF. What arrives also uses LF (Maildir,
pipes) and, from old Mac OS mailers and some gateways, a bare CR, often
mixed within one message. The parser and the content hash read lines at
LF, so a message with a bare CR anywhere is first rewritten with LF line
endings: otherwise a CR-only message is one long line, its header block is
never found, and when that line starts with a transit field (``Received:``,
``Return-Path:``) the content hash covers nothing (issue 10: 74 of 80
distinct messages of one corpus were dropped as copies of one another).

Messages without a bare CR, the common case, are not copied: one scan
tells whether there is one (a pattern of one CR and a one-character look
ahead: linear; an 8 KB CRLF message 7 us, half of counting CRs and CRLFs).
"""

from __future__ import annotations

import re

_BARE_CR = re.compile(rb"\r(?!\n)")


def has_bare_cr(data: bytes) -> bool:
    """Is there a CR that is not the start of a CRLF?"""
    return b"\r" in data and _BARE_CR.search(data) is not None


def to_lf(data: bytes) -> bytes:
    """``data`` with every CRLF and bare CR written as LF (``data`` itself if it has no CR)."""
    if b"\r" not in data:
        return data
    return data.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
