"""The content hash: one message, one hash, whichever mailbox it came through.

docs/handler.md D1: a message is a duplicate when its Message-ID *and* content
match; content is the message without the header fields that transport
adds on the way (RFC 5321 §4.4 trace fields ``Received`` and
``Return-Path``; ``Delivered-To``, ``X-Original-To`` and ``Envelope-To``
written by the delivering MTA) and without an mbox ``From `` line.

The hash is taken over the raw bytes, with line endings normalised to LF
(POP3 and IMAP hand out CRLF, Maildir and pipes LF, old Mac mailers and
some gateways a bare CR), so no decoding difference can make two copies
differ. A message with a bare CR is first rewritten with LF endings
(``newlines``): read at LF alone, a CR-only message is one line, and when
that line is a transit field the hash covered nothing at all (issue 10).
Otherwise the body is fed to SHA-256 in chunks: a 25 MB message is never
copied whole.
"""

from __future__ import annotations

import hashlib

from postroom.mime.newlines import has_bare_cr, to_lf

TRANSIT_FIELDS = frozenset(
    (b"received", b"return-path", b"delivered-to", b"x-original-to", b"envelope-to")
)
_CHUNK = 1 << 20


def content_hash(raw: bytes) -> str:
    """SHA-256 hex of ``raw`` without transit header fields, line endings normalised."""
    return content_hash_of_lines(to_lf(raw) if has_bare_cr(raw) else raw)


def content_hash_of_lines(raw: bytes) -> str:
    """`content_hash` of ``raw`` that has no bare CR (the parser's copy, which it
    rewrote already: a second look for one is a scan of the whole message)."""
    digest = hashlib.sha256()
    body_start = _hash_header_block(raw, digest)
    pos = body_start
    size = len(raw)
    while pos < size:
        stop = min(size, pos + _CHUNK)
        if stop < size and raw[stop - 1] == 0x0D:
            stop += 1  # keep a CR and its LF in the same chunk
        digest.update(raw[pos:stop].replace(b"\r\n", b"\n"))
        pos = stop
    return digest.hexdigest()


def _hash_header_block(raw: bytes, digest: hashlib._Hash) -> int:
    """Feed the kept header lines to ``digest``; return where the body starts."""
    pos = 0
    size = len(raw)
    dropping = False
    first = True
    while pos < size:
        nl = raw.find(b"\n", pos)
        next_pos = size if nl < 0 else nl + 1
        line = raw[pos:next_pos].replace(b"\r\n", b"\n")
        if line in (b"\n", b"\r"):
            digest.update(b"\n")
            return next_pos
        if line[:1] in (b" ", b"\t"):
            if not dropping:
                digest.update(line)
        elif first and line.startswith(b"From "):
            dropping = True  # mbox envelope line
        else:
            colon = line.find(b":")
            name = line[:colon].strip().lower() if colon > 0 else b""
            dropping = name in TRANSIT_FIELDS
            if not dropping:
                digest.update(line)
        first = False
        pos = next_pos
    return size
