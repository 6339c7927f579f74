"""HTTP connections bounded by one deadline: connect, TLS handshake, request and every read.

A socket ``timeout`` bounds each operation, not the exchange: a server that sends one byte
every ``timeout - 1`` seconds keeps a status line, its headers or its body coming for
hours. Through these connections each operation waits at most what is left of one
`Deadline`; past it, `Overdue` (a `TimeoutError`). Only ``http.client``: the MTA's
`postroom ingest --url` process uses them and imports nothing more
(`net.http_exchange` puts urllib's handlers over them for the OAuth2 token endpoint).
"""

from __future__ import annotations

import http.client
import io
import socket
import time
from typing import Any


class Overdue(TimeoutError):
    """The exchange's deadline passed."""


class Deadline:
    """``seconds`` from now on the monotonic clock."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self._end = time.monotonic() + seconds

    def left(self) -> float:
        """Seconds left; `Overdue` when none are."""
        left = self._end - time.monotonic()
        if left <= 0:
            raise Overdue(f"no answer within {self.seconds:g} s")
        return left

    def connect(
        self, address: tuple[str, int], timeout: object = None, source: Any = None
    ) -> socket.socket:
        """A TCP connection in the time left, its timeout then the time left (which bounds
        the TLS handshake that may follow)."""
        sock = socket.create_connection(address, self.left(), source)
        try:
            sock.settimeout(self.left())
        except BaseException:
            sock.close()
            raise
        return sock


class _Reader(io.RawIOBase):
    """The socket's bytes, each read waiting at most the time left. Through the socket's
    own `socket.SocketIO`, which keeps it open until the answer is read (urllib closes
    the connection's socket as soon as the answer's head is in)."""

    def __init__(self, sock: socket.socket, deadline: Deadline) -> None:
        self._sock, self._deadline = sock, deadline
        self._raw = sock.makefile("rb", buffering=0)

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        self._sock.settimeout(self._deadline.left())
        return self._raw.readinto(buffer) or 0

    def close(self) -> None:
        self._raw.close()
        super().close()


class _Timed:
    """The socket as http.client uses it (``sendall``, ``makefile``, ``close``), each
    operation bounded by the deadline."""

    def __init__(self, sock: socket.socket, deadline: Deadline) -> None:
        self._sock, self._deadline = sock, deadline

    def sendall(self, data: Any) -> None:
        self._sock.settimeout(self._deadline.left())
        self._sock.sendall(data)

    def makefile(self, mode: str = "rb", *_args: object, **_kw: object) -> io.BufferedReader:
        return io.BufferedReader(_Reader(self._sock, self._deadline))

    def close(self) -> None:
        self._sock.close()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._sock, name)


class DeadlineHTTPConnection(http.client.HTTPConnection):
    """An HTTP connection whose connect, TLS handshake, sends and reads all wait at most
    what is left of ``deadline``."""

    def __init__(self, host: str, *, deadline: Deadline, **kw: Any) -> None:
        super().__init__(host, **kw)
        self._deadline = deadline
        self._create_connection = deadline.connect

    def connect(self) -> None:
        super().connect()
        self.sock = _Timed(self.sock, self._deadline)


class DeadlineHTTPSConnection(DeadlineHTTPConnection, http.client.HTTPSConnection):
    """`DeadlineHTTPConnection` over TLS: its ``connect`` is HTTPSConnection's (the
    handshake) inside the deadline, then the TLS socket is read within it."""
