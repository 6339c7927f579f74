"""`postroom message show|raw`: a stored mail as a person reads it, or its exact bytes."""

from __future__ import annotations

import sys
from typing import Annotated, Any

import typer

from postroom.cli.options import JsonOpt
from postroom.cli.output import echo, fail, print_json, shown
from postroom.cli.state import current_app
from postroom.render.mail import stored_mail_json

Arrival = Annotated[
    bool,
    typer.Option(
        "--arrival",
        help="ID is a stored message's id as quarantine/unhandled list show it",
    ),
]

_HEADERS = ("from", "to", "cc", "reply-to", "subject", "date", "message-id", "in-reply-to")


def mail_text(data: dict[str, Any]) -> list[str]:
    """`message show` for a person: headers, size, attachments, the decision and its trace,
    then the text. Every value is escaped for the terminal (the text keeps its lines)."""
    lines: list[str] = []
    if data["id"] is not None:
        lines.append(f"communication {data['id']} ({data['direction']})")
    if data["arrival"] is not None:
        arrival = data["arrival"]
        lines.append(f"stored message {arrival['id']}: {shown(arrival['status'])}")
    headers = data["headers"] or {}
    for name in _HEADERS:
        if headers.get(name):
            lines.append(f"{name.title() + ':':13} {shown(headers[name])}")
    lines.append(f"{'Size:':13} {data['size']} bytes (sha256 {data['sha256'][:16]}…)")
    mail = data["mail"]
    if mail is not None:
        for a in mail["attachments"]:
            name = shown(a["filename"] or "(no name)")
            lines.append(
                f"{'Attachment:':13} {name} ({shown(a['content_type'])}, {a['size']} bytes)"
            )
        if mail["defects"]:
            lines.append(f"{'Defects:':13} {shown('; '.join(mail['defects']))}")
    decision = data["decision"]
    if decision is not None:
        lines.append(
            f"{'Decision:':13} {shown(decision.get('outcome'))} [{shown(decision.get('rule'))}] "
            f"{shown(decision.get('reason') or '')}"
        )
        for step in decision.get("trace") or []:
            lines.append(f"  · {shown(step)}")
    if data["arrival"] is not None and data["arrival"]["error"]:
        lines.append(f"{'Error:':13} {shown(data['arrival']['error'])}")
    lines.append("")
    if mail is None:
        lines.append(f"(the text cannot be shown: {shown(data['unparsed'] or 'not parsed')})")
    else:
        lines.append(mail["body_text"] or "(no text)")
    return lines


def register(app: typer.Typer) -> None:
    message_app = typer.Typer(help="Stored mail: read a message, or take its exact bytes.")
    app.add_typer(message_app, name="message")

    @message_app.command("show")
    def message_show(
        message: Annotated[int, typer.Argument(metavar="ID", help="a communication's id")],
        arrival: Arrival = False,
        as_json: JsonOpt = False,
    ) -> None:
        """A stored message: headers, text, attachments, the decision and its trace."""
        service = current_app().messages
        stored = service.show_arrival(message) if arrival else service.show(message)
        data = stored_mail_json(stored)
        if as_json:
            print_json(data)
            return
        echo("\n".join(mail_text(data)))

    @message_app.command("raw")
    def message_raw(
        message: Annotated[int, typer.Argument(metavar="ID", help="a communication's id")],
        arrival: Arrival = False,
        force: Annotated[bool, typer.Option(help="write to a terminal anyway")] = False,
    ) -> None:
        """The message's exact bytes on standard output (redirect it to a file)."""
        service = current_app().messages
        raw = service.raw_arrival(message) if arrival else service.raw(message)
        if sys.stdout.isatty() and not force:
            fail(
                f"message {message} is {len(raw)} bytes of raw mail, which a terminal would "
                f"obey: redirect it (postroom message raw {message} > message.eml) or give --force"
            )
        sys.stdout.flush()
        sys.stdout.buffer.write(raw)
        sys.stdout.buffer.flush()
