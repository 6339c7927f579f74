"""`postroom item reply`: an agent's reply, queued in the outbox."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from postroom.cli.output import echo, print_json, shown
from postroom.cli.state import current_app
from postroom.clock import utcnow
from postroom.errors import InputError, UserError
from postroom.render.mail import reply_json
from postroom.services.addresses import checked_address
from postroom.services.reply import read_attachment


def _read_body(path: Path) -> str:
    if str(path) == "-":
        return typer.get_text_stream("stdin").read()
    try:
        return path.read_text(encoding="utf-8")
    except OSError as exc:
        raise InputError(f"cannot read {path}: {exc.strerror}") from exc
    except UnicodeDecodeError as exc:
        raise UserError(f"{path} is not UTF-8 text") from exc


def register(item_app: typer.Typer) -> None:
    """Add `reply` to the `item` group (cli/items.py registers it)."""

    @item_app.command("reply")
    def item_reply(
        ref: str,
        body_file: Annotated[Path, typer.Option(help="the reply's text (UTF-8); - for stdin")],
        to: Annotated[
            list[str] | None, typer.Option("--to", help="recipient (default: the requester)")
        ] = None,
        cc: Annotated[list[str] | None, typer.Option("--cc", help="copy to")] = None,
        attach: Annotated[
            list[Path] | None, typer.Option("--attach", help="a file to attach")
        ] = None,
        sender: Annotated[
            str | None,
            typer.Option("--from", help="send from this address (default: the thread's)"),
        ] = None,
        as_json: Annotated[bool, typer.Option("--json", help="print JSON")] = False,
    ) -> None:
        """Reply on a work item by email; sent by `postroom run` or `postroom outbox send`."""
        body = _read_body(body_file)
        attachments = tuple(read_attachment(p) for p in attach or [])
        queued = current_app().replies.queue_reply(
            reference=ref,
            body=body,
            now=utcnow(),
            to=[checked_address(a) for a in to or []],
            cc=[checked_address(a) for a in cc or []],
            attachments=attachments,
            sender=checked_address(sender) if sender else None,
        )
        if as_json:
            print_json(reply_json(queued))
            return
        recipients = ", ".join(shown(a) for a in queued.to)
        echo(f"reply {queued.outbox_id} queued for {recipients}: {shown(queued.subject)}")
