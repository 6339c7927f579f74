"""`postroom ingest` (an MTA pipe or a file) and `postroom explain` (a dry run)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from postroom.cli.options import JsonOpt
from postroom.cli.output import echo, fail, print_json, shown
from postroom.cli.state import current_app
from postroom.errors import PostroomError, StorageUnavailableError
from postroom.render.mail import decision_json, explanation_json

EX_TEMPFAIL = 75

FileArg = Annotated[str, typer.Argument(help="a raw message file, or - for standard input")]


def _read(source: str) -> bytes:
    if source == "-":
        return sys.stdin.buffer.read()
    try:
        return Path(source).read_bytes()
    except OSError as exc:
        fail(f"cannot read {source}: {exc.strerror}", code=2)


def _describe(decision: dict[str, Any]) -> str:
    """The decision in a line, and its reason (which quotes Message-IDs and addresses)."""
    refs = ", ".join(
        f"{shown(i['reference'] or 'new ticket')} ({shown(i['state'])}"
        + (f", queue {shown(i['queue'])}" if i.get("queue") else "")
        + ")"
        for i in decision["work_items"]
    )
    path = " → ".join(shown(rule) for rule in decision["path"])
    by = f" by {shown(decision['matched_by'])}" if decision.get("matched_by") else ""
    line = f"{shown(decision['outcome'])} [{path}]{by}"
    if refs:
        line += f": {refs}"
    if decision.get("auto_reply"):
        line += f"; auto reply: {shown(decision['auto_reply'])}"
    return line + (f"\n  {shown(decision['reason'])}" if decision.get("reason") else "")


def register(app: typer.Typer) -> None:
    @app.command()
    def ingest(
        source: FileArg = "-",
        channel: Annotated[str | None, typer.Option(help="the input channel it came from")] = None,
        as_json: JsonOpt = False,
    ) -> None:
        """Store and handle one raw message; exit 75 (EX_TEMPFAIL) when it could not be stored."""
        raw = _read(source)
        try:
            result = current_app().ingest.ingest(raw, channel=channel)
        except StorageUnavailableError as exc:
            fail(f"not stored, try again later: {exc}", code=EX_TEMPFAIL)
        except PostroomError:
            raise
        except Exception as exc:  # noqa: BLE001 - an MTA must retry whatever went wrong
            fail(f"not stored, try again later: {exc.__class__.__name__}: {exc}", EX_TEMPFAIL)
        decision = decision_json(result)
        if as_json:
            print_json(decision)
        else:
            echo(_describe(decision))

    @app.command()
    def explain(
        source: FileArg,
        as_json: JsonOpt = False,
    ) -> None:
        """Dry run: the parsed mail and the decision it would get; changes nothing."""
        raw = _read(source)
        explained = current_app().ingest.explain(raw)
        data = explanation_json(explained)
        if as_json:
            print_json(data)
            return
        m = data["mail"]
        sender = f"{shown(m['from_name'] or '')} <{shown(m['from'] or '')}>"
        echo(f"From:    {sender}".replace(" <>", ""))
        echo(f"To:      {', '.join(shown(a) for a in m['to'])}")
        echo(f"Subject: {shown(m['subject'])}")
        echo(f"Message-ID: {shown(m['message_id'])}")
        echo(f"Attachments: {len(m['attachments'])}; HTML: {m['has_html']}")
        if explained.automatic:
            echo(f"Automatic mail: {shown(explained.automatic)}")
        for d in m["defects"]:
            echo(f"Defect:  {shown(d)}")
        echo("Decision: " + _describe(data["decision"]))
        for step in explained.decision.trace:
            echo(f"  · {shown(step)}")
