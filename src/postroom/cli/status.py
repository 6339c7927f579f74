"""`postroom status`: the overview the dashboard shows, for a shell."""

from __future__ import annotations

import typer

from postroom.cli.options import JsonOpt
from postroom.cli.output import echo, print_json, shown
from postroom.cli.state import current_app
from postroom.render.stamps import iso
from postroom.render.status import status_json
from postroom.services.overview import Overview


def register(app: typer.Typer) -> None:
    @app.command("status")
    def status(as_json: JsonOpt = False) -> None:
        """One overview: channels, SMTP servers, outbox by status, quarantine, unhandled."""
        overview = current_app().overview.overview(sends_today=True)
        if as_json:
            print_json(status_json(overview))
            return
        for line in _lines(overview):
            echo(line)


def _lines(overview: Overview) -> list[str]:
    """One line per channel and server, then the queues; every stored or remote value
    escaped (`shown`) so that a server's error text cannot fake a line."""
    lines = ["channels:"] if overview.channels else ["channels: none"]
    for c in overview.channels:
        fields = [
            c.name,
            c.protocol,
            "on" if c.enabled else "off",
            f"last success {iso(c.last_success) or 'never'}",
            f"today {c.messages_today}",
            f"failures {c.failure_count}",
        ]
        if c.last_error_class:
            fields.append(f"{c.last_error_class}: {c.last_error or ''}")
        if c.hint:
            fields.append(f"hint: {c.hint}")
        if not c.checked:
            fields.append("never checked")
        lines.append("  " + "\t".join(shown(f) for f in fields))
    lines.append("smtp servers:" if overview.servers else "smtp servers: none")
    verdict = {True: "check passed", False: "check failed", None: "never checked"}
    for s in overview.servers:
        fields = [
            s.name,
            s.protocol,
            "on" if s.enabled else "off",
            verdict[s.last_check_ok],
            f"sent today {s.sent_today or 0}",
        ]
        if s.default:
            fields.append("default")
        if s.last_error:
            fields.append(s.last_error)
        lines.append("  " + "\t".join(shown(f) for f in fields))
    queue = ", ".join(f"{k} {v}" for k, v in overview.outbox.items() if v)
    lines.append(f"outbox: {queue or 'empty'}")
    lines.append(f"quarantine: {overview.quarantined}")
    lines.append(f"unhandled: {overview.unhandled}")
    lines.append(f"last poll: {iso(overview.last_poll) or 'never'}")
    return lines
