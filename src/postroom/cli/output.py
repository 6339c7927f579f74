"""Printing for the CLI: JSON for scripts, short lines for people.

Everything a person reads goes through `for_terminal` (postroom.domain.display): a Subject,
an address, a server's banner or error text is someone else's choice, and a terminal obeys
the control characters in it. Each remote or stored value is escaped where a line is
formatted (`shown`: a TAB or a line break in it cannot shift columns or fake a line), and
every line once more where it is written (`echo`, `fail`, log lines), which keeps the
program's own TABs and line breaks: a value a command forgot is still never printed raw.
JSON is written exactly as it is (``json.dumps`` escapes the C0 controls itself).
"""

from __future__ import annotations

import json
import logging
import sys
from typing import Any, NoReturn

import typer

from postroom.domain.display import for_terminal


def print_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, ensure_ascii=False, default=str) + "\n")


def shown(value: object) -> str:
    """One value of a line (a field of a list, a value of a ``key: value`` line)."""
    return for_terminal(value)


def echo(text: object = "", *, err: bool = False) -> None:
    """Print a line (or lines) for a person: control characters escaped, layout kept."""
    typer.echo(for_terminal(text, layout=True), err=err)


def fail(message: str, code: int = 1) -> NoReturn:
    """One line on stderr: the message's first line (split at LF only: a server's CR, FS or
    NEL inside a quoted error is shown escaped, not taken for the end of the message)."""
    first = message.strip().split("\n")[0].rstrip("\r") if message.strip() else "error"
    sys.stderr.write(f"postroom: {for_terminal(first)}\n")
    raise SystemExit(code)


class TerminalFormatter(logging.Formatter):
    """Log lines on a terminal: a logged server error or exception text escaped too
    (a traceback keeps its line breaks)."""

    def format(self, record: logging.LogRecord) -> str:
        return for_terminal(super().format(record), layout=True)


def escape_last_resort() -> None:
    """A warning logged while no logging is set up (an `ingest` that quarantines a message)
    goes to stderr through Python's last-resort handler: escape it there too."""
    if logging.lastResort is not None:
        logging.lastResort.setFormatter(TerminalFormatter())
