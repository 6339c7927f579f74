"""`postroom run` (the whole service) and `postroom poll` (one round, then exit)."""

from __future__ import annotations

import logging
import multiprocessing
import os
import signal
import threading
from datetime import timedelta
from types import FrameType
from typing import Annotated

import typer

from postroom.cli.options import JsonOpt
from postroom.cli.output import TerminalFormatter, echo, print_json, shown
from postroom.cli.state import current_app
from postroom.services.ingest import utcnow
from postroom.services.items import ItemService


def _serve(max_connections: int, workers: int, tick: float, stop: threading.Event) -> None:
    application = current_app()
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
        application = current_app()
        application.engine  # noqa: B018 - create or upgrade the schema once, before the workers
        swept = application.blobs.sweep_temporaries()
        if swept:
            logging.getLogger("postroom.blobs").info("removed %d unfinished blob file(s)", swept)
        # The workers are forked copies of this process, started in milliseconds with
        # Postroom already imported (spawned ones took ~1 s each, the other cores idle
        # meanwhile). No thread runs yet and no database connection is carried over:
        # each worker opens its own.
        application.engine.dispose()
        ctx = multiprocessing.get_context("fork")
        children = [
            ctx.Process(target=_worker, args=(max_connections, workers, tick), daemon=True)
            for _ in range(workers - 1)
        ]
        for child in children:
            child.start()
        stop = threading.Event()

        def _stop(signum: int, _frame: FrameType | None) -> None:
            stop.set()

        signal.signal(signal.SIGINT, _stop)
        signal.signal(signal.SIGTERM, _stop)
        home = application.settings.home
        echo(f"postroom running: {workers} process(es), data in {shown(home)}", err=True)
        _serve(max_connections, workers, tick, stop)
        for child in children:
            if child.pid is not None:
                os.kill(child.pid, signal.SIGTERM)
        for child in children:
            child.join(timeout=30)
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
