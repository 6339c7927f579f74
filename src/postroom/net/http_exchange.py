"""One HTTP request and its answer within one deadline (the OAuth2 token endpoint's half).

``urllib`` bounds each socket operation by its ``timeout``, not the exchange: a server that
sends one byte every ``timeout - 1`` seconds keeps a status line, its headers or its body
coming for hours. Here the connection, the TLS handshake, the request and every read of the
answer wait at most what is left of one `Deadline`; past it, `Overdue` (a `TimeoutError`):
the connections of `net.deadline_http`.

The rest is urllib's: its proxies, redirects and TLS verification (the default context).
"""

from __future__ import annotations

import http.client
import urllib.error
import urllib.request
from functools import partial

from postroom.net.deadline_http import (
    Deadline,
    DeadlineHTTPConnection,
    DeadlineHTTPSConnection,
    Overdue,
)

__all__ = ["Deadline", "Overdue", "exchange"]


class _HttpHandler(urllib.request.HTTPHandler):
    def __init__(self, deadline: Deadline) -> None:
        super().__init__()
        self._deadline = deadline

    def http_open(self, req: urllib.request.Request) -> http.client.HTTPResponse:
        return self.do_open(partial(DeadlineHTTPConnection, deadline=self._deadline), req)


class _HttpsHandler(urllib.request.HTTPSHandler):
    def __init__(self, deadline: Deadline) -> None:
        super().__init__()
        self._deadline = deadline

    def https_open(self, req: urllib.request.Request) -> http.client.HTTPResponse:
        context = getattr(self, "_context", None)
        return self.do_open(
            partial(DeadlineHTTPSConnection, deadline=self._deadline), req, context=context
        )


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
