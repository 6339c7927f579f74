"""``imaplib`` with every byte from the server bounded: line length, literal size, the bytes
and the seconds one command may take.

``imaplib`` parses IMAP well (literals, quoting, untagged responses), but reads with
``file.readline(1_000_000)`` and ``file.read(n)`` for whatever ``{n}`` a server announces, and
waits ``timeout`` per ``recv``, so a server that drips one byte at a time holds it for ever.
Its documented hooks ``read`` and ``readline`` are replaced here by a reader that takes the
socket's bytes in big chunks and checks, before each ``recv``:

* a line (outside a literal) longer than the line limit: `WireTooLong`;
* a literal over the message limit (``POSTROOM_MAX_MESSAGE_BYTES``): `LiteralTooLarge`,
  before any of it is read (the session is then unusable: the rest is still coming);
* more bytes in one command's response than its budget: `WireTooLong`;
* a command running past its time budget: `TimeoutError`.

Every one of them leaves the connection out of step: the caller drops it.
"""

from __future__ import annotations

import contextlib
import imaplib
import re
import socket
import ssl
import time
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from typing_extensions import Buffer  # typeshed's name; collections.abc has it from 3.12

CHUNK = 256 * 1024
"""Bytes asked from the socket per ``recv``."""

_LITERAL = re.compile(rb"\{(\d{1,20})\}\r\n\Z")
_UID = re.compile(rb"\bUID (\d{1,10})\b")


class WireTooLong(Exception):
    """The server sent more than a limit allows (a line, or one command's response)."""


class LiteralTooLarge(WireTooLong):
    """A literal (a message) over the message limit was announced; none of it was read."""

    def __init__(self, size: int, limit: int, uid: int | None) -> None:
        super().__init__(f"a literal of {size} bytes is over the limit of {limit} bytes")
        self.size = size
        self.limit = limit
        self.uid = uid
        """The UID on the line that announced it, if the server put it before the literal."""


class BoundedImap(imaplib.IMAP4):
    """An IMAP4 client on a socket connected (and, for imaps, wrapped) by the caller."""

    def __init__(
        self,
        sock: socket.socket,
        host: str,
        *,
        timeout: float,
        max_line: int,
        max_literal: int,
    ) -> None:
        self._given: socket.socket | None = sock
        self._timeout = timeout
        self.timeout_s = timeout
        """Seconds one command may take (connect, each answer)."""
        self.max_line = max_line
        self.max_literal = max_literal
        self._buf = bytearray()
        self._chunk = memoryview(bytearray(CHUNK))
        self._deadline = time.monotonic() + timeout
        self._left = max_line
        self._last_line = b""
        # Connecting reads the greeting and asks for CAPABILITY, under one budget.
        super().__init__(host, 0, timeout)

    def _create_socket(self, timeout: float | None) -> socket.socket:
        sock, self._given = self._given, None
        assert sock is not None
        return sock

    def budget(self, seconds: float, octets: int) -> None:
        """The next command's response may take ``seconds`` and ``octets`` at most."""
        self._deadline = time.monotonic() + seconds
        self._left = octets

    @property
    def buffered(self) -> int:
        """Bytes received and not yet read (must be none when TLS starts)."""
        return len(self._buf)

    # -- imaplib's hooks ---------------------------------------------------------------

    def readline(self) -> bytes:
        buf = self._buf
        start = 0
        while True:
            end = buf.find(b"\n", start)
            if end >= 0:
                line = bytes(buf[: end + 1])
                del buf[: end + 1]
                self._spend(len(line))
                self._last_line = line[:200]
                self._check_literal(line)
                return line
            if len(buf) > self.max_line:
                raise WireTooLong(f"a response line longer than {self.max_line} bytes")
            start = len(buf)
            if not self._fill():
                line = bytes(buf)  # imaplib reports the EOF (an unterminated line)
                buf.clear()
                return line

    def read(self, size: int) -> bytes:
        if size > self.max_literal:  # _check_literal raised already; a second guard
            raise LiteralTooLarge(size, self.max_literal, None)
        while len(self._buf) < size:
            if not self._fill():
                break
        data = bytes(self._buf[:size])
        del self._buf[:size]
        self._spend(len(data))
        return data

    def send(self, data: Buffer) -> None:
        self._arm()
        super().send(data)

    def shutdown(self) -> None:
        self._buf.clear()
        with contextlib.suppress(OSError):
            super().shutdown()

    def starttls(self, ssl_context: ssl.SSLContext | None = None) -> Any:
        """STARTTLS (RFC 9051 §6.2.1), refusing bytes the server sent before the handshake
        (they would be read as if they came over TLS: a command injection)."""
        if ssl_context is None:
            raise self.error("a TLS context is required")
        typ, dat = self._simple_command("STARTTLS")
        if typ != "OK":
            raise self.error("the server refused STARTTLS")
        if self._buf:
            raise self.abort("the server sent data after its STARTTLS answer, before TLS")
        self.sock = ssl_context.wrap_socket(self.sock, server_hostname=self.host)
        self.file = self.sock.makefile("rb")
        self._tls_established = True
        self._get_capabilities()
        return typ, dat

    # -- the bounded reader ------------------------------------------------------------

    def _arm(self) -> None:
        remaining = self._deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError("the command's time budget ran out")
        self.sock.settimeout(min(self._timeout, remaining))

    def _fill(self) -> bool:
        self._arm()
        n = self.sock.recv_into(self._chunk)
        if n == 0:
            return False
        self._buf += self._chunk[:n]
        return True

    def _spend(self, n: int) -> None:
        self._left -= n
        if self._left < 0:
            raise WireTooLong("the server's answer to one command went past its budget")

    def _check_literal(self, line: bytes) -> None:
        found = _LITERAL.search(line[-24:])
        if found is None:
            return
        size = int(found.group(1))
        if size > self.max_literal:
            uid = _UID.search(line[:200])
            raise LiteralTooLarge(size, self.max_literal, int(uid.group(1)) if uid else None)
