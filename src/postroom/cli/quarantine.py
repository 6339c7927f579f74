"""Inbound mail that needs a person: `quarantine list|retry`, `unhandled list|retry`."""

from __future__ import annotations

from typing import Annotated

import typer

from postroom.cli.options import JsonOpt
from postroom.cli.output import echo, print_json, shown
from postroom.cli.state import current_app
from postroom.records.mail import MessageRecord
from postroom.render.listing import more_line, newest
from postroom.render.mail import decision_json, message_json

Limit = Annotated[
    int | None, typer.Option(min=1, help="at most this many, the newest (text: newest first)")
]


def _print(messages: list[MessageRecord], limit: int | None, as_json: bool, why: str) -> None:
    """The messages as JSON (oldest first), or one line each, newest first, ending with
    ``why`` (``error``, ``reason``); ``limit``: the newest that many."""
    rows = [message_json(m) for m in newest(messages, limit, newest_first=not as_json)]
    if as_json:
        print_json(rows)
        return
    for r in rows:
        fields = [r["id"], r["received_at"], r["from"] or "-", r["subject"] or "", r[why] or ""]
        echo("\t".join(shown(f) for f in fields))
    more = more_line(len(messages), len(rows))
    if more:
        echo(more)


def register(app: typer.Typer) -> None:
    quarantine_app = typer.Typer(help="Inbound mail that could not be processed.")
    unhandled_app = typer.Typer(help="Inbound mail that matched no item and no route.")
    app.add_typer(quarantine_app, name="quarantine")
    app.add_typer(unhandled_app, name="unhandled")

    @quarantine_app.command("list")
    def quarantine_list(limit: Limit = None, as_json: JsonOpt = False) -> None:
        """Messages that could not be handled, with the error (message show --arrival ID
        reads one)."""
        _print(current_app().quarantine.quarantined(), limit, as_json, "error")

    @quarantine_app.command("retry")
    def quarantine_retry(
        message_id: Annotated[int, typer.Argument(metavar="ID")], as_json: JsonOpt = False
    ) -> None:
        """Handle a quarantined message again."""
        decision = decision_json(current_app().quarantine.retry(message_id))
        if as_json:
            print_json(decision)
        else:
            echo(f"{message_id}: {decision['outcome']} ({decision['rule']})")

    @unhandled_app.command("retry")
    def unhandled_retry(
        message_id: Annotated[int, typer.Argument(metavar="ID")], as_json: JsonOpt = False
    ) -> None:
        """Handle an unhandled message again (after adding the route for its address)."""
        decision = decision_json(current_app().quarantine.retry_unhandled(message_id))
        if as_json:
            print_json(decision)
        else:
            echo(f"{message_id}: {decision['outcome']} ({decision['rule']})")

    @unhandled_app.command("list")
    def unhandled_list(limit: Limit = None, as_json: JsonOpt = False) -> None:
        """Messages that matched no work item and no route (policy `unhandled`)."""
        _print(current_app().quarantine.unhandled(), limit, as_json, "reason")
