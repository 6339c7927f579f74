"""`postroom run` (the whole service) and `postroom poll` (one round, then exit).

`postroom run` is one parent process and ``--workers - 1`` workers, each polling,
handling and sending. A database that goes away stops none of them: each backs
off and reconnects (`Scheduler.run`), and one started while the database is down
waits for it the same way. A worker that dies anyway (killed, out of memory, a
crash in a C library) is started again by the parent, 1 s later, then 2 s, 4 s ...
at most 30 s apart while it keeps dying, so its share of the mailboxes is polled
again; the others go on meanwhile. The parent polls too; SIGTERM or SIGINT stops all.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import signal
import threading
import time
from datetime import timedelta
from multiprocessing.process import BaseProcess
from types import FrameType
from typing import Annotated

import typer

from postroom.bootstrap import App
from postroom.cli.options import JsonOpt
from postroom.cli.output import TerminalFormatter, echo, print_json, shown
from postroom.cli.state import current_app
from postroom.errors import StorageUnavailableError
from postroom.services.ingest import utcnow
from postroom.services.items import ItemService
from postroom.services.outage import Outage

log = logging.getLogger("postroom.run")


def _opened(stop: threading.Event) -> App | None:
    """The application once its database can be opened (None when stopped meanwhile)."""
    outage = Outage(log, "storage")
    while not stop.is_set():
        application = current_app()
        try:
            application.engine  # noqa: B018 - opens the database, upgrades the schema
        except StorageUnavailableError as exc:
            outage.failed(exc)
            stop.wait(outage.wait(Outage.LONGEST))
            continue
        outage.succeeded("the database is back")
        return application
    return None


def _serve(max_connections: int, workers: int, tick: float, stop: threading.Event) -> None:
    application = _opened(stop)
    if application is None:
        return
    items = ItemService(application.engine, actor="service")
    feedback = timedelta(days=application.settings.feedback_days)

    sender = application.sender

    def housekeeping() -> None:
        items.close_after_feedback(utcnow(), feedback)
        report = sender.send_due(utcnow())
        if report.errors:
            logging.getLogger("postroom.send").warning("outbox: %s", "; ".join(report.errors))

    application.scheduler(max_connections, workers).run(stop, tick, housekeeping)


def _logging() -> None:
    """Log lines (which quote servers' errors and messages' ids) on stderr, escaped."""
    handler = logging.StreamHandler()
    handler.setFormatter(
        TerminalFormatter("%(asctime)s %(process)d %(levelname)s %(name)s %(message)s")
    )
    logging.basicConfig(level=logging.INFO, handlers=[handler])
    logging.getLogger("alembic").setLevel(logging.WARNING)


def _worker(max_connections: int, workers: int, tick: float) -> None:
    _logging()
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    _serve(max_connections, workers, tick, stop)


class _Workers:
    """The worker processes of `postroom run`: started, watched, started again when one dies.

    The first ones are forked (started in milliseconds, Postroom already imported),
    before any thread runs. A replacement is spawned — a fresh interpreter, ~1 s —
    because by then the parent has threads, and a fork would copy the locks they hold.
    """

    FIRST = 1.0
    LONGEST = 30.0
    STEADY = 60.0
    """A worker that lived this long before dying is started again after `FIRST` seconds."""

    def __init__(self, count: int, args: tuple[int, int, float], stop: threading.Event) -> None:
        self.args = args
        self.stop = stop
        fork = multiprocessing.get_context("fork")
        self.slots: list[BaseProcess] = [
            fork.Process(target=_worker, args=args, daemon=True) for _ in range(count)
        ]
        for child in self.slots:
            child.start()
        self.started = [time.monotonic()] * count
        self.delays = [0.0] * count

    def watch(self) -> None:
        threading.Thread(target=self._watch, name="workers", daemon=True).start()

    def _watch(self) -> None:
        spawn = multiprocessing.get_context("spawn")
        due: dict[int, float] = {}
        while not self.stop.wait(0.5):
            for slot, child in enumerate(self.slots):
                if slot in due:
                    if time.monotonic() >= due[slot] and not self.stop.is_set():
                        del due[slot]
                        again = spawn.Process(target=_worker, args=self.args, daemon=True)
                        again.start()
                        self.slots[slot], self.started[slot] = again, time.monotonic()
                        log.warning("worker process %s started", again.pid)
                elif not child.is_alive():
                    lived = time.monotonic() - self.started[slot]
                    delay = self.FIRST if lived >= self.STEADY else self.delays[slot] * 2
                    self.delays[slot] = delay = min(max(delay, self.FIRST), self.LONGEST)
                    due[slot] = time.monotonic() + delay
                    log.error(
                        "worker process %s exited (code %s); starting another in %d s",
                        child.pid,
                        child.exitcode,
                        delay,
                    )

    def terminate(self) -> None:
        for child in self.slots:
            if child.pid is not None and child.is_alive():
                os.kill(child.pid, signal.SIGTERM)
        for child in self.slots:
            if child.pid is not None:
                child.join(timeout=30)


def register(app: typer.Typer) -> None:
    @app.command()
    def run(
        workers: Annotated[
            int, typer.Option(min=1, help="processes (each polls, handles and sends)")
        ] = max(1, os.cpu_count() or 1),
        max_connections: Annotated[
            int, typer.Option(min=1, help="mailbox connections per process at once")
        ] = 8,
        tick: Annotated[float, typer.Option(help="seconds between scheduling rounds")] = 1.0,
    ) -> None:
        """Run the service until SIGINT/SIGTERM: polls channels, handles mail, sends the outbox."""
        _logging()
        stop = threading.Event()

        def _stop(signum: int, _frame: FrameType | None) -> None:
            stop.set()

        signal.signal(signal.SIGINT, _stop)
        signal.signal(signal.SIGTERM, _stop)
        # Create or upgrade the schema once, before the workers (waiting for the database).
        application = _opened(stop)
        if application is None:
            echo("postroom stopped", err=True)
            return
        swept = application.blobs.sweep_temporaries()
        if swept:
            logging.getLogger("postroom.blobs").info("removed %d unfinished blob file(s)", swept)
        # The workers are forked copies of this process, started in milliseconds with
        # Postroom already imported (spawned ones took ~1 s each, the other cores idle
        # meanwhile). No thread runs yet and no database connection is carried over:
        # each worker opens its own.
        application.engine.dispose()
        children = _Workers(workers - 1, (max_connections, workers, tick), stop)
        home = application.settings.home
        echo(f"postroom running: {workers} process(es), data in {shown(home)}", err=True)
        try:
            children.watch()
            _serve(max_connections, workers, tick, stop)
        finally:
            stop.set()
            children.terminate()
        echo("postroom stopped", err=True)

    @app.command()
    def poll(
        channel: Annotated[list[str] | None, typer.Option(help="only this channel")] = None,
        max_connections: Annotated[int, typer.Option(min=1, help="connections at once")] = 8,
        as_json: JsonOpt = False,
    ) -> None:
        """One poll of every enabled channel (or the named ones), then exit."""
        reports = current_app().scheduler(max_connections).poll_once(channel)
        if as_json:
            print_json([r.to_json() for r in reports])
        else:
            for r in reports:
                line = (
                    f"{shown(r.channel)}: fetched {r.fetched}, handled {r.handled}, "
                    f"quarantined {r.quarantined}, duplicates {r.duplicates + r.deleted_known}"
                )
                if r.remaining:
                    line += f", {r.remaining} left for the next round"
                if r.errors:
                    errors = "; ".join(shown(e) for e in r.errors)
                    line += f", error ({shown(r.error_class)}): {errors}"
                if r.switched_off:
                    line += " — channel switched off"
                if r.skipped:
                    line += f" (skipped: {shown(r.skipped)})"
                echo(line)
        if any(r.errors for r in reports):
            raise SystemExit(1)
