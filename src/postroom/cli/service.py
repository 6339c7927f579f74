"""`postroom run`: the whole service in one process."""

from __future__ import annotations

import signal
import threading
from datetime import timedelta
from types import FrameType
from typing import Annotated

import typer

from postroom.cli.state import current_app
from postroom.services.ingest import utcnow
from postroom.services.items import ItemService


def register(app: typer.Typer) -> None:
    @app.command()
    def run(
        tick: Annotated[float, typer.Option(help="seconds between housekeeping rounds")] = 5.0,
    ) -> None:
        """Run the service until SIGINT/SIGTERM: polls channels, handles mail, sends the outbox."""
        application = current_app()
        stop = threading.Event()

        def _stop(signum: int, _frame: FrameType | None) -> None:
            stop.set()

        signal.signal(signal.SIGINT, _stop)
        signal.signal(signal.SIGTERM, _stop)
        items = ItemService(application.engine, actor="service")
        feedback = timedelta(days=application.settings.feedback_days)
        typer.echo(f"postroom running on {application.settings.home}", err=True)
        while not stop.is_set():
            items.close_after_feedback(utcnow(), feedback)
            stop.wait(tick)
        typer.echo("postroom stopped", err=True)
