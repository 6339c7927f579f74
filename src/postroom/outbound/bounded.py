"""SMTP clients whose every reply is bounded in lines, octets and time.

`smtplib` reads a reply line by line with a cap on each line only: a server that sends
``250-`` continuation lines for ever grows the client's memory without end, and one that
trickles a byte just before each socket timeout holds the connection (and the outbox lane
using it) for as long as it likes, since the timeout restarts with every byte. A server is
attacker-controlled input like mail, so here one reply is at most `MAX_REPLY_LINES` lines,
`MAX_REPLY_OCTETS` octets, and arrives within the client's timeout from its first read:
each receive waits only for what is left of that budget. A reply past a bound ends the
connection (`SMTPServerDisconnected` or a timeout, which the adapter translates), as
`smtplib` does for an over-long line.

Bytes the server sent before STARTTLS's answer was read and after it are thrown away when
TLS starts, so nothing sent in cleartext is read as if it came over TLS.
"""

from __future__ import annotations

import smtplib
import socket
import time
from typing import Any

MAX_REPLY_LINES = 200
"""Lines of one reply (EHLO answers run to some 20; RFC 5321 sets no limit)."""
MAX_LINE_OCTETS = 8192
"""One reply line, as `smtplib` allows (RFC 5321 §4.5.3.1.5 says 512)."""
MAX_REPLY_OCTETS = 64 * 1024
"""All the lines of one reply."""
_RECEIVE = 16 * 1024
_DEFAULT_SECONDS = 300.0
"""A reply's budget when the client was made without a timeout."""


class BoundedReplies(smtplib.SMTP):
    """`smtplib.SMTP` with replies bounded in lines, octets and time (module docstring)."""

    _pending: bytes = b""

    def getreply(self) -> tuple[int, bytes]:
        sock = self.sock
        if sock is None:
            raise smtplib.SMTPServerDisconnected("please run connect() first")
        deadline = time.monotonic() + self._reply_seconds()
        lines: list[bytes] = []
        total = 0
        code = -1
        while True:
            line = self._line(sock, deadline)
            total += len(line)
            if len(line) > MAX_LINE_OCTETS:
                self.close()
                raise smtplib.SMTPResponseException(500, "Line too long.")
            if total > MAX_REPLY_OCTETS or len(lines) >= MAX_REPLY_LINES:
                self.close()
                raise smtplib.SMTPResponseException(500, "Reply too long.")
            lines.append(line[4:].strip(b" \t\r\n"))
            try:
                code = int(line[:3])
            except ValueError:
                code = -1
                break
            if line[3:4] != b"-":
                break
        return code, b"\n".join(lines)

    def starttls(self, *args: Any, **kwargs: Any) -> tuple[int, bytes]:
        answer: tuple[int, bytes] = super().starttls(*args, **kwargs)
        self._pending = b""
        return answer

    def close(self) -> None:
        self._pending = b""
        super().close()

    def _reply_seconds(self) -> float:
        timeout = getattr(self, "timeout", None)
        if isinstance(timeout, int | float) and timeout > 0:
            return float(timeout)
        return _DEFAULT_SECONDS

    def _line(self, sock: socket.socket, deadline: float) -> bytes:
        """One line (with its end), waiting at most until ``deadline`` for all of it."""
        buffer = self._pending
        start = 0
        while True:
            end = buffer.find(b"\n", start)
            if end >= 0:
                self._pending = buffer[end + 1 :]
                return buffer[: end + 1]
            if len(buffer) > MAX_LINE_OCTETS:
                self._pending = b""
                return buffer
            start = len(buffer)
            left = deadline - time.monotonic()
            if left <= 0:
                self.close()
                raise TimeoutError("the SMTP server's reply did not arrive in time")
            before = sock.gettimeout()
            try:
                sock.settimeout(min(left, before) if before is not None else left)
                chunk = sock.recv(_RECEIVE)
            except OSError as exc:
                self.close()
                if isinstance(exc, TimeoutError):
                    raise
                raise smtplib.SMTPServerDisconnected(
                    f"Connection unexpectedly closed: {exc}"
                ) from exc
            sock.settimeout(before)
            if not chunk:
                self.close()
                raise smtplib.SMTPServerDisconnected("Connection unexpectedly closed")
            buffer += chunk


class BoundedSMTP(BoundedReplies):
    """A cleartext (or STARTTLS) client with bounded replies."""


class BoundedSMTPS(BoundedReplies, smtplib.SMTP_SSL):
    """An implicit-TLS client with bounded replies."""
