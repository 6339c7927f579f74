"""Inbound mail that needs a person: `quarantine list|retry`, `unhandled list`."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from postroom.cli.options import JsonOpt
from postroom.cli.output import echo, print_json, shown
from postroom.cli.state import current_app
from postroom.errors import UserError
from postroom.storage import messages
from postroom.storage.database import reading


def _iso(value: Any) -> str | None:
    return value.isoformat() + "Z" if value is not None else None


def _message_json(row: Any) -> dict[str, Any]:
    error = row.error or ""
    return {
        "id": row.id,
        "received_at": _iso(row.received_at),
        "from": row.from_address,
        "subject": row.subject,
        "message_id": row.message_id,
        "size": row.size,
        "sha256": row.raw_sha256,
        "status": row.status,
        "rule": row.rule,
        "reason": row.reason,
        "error": error.strip().splitlines()[-1] if error.strip() else None,
        "attempts": row.attempts,
        "channel_id": row.channel_id,
    }


def register(app: typer.Typer) -> None:
    quarantine_app = typer.Typer(help="Inbound mail that could not be processed.")
    unhandled_app = typer.Typer(help="Inbound mail that matched no item and no route.")
    app.add_typer(quarantine_app, name="quarantine")
    app.add_typer(unhandled_app, name="unhandled")

    def _list(status: str, as_json: bool) -> None:
        with reading(current_app().engine) as conn:
            rows = [_message_json(r) for r in messages.by_status(conn, status)]
        if as_json:
            print_json(rows)
            return
        for r in rows:
            why = r["error"] if status == "quarantined" else r["reason"]
            fields = [r["id"], r["received_at"], r["from"] or "-", r["subject"] or "", why or ""]
            echo("\t".join(shown(f) for f in fields))

    @quarantine_app.command("list")
    def quarantine_list(as_json: JsonOpt = False) -> None:
        """Messages that could not be handled, with the error."""
        _list("quarantined", as_json)

    @quarantine_app.command("retry")
    def quarantine_retry(
        message_id: Annotated[int, typer.Argument(metavar="ID")], as_json: JsonOpt = False
    ) -> None:
        """Handle a quarantined message again."""
        application = current_app()
        with reading(application.engine) as conn:
            row = messages.get(conn, message_id)
        if row.status != "quarantined":
            raise UserError(f"message {message_id} is not in quarantine ({row.status})")
        result = application.ingest.handle_stored(message_id)
        if as_json:
            print_json(result.decision)
        else:
            echo(f"{message_id}: {result.decision['outcome']} ({result.decision['rule']})")

    @unhandled_app.command("list")
    def unhandled_list(as_json: JsonOpt = False) -> None:
        """Messages that matched no work item and no route (policy `unhandled`)."""
        _list("unhandled", as_json)
