"""`postroom outbox list|send|retry|cancel`: outbound mail, queued, sent and given up."""

from __future__ import annotations

from typing import Annotated

import typer

from postroom.cli.options import JsonOpt
from postroom.cli.output import echo, print_json, shown
from postroom.cli.state import current_app
from postroom.records.outbox import OutboxRecord
from postroom.render.listing import more_line, newest
from postroom.render.outbox import outbox_json

outbox_app = typer.Typer(help="Outbound mail: queued, sent, failed.")

OutboxId = Annotated[int, typer.Argument(metavar="ID")]
Limit = Annotated[
    int | None, typer.Option(min=1, help="at most this many, the newest (text: newest first)")
]


@outbox_app.command("list")
def outbox_list(limit: Limit = None, as_json: JsonOpt = False) -> None:
    """Queued, sent and failed outbound mail (newest first; --json: oldest first)."""
    every = current_app().outbox.list()
    rows = [outbox_json(m) for m in newest(every, limit, newest_first=not as_json)]
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
    more = more_line(len(every), len(rows))
    if more:
        echo(more)


@outbox_app.command("send")
def outbox_send(as_json: JsonOpt = False) -> None:
    """Send what is due now, then exit."""
    report = current_app().outbox.send_due()
    if as_json:
        print_json(report.to_json())
        return
    echo(
        f"sent {report.sent}, retrying {report.retrying}, failed {report.failed}, "
        f"unknown {report.unknown}, skipped {report.skipped}"
    )
    for error in report.errors:
        echo(f"  {shown(error)}", err=True)


@outbox_app.command("retry")
def outbox_retry(row_id: OutboxId, as_json: JsonOpt = False) -> None:
    """Send it again at the next round (attempts start from zero)."""
    _done(current_app().outbox.retry(row_id), as_json)


@outbox_app.command("cancel")
def outbox_cancel(row_id: OutboxId, as_json: JsonOpt = False) -> None:
    """Never send it."""
    _done(current_app().outbox.cancel(row_id), as_json)


def _done(message: OutboxRecord, as_json: bool) -> None:
    if as_json:
        print_json(outbox_json(message))
    else:
        echo(f"{message.id} {message.status}")


def register(app: typer.Typer) -> None:
    app.add_typer(outbox_app, name="outbox")
