"""`postroom run` (the whole service, the web one included) and `postroom poll` (one
round, then exit).

The service itself — its processes, signals, restarts and housekeeping — is
`postroom.runtime`; these commands read flags, hand them over and print.
"""

from __future__ import annotations

import functools
import logging
import os
import threading
from collections.abc import Callable
from typing import Annotated

import typer

from postroom.cli.options import JsonOpt
from postroom.cli.output import TerminalFormatter, echo, fail, print_json, shown
from postroom.cli.progress import Progress
from postroom.cli.state import current_app
from postroom.cli.web import listening, web_app
from postroom.logging_format import JsonFormatter
from postroom.runtime.process import ProcessOptions
from postroom.runtime.service import Service
from postroom.runtime.signals import STOPPING, StopSignals, exit_now, stop_on_signals
from postroom.runtime.web_process import WebOptions
from postroom.services.poll_report import ChannelReport

LOG_FORMATS = ("text", "json")


def configure_logging(log_format: str = "text") -> None:
    """Log lines on stderr: ``text``, escaped for a terminal (they quote servers' errors and
    messages' ids), or ``json``, one object per line (`postroom.logging_format`)."""
    handler = logging.StreamHandler()
    if log_format == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(
            TerminalFormatter("%(asctime)s %(process)d %(levelname)s %(name)s %(message)s")
        )
    logging.basicConfig(level=logging.INFO, handlers=[handler], force=True)
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
        listen: Annotated[
            str | None,
            typer.Option(
                help="HOST:PORT the web service listens on "
                "(default: POSTROOM_LISTEN, 127.0.0.1:8025)"
            ),
        ] = None,
        no_web: Annotated[
            bool, typer.Option("--no-web", help="pollers and sender only: serve no HTTP")
        ] = False,
        log_format: Annotated[
            str | None,
            typer.Option(
                help="log lines as text or json, one per event (default: POSTROOM_LOG_FORMAT, text)"
            ),
        ] = None,
    ) -> None:
        """Run the service until SIGINT/SIGTERM: polls channels, handles mail, sends the
        outbox, and serves the web UI and REST API (docs/web.md) unless --no-web."""
        settings = current_app().settings
        chosen = log_format if log_format is not None else settings.log_format
        if chosen not in LOG_FORMATS:
            fail(f"--log-format {chosen[:40]!r}: give text or json", code=2)
        web = None
        if not no_web:
            address, sock = listening(listen, settings.listen)
            web = WebOptions(sock, address, web_app)
        logs = functools.partial(configure_logging, chosen)
        logs()
        say = _sayer(chosen)
        stop = threading.Event()
        signals = stop_on_signals(stop)
        service = Service(
            ProcessOptions(max_connections, workers, tick, logs, heartbeat), stop, web
        )
        signals.on_second(service.stop_now)
        started = service.prepare()
        if started is None:
            say("postroom stopped", "stopped")
            return
        service.start()
        for line in started.lines():
            say(line, "started")
        service.serve()
        say("postroom stopped", "stopped")

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


def _sayer(log_format: str) -> Callable[[str, str], None]:
    """How `postroom run` says its start-up and stop lines: on stderr as they are, or, with
    JSON logs, as log lines (event ``started`` or ``stopped``) so every line parses."""
    if log_format != "json":
        return lambda line, _event: echo(line, err=True)
    log = logging.getLogger("postroom.run")
    return lambda line, event: log.info("%s", line, extra={"event": event, "printed": True})


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
