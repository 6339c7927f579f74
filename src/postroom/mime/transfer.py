"""Content-Transfer-Encoding (RFC 2045 §6): decoding bodies and sizing attachments.

Attachments are only *sized*, never kept, so their payload is not decoded
at all when the size can be computed: for base64 (RFC 2045 §6.8) every 4
alphabet characters make 3 bytes, less the ``=`` padding, so counting the
non-alphabet bytes of the encoded range gives the exact decoded size
without a copy. Quoted-printable attachments are decoded in bounded chunks.
Text parts are decoded fully, because their text is needed.
"""

from __future__ import annotations

import binascii
from collections.abc import Callable

_CHUNK = 1 << 20  # 1 MiB: the most we hold decoded at once while sizing
_B64_JUNK = b" \t\r\n"


def decode_body(data: bytes, encoding: str, defects: list[str]) -> bytes:
    """The decoded payload of a (text) part; undecodable input is kept as is."""
    if encoding == "base64":
        try:
            return binascii.a2b_base64(data)
        except binascii.Error:
            defects.append("body: invalid base64, decoded what could be")
            return _lenient_base64(data)
    if encoding == "quoted-printable":
        return binascii.a2b_qp(data)
    if encoding not in _IDENTITY:
        defects.append(f"body: unknown Content-Transfer-Encoding {encoding[:40]!r}, used as is")
    return data


_IDENTITY = frozenset(("", "7bit", "8bit", "binary", "7-bit", "8-bit"))


def _lenient_base64(data: bytes) -> bytes:
    """Decode line by line, so one broken line costs only itself."""
    out = bytearray()
    for line in data.splitlines():
        stripped = line.strip()
        stripped += b"=" * (-len(stripped) % 4)
        try:
            out += binascii.a2b_base64(stripped)
        except binascii.Error:
            continue
    return bytes(out)


def decoded_size(data: bytes, start: int, end: int, encoding: str) -> int:
    """The size in bytes of ``data[start:end]`` once transfer-decoded, without a full copy."""
    if end <= start:
        return 0
    if encoding == "base64":
        return _base64_size(data, start, end)
    if encoding == "quoted-printable":
        return _chunked_size(data, start, end, binascii.a2b_qp)
    return end - start


def _base64_size(data: bytes, start: int, end: int) -> int:
    junk = sum(data.count(bytes((char,)), start, end) for char in _B64_JUNK)
    # Padding sits at the end; look only at the last few meaningful bytes.
    tail = data[max(start, end - 8) : end].rstrip(_B64_JUNK)
    padding = len(tail) - len(tail.rstrip(b"="))
    if padding:
        junk += padding
    chars = (end - start) - junk
    # Incomplete final quantum (truncated mail): count its whole bytes too.
    full, rest = divmod(chars, 4)
    return full * 3 + max(0, rest - 1)


def _chunked_size(data: bytes, start: int, end: int, decode: Callable[[bytes], bytes]) -> int:
    total = 0
    pos = start
    while pos < end:
        stop = min(end, pos + _CHUNK)
        if stop < end:
            # Cut after a line break so no escape (=XX, soft break) is split.
            nl = data.rfind(b"\n", pos, stop)
            if nl > pos:
                stop = nl + 1
        total += len(decode(data[pos:stop]))
        pos = stop
    return total
