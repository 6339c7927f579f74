"""The whole service: one parent process and ``processes - 1`` workers.

Each process polls, handles and sends. A database that goes away stops none of them:
each backs off and reconnects (`Scheduler.run`), and one started while the database
is down waits for it the same way (`startup`). The parent polls too and watches the
workers (`WorkerPool`), the web process among them when the door gave a listening
socket (`web_process`); a stop request (SIGTERM, SIGINT) stops all.
"""

from __future__ import annotations

import logging
import threading

from postroom.runtime.process import ProcessOptions, serve
from postroom.runtime.signals import exit_now
from postroom.runtime.startup import opened
from postroom.runtime.web_process import NAME as WEB_NAME
from postroom.runtime.web_process import WebOptions, web_worker
from postroom.runtime.welcome import Started
from postroom.runtime.workers import Slot, WorkerPool


class Service:
    """`prepare` (once the database is there), `start` the workers, then `serve` until
    ``stop`` is set."""

    def __init__(
        self, options: ProcessOptions, stop: threading.Event, web: WebOptions | None = None
    ) -> None:
        self.options = options
        self.stop = stop
        self.web = web
        """The HTTP service's socket and application; None: pollers and sender only."""
        self.workers: WorkerPool | None = None

    def prepare(self) -> Started | None:
        """Create or upgrade the schema once, before the workers (waiting for the database),
        and remove the blob files a crash left unfinished; what the service starts with,
        or None when stopped before the database came."""
        application = opened(self.stop)
        if application is None:
            return None
        swept = application.blobs.sweep_temporaries()
        if swept:
            logging.getLogger("postroom.blobs").info("removed %d unfinished blob file(s)", swept)
        # The workers are forked copies of this process, started in milliseconds with
        # Postroom already imported (spawned ones took ~1 s each, the other cores idle
        # meanwhile). No thread runs yet and no database connection is carried over:
        # each worker opens its own.
        channels = application.channels.list()
        enabled = sum(1 for channel in channels if channel.enabled)
        started = Started(application.settings.home, self.options.processes, len(channels), enabled)
        if self.web is not None:
            started.web(self.web.address, application.accounts.signup_token())
        application.engine.dispose()
        return started

    def start(self) -> WorkerPool:
        """Fork the workers (before any thread of this process runs)."""
        web = (
            ()
            if self.web is None
            else (Slot("web", web_worker, (self.options, self.web), title=WEB_NAME),)
        )
        self.workers = WorkerPool(self.options.processes - 1, self.options, self.stop, web)
        return self.workers

    def stop_now(self, signum: int) -> None:
        """A second stop signal: kill the workers and leave at once (`runtime.signals`)."""
        exit_now(signum, lambda: self.workers.kill() if self.workers else None)

    def serve(self) -> None:
        """Watch the workers, serve in this process too, and stop them all at the end."""
        workers = self.workers or self.start()
        try:
            workers.watch()
            serve(self.options, self.stop, parent=True)
        finally:
            self.stop.set()
            workers.terminate()
