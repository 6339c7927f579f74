"""Mail that needs a person: `outbox list`, `quarantine list|retry`, `unhandled list`."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from postroom.cli.options import JsonOpt
from postroom.cli.output import echo, print_json, shown
from postroom.cli.state import current_app
from postroom.errors import UserError
from postroom.storage import messages, outbox
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


outbox_app = typer.Typer(help="Outbound mail: queued, sent, failed.")
"""Other modules (sending: cli/smtp.py) add their commands to this group."""


def outbox_json(r: Any) -> dict[str, Any]:
    """One outbox row as `outbox list --json` prints it (cli.md)."""
    return {
        "id": r.id,
        "kind": r.kind,
        "reference": getattr(r, "reference", None),
        "from": r.sender,
        "to": list(r.recipients),
        "subject": r.subject,
        "message_id": r.message_id,
        "status": r.status,
        "attempts": r.attempts,
        "last_error": r.last_error,
        "next_attempt": _iso(r.next_attempt) if r.status == "queued" else None,
        "recipient_results": r.recipient_results,
        "smtp_server": r.smtp_server,
        "created_at": _iso(r.created_at),
        "sent_at": _iso(r.sent_at),
    }


def register(app: typer.Typer) -> None:
    quarantine_app = typer.Typer(help="Inbound mail that could not be processed.")
    unhandled_app = typer.Typer(help="Inbound mail that matched no item and no route.")
    app.add_typer(outbox_app, name="outbox")
    app.add_typer(quarantine_app, name="quarantine")
    app.add_typer(unhandled_app, name="unhandled")

    @outbox_app.command("list")
    def outbox_list(as_json: JsonOpt = False) -> None:
        """Queued, sent and failed outbound mail."""
        with reading(current_app().engine) as conn:
            rows = [outbox_json(r) for r in outbox.rows(conn)]
        if as_json:
            print_json(rows)
            return
        for r in rows:
            tries = f"{r['attempts']} attempt{'s' if r['attempts'] != 1 else ''}"
            extra = f"\tnext {r['next_attempt']}" if r["next_attempt"] else ""
            error = f"\t{shown(r['last_error'])}" if r["last_error"] else ""
            fields = (r["id"], r["status"], r["kind"], r["reference"] or "-")
            to = ", ".join(shown(a) for a in r["to"])
            echo(
                "\t".join(shown(f) for f in fields)
                + f"\t{to}\t{shown(r['subject'])}\t{tries}{extra}{error}"
            )

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
