"""The HTTP service inside `postroom run`: a process of its own beside the pollers.

In its own process a slow request (a large upload, a connection check of 60 s, a page
that reads many items) never holds the interpreter a poll needs, and a crash in it
stops no poll: the parent starts it again as it does a worker (`workers`). The door
binds the listening socket before anything starts (a port in use is one line, nothing
started) and names the application to serve (`WebOptions.app`, built in this process
on its own database connections); this process serves that socket with uvicorn.

Signals follow `runtime.signals`: uvicorn's own handlers are not installed; SIGINT is
the parent's to hear, the parent's SIGTERM sets the stop event, and a thread turns it
into uvicorn's ``should_exit`` (open requests get `WebOptions.GRACE` seconds). Before
the server runs (its framework imported in this process, so the pollers' parent starts
no slower) a stop request ends the process at once: nothing is under way yet.

The process is named ``postroom-web`` (``ps -o comm``, ``top``), the pollers keeping the
interpreter's name, so a person (or a test) tells them apart.

Each request is one log line (event ``http.request``): method, path without its query
string (a sign-up link's token is there), status and milliseconds.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from collections.abc import Awaitable, Callable, Generator, MutableMapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from postroom.bootstrap import App
from postroom.runtime.naming import named
from postroom.runtime.process import ProcessOptions
from postroom.runtime.signals import worker_signals
from postroom.runtime.startup import opened

log = logging.getLogger("postroom.web.requests")

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

NAME = b"postroom-web"
"""The web process's name as the system shows it."""
_PATH_SHOWN = 200
"""Characters of a request's path in its log line at most."""


@dataclass(frozen=True)
class WebOptions:
    """What the web process is given; picklable (a replacement is spawned)."""

    sock: socket.socket
    """Bound and listening, made by the door before anything started."""
    address: str
    """``HOST:PORT`` as a person types it in a browser."""
    app: Callable[[App], ASGIApp]
    """Builds the web application on this process's `App` (a module-level function)."""

    GRACE = 5
    """Seconds open requests have to end after the stop request."""


def web_worker(options: ProcessOptions, web: WebOptions) -> None:
    """The target of the web process: its signals, its logging, then serve until stopped."""
    stop = threading.Event()
    worker_signals(stop)
    named(NAME)  # a spawned replacement (a forked one was born with the name)
    options.logs()
    serving = threading.Event()
    threading.Thread(target=_leave_unless_serving, args=(stop, serving), daemon=True).start()
    application = opened(stop)
    if application is None:
        return
    app = RequestLog(web.app(application))
    serving.set()
    serve_http(app, web.sock, stop, web.GRACE)


def _leave_unless_serving(stop: threading.Event, serving: threading.Event) -> None:
    """A stop request before the server runs (while the framework is still being imported,
    seconds on a busy machine): nothing is under way, so the process leaves at once."""
    stop.wait()
    if not serving.is_set():
        os._exit(0)


def serve_http(app: ASGIApp, sock: socket.socket, stop: threading.Event, grace: float) -> None:
    """Serve ``app`` on ``sock`` with uvicorn until ``stop`` is set."""
    import uvicorn

    class Server(uvicorn.Server):
        @contextmanager
        def capture_signals(self) -> Generator[None, None, None]:
            yield  # the process's signals are `runtime.signals`'s (rule 1)

    config = uvicorn.Config(
        app,
        log_config=None,  # the door's logging stays as it is
        log_level="warning",
        access_log=False,  # `RequestLog` logs each request without its query string
        server_header=False,
        proxy_headers=True,
        timeout_graceful_shutdown=int(grace),
    )
    server = Server(config)

    def stopping() -> None:
        stop.wait()
        server.should_exit = True

    threading.Thread(target=stopping, name="web-stop", daemon=True).start()
    server.run(sockets=[sock])


class RequestLog:
    """ASGI middleware: one line per HTTP request once it is answered."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope.get("type") != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 0

        async def sending(message: Message) -> None:
            nonlocal status
            if message.get("type") == "http.response.start":
                status = int(message.get("status", 0))
            await send(message)

        try:
            await self.app(scope, receive, sending)
        finally:
            method = str(scope.get("method", "?"))[:16]
            path = str(scope.get("path", ""))[:_PATH_SHOWN]
            ms = round((time.perf_counter() - started) * 1000, 1)
            log.info(
                "%s %s %d %.1f ms",
                method,
                path,
                status,
                ms,
                extra={
                    "event": "http.request",
                    "data": {"method": method, "path": path, "status": status, "ms": ms},
                },
            )
