"""`postroom run` (the whole service) and `postroom poll` (one round, then exit).

The service itself — its processes, signals, restarts and housekeeping — is
`postroom.runtime`; these commands read flags, hand them over and print.
"""

from __future__ import annotations

import logging
import os
import threading
from typing import Annotated

import typer

from postroom.cli.options import JsonOpt
from postroom.cli.output import TerminalFormatter, echo, print_json, shown
from postroom.cli.progress import Progress
from postroom.cli.state import current_app
from postroom.runtime.process import ProcessOptions
from postroom.runtime.service import Service
from postroom.runtime.signals import STOPPING, StopSignals, exit_now, stop_on_signals
from postroom.services.poll_report import ChannelReport


def configure_logging() -> None:
    """Log lines (which quote servers' errors and messages' ids) on stderr, escaped."""
    handler = logging.StreamHandler()
    handler.setFormatter(
        TerminalFormatter("%(asctime)s %(process)d %(levelname)s %(name)s %(message)s")
    )
    logging.basicConfig(level=logging.INFO, handlers=[handler])
    logging.getLogger("alembic").setLevel(logging.WARNING)


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
        heartbeat: Annotated[
            float, typer.Option(min=1, help="seconds of silence before an 'idle' log line")
        ] = 60.0,
    ) -> None:
        """Run the service until SIGINT/SIGTERM: polls channels, handles mail, sends the outbox."""
        configure_logging()
        stop = threading.Event()
        signals = stop_on_signals(stop)
        service = Service(
            ProcessOptions(max_connections, workers, tick, configure_logging, heartbeat), stop
        )
        signals.on_second(service.stop_now)
        started = service.prepare()
        if started is None:
            echo("postroom stopped", err=True)
            return
        service.start()
        for line in started.lines():
            echo(line, err=True)
        service.serve()
        echo("postroom stopped", err=True)

    @app.command()
    def poll(
        channel: Annotated[list[str] | None, typer.Option(help="only this channel")] = None,
        max_connections: Annotated[int, typer.Option(min=1, help="connections at once")] = 8,
        as_json: JsonOpt = False,
    ) -> None:
        """One poll of every enabled channel (or the named ones), then exit. On a terminal a
        progress line per channel; Ctrl-C stores what was fetched and says what is left."""
        application = current_app()
        scheduler = application.scheduler(max_connections)
        stopping = application.poller.stopping
        signals = StopSignals(stopping, STOPPING)
        signals.on_second(lambda signum: exit_now(signum, lambda: None))
        signals.install()
        try:
            if Progress.wanted(as_json):
                with Progress(lambda: application.poller.live):
                    reports = scheduler.poll_once(channel)
            else:
                reports = scheduler.poll_once(channel)
        finally:
            signals.restore()
        _said(reports, as_json, interrupted=stopping.is_set())


def _said(reports: list[ChannelReport], as_json: bool, *, interrupted: bool) -> None:
    """What `postroom poll` prints, and its exit status (1: errors, or interrupted)."""
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
    if interrupted:
        stored = sum(r.stored for r in reports)
        left = sum(r.remaining for r in reports)
        echo(
            f"interrupted: {stored} message(s) stored; {left} left on the server for the next poll",
            err=True,
        )
        raise SystemExit(1)
    if any(r.errors for r in reports):
        raise SystemExit(1)
