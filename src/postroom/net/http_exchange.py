"""One HTTP request and its answer within one deadline (the OAuth2 token endpoint's half).

``urllib`` bounds each socket operation by its ``timeout``, not the exchange: a server that
sends one byte every ``timeout - 1`` seconds keeps a status line, its headers or its body
coming for hours. Here the connection, the TLS handshake, the request and every read of the
answer wait at most what is left of one `Deadline`; past it, `Overdue` (a `TimeoutError`).

The rest is urllib's: its proxies, redirects and TLS verification (the default context).
"""

from __future__ import annotations

import http.client
import io
import socket
import time
import urllib.error
import urllib.request
from functools import partial
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


class _Http(http.client.HTTPConnection):
    def __init__(self, host: str, *, deadline: Deadline, **kw: Any) -> None:
        super().__init__(host, **kw)
        self._deadline = deadline
        self._create_connection = deadline.connect

    def connect(self) -> None:
        super().connect()
        self.sock = _Timed(self.sock, self._deadline)


class _Https(_Http, http.client.HTTPSConnection):
    """`_Http` over TLS: its ``connect`` is HTTPSConnection's (the handshake) inside the
    deadline, then the TLS socket is read within it."""


class _HttpHandler(urllib.request.HTTPHandler):
    def __init__(self, deadline: Deadline) -> None:
        super().__init__()
        self._deadline = deadline

    def http_open(self, req: urllib.request.Request) -> http.client.HTTPResponse:
        return self.do_open(partial(_Http, deadline=self._deadline), req)


class _HttpsHandler(urllib.request.HTTPSHandler):
    def __init__(self, deadline: Deadline) -> None:
        super().__init__()
        self._deadline = deadline

    def https_open(self, req: urllib.request.Request) -> http.client.HTTPResponse:
        context = getattr(self, "_context", None)
        return self.do_open(partial(_Https, deadline=self._deadline), req, context=context)


def exchange(request: urllib.request.Request, seconds: float, limit: int) -> tuple[int, bytes]:
    """The answer's status and at most ``limit`` octets of its body (an error status's
    too), all within ``seconds``: `Overdue` past them (also for a connection that timed out);
    other failures as urllib raises them (`urllib.error.URLError`, `OSError`)."""
    deadline = Deadline(seconds)
    opener = urllib.request.build_opener(_HttpHandler(deadline), _HttpsHandler(deadline))
    try:
        try:
            with opener.open(request, timeout=seconds) as answer:
                return int(answer.status), answer.read(limit)
        except urllib.error.HTTPError as refused:
            with refused:
                return refused.code, refused.read(limit)
    except urllib.error.URLError as exc:
        if isinstance(exc.reason, TimeoutError):
            raise Overdue(f"no answer within {seconds:g} s") from None
        raise
    except TimeoutError as exc:
        raise Overdue(f"no answer within {seconds:g} s") from exc
