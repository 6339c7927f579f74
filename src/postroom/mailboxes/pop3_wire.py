"""Reading POP3 responses from a byte stream, in big chunks.

``poplib`` reads a message one line at a time and refuses lines over 2048
bytes (its ``_MAXLINE``), which both breaks on real mail with unwrapped HTML
and makes a 25 MB message cost ~400,000 Python calls.  RFC 1939 puts no limit
on the length of a line inside a message, so this reader does not either: it
pulls whatever the socket has (up to `CHUNK` bytes per call), looks for the
terminating ``CRLF.CRLF`` only in the newly arrived tail, and removes the dot
stuffing with one ``bytes.replace`` at the end.  Peak memory is about twice
the message size.

A multi-line response is bounded: past a limit of octets on the wire (the
body as sent, dot-stuffing included) the reader stops and raises `TooLong`, so a
server that streams a RETR answer forever costs the limit plus one chunk of
memory, never the stream.  The stream is then out of sync (the rest of that
answer is still coming) and the connection must be dropped.

The reader knows nothing about sockets: it is given a ``recv_into``-style
callable, so it can be tested with any chunking of the input.
"""

from __future__ import annotations

from collections.abc import Callable

from postroom.domain.display import for_terminal
from postroom.ports.mailbox import MAX_MESSAGE_BYTES

CHUNK = 256 * 1024
"""Bytes asked from the socket per call; TLS hands out at most 16 KiB records anyway."""

MAX_BODY = MAX_MESSAGE_BYTES
"""Default bound of one multi-line response: the default message limit
(``POSTROOM_MAX_MESSAGE_BYTES``), and the bound of CAPA, UIDL and LIST answers
(at ~20 octets a line, over two million messages)."""

MAX_STATUS_LINE = 8192
"""RFC 2449 §4 caps a response line at 512 octets; be lenient but not unbounded."""

_TERMINATOR = b"\r\n.\r\n"
_EMPTY_BODY = b".\r\n"


class WireError(Exception):
    """The server broke the POP3 framing (or closed the connection mid-response)."""


class ServerClosed(WireError):
    """The server closed the connection (EOF) before a response was complete."""


class TooLong(WireError):
    """A multi-line response went past the reader's limit; the rest of it was not read."""

    def __init__(self, limit: int, received: int) -> None:
        super().__init__(f"multi-line response over the limit of {limit} bytes")
        self.limit = limit
        self.received = received


RecvInto = Callable[[memoryview], int]


class ResponseReader:
    """Status lines and multi-line responses (RFC 1939 §3) from one connection."""

    def __init__(self, recv_into: RecvInto, chunk: int = CHUNK) -> None:
        self._recv_into = recv_into
        self._chunk = memoryview(bytearray(chunk))
        self._buf = bytearray()

    @property
    def buffered(self) -> int:
        """Bytes received but not yet consumed (must be 0 before a TLS handshake)."""
        return len(self._buf)

    def _fill(self) -> None:
        n = self._recv_into(self._chunk)
        if n == 0:
            raise ServerClosed("server closed the connection")
        self._buf += self._chunk[:n]

    def status_line(self) -> bytes:
        """One response line without its CRLF (``+OK ...``, ``-ERR ...``, ``+ ...``)."""
        start = 0
        while True:
            end = self._buf.find(b"\r\n", start)
            if end >= 0:
                line = bytes(self._buf[:end])
                del self._buf[: end + 2]
                return line
            if len(self._buf) > MAX_STATUS_LINE:
                raise WireError(f"response line longer than {MAX_STATUS_LINE} bytes")
            start = max(0, len(self._buf) - 1)
            self._fill()

    def multiline(self, limit: int = MAX_BODY) -> bytes:
        """The body of a multi-line response, dot-unstuffed, every line CRLF-terminated.

        RFC 1939 §3: the body ends with a line holding a single ``.``, and any
        line of the body that begins with ``.`` has had one more ``.`` put in
        front of it.  The terminating line is not part of the result.

        `TooLong` once the body (as sent) is known to exceed ``limit`` octets:
        at most the limit plus one chunk is ever held.
        """
        buf = self._buf
        searched = 0
        while True:
            if buf.startswith(_EMPTY_BODY):
                del buf[: len(_EMPTY_BODY)]
                return b""
            # The terminator may straddle two chunks: look back 4 bytes.
            end = buf.find(_TERMINATOR, max(0, searched - len(_TERMINATOR) + 1))
            if end >= 0:
                break
            searched = len(buf)
            # No terminator yet: it can start at the last 4 bytes at the earliest, so
            # the body (which keeps the CRLF before it) is at least len - 2 octets.
            if searched - 2 > limit:
                raise TooLong(limit, searched)
            self._fill()
            buf = self._buf
        if end + 2 > limit:
            raise TooLong(limit, len(buf))
        # Keep what follows the terminator (a pipelined response), drop the
        # terminator, and keep the CRLF of the last body line.
        self._buf = buf[end + len(_TERMINATOR) :]
        del buf[end + 2 :]
        return unstuff(buf)


def unstuff(body: bytearray) -> bytes:
    """Undo RFC 1939 §3 byte-stuffing: a leading ``..`` becomes ``.`` on every line.

    Consumes ``body``: it is emptied so that at most two copies of a big
    message exist at any moment.
    """
    if body.startswith(b".."):
        del body[0]
    data = bytes(body)
    body.clear()
    if b"\r\n.." in data:
        data = data.replace(b"\r\n..", b"\r\n.")
    return data


def parse_listing(body: bytes) -> dict[int, bytes]:
    """``LIST``/``UIDL`` bodies (RFC 1939 §5, §7): ``<number> <value>`` per line."""
    entries: dict[int, bytes] = {}
    for line in body.split(b"\r\n"):
        if not line:
            continue
        number, _, value = line.strip().partition(b" ")
        if not number.isdigit() or not value:
            shown = for_terminal(line[:80].decode("utf-8", "replace"))
            raise WireError(f"malformed listing line '{shown}'")
        entries[int(number)] = value.strip()
    return entries
