"""`postroom ingest` of one message, as an MTA pipe runs it, without Typer.

An MTA starts a process per message, and building the Typer command tree (Typer, its
vendored Click, their help formatting) costs more than storing a small message. The
command lines an MTA uses, ``ingest [--channel C] [--json] [FILE|-]``, are recognised here
(`pipe_shape`) and run by the same code the Typer command runs (`ingest_one`); any other
shape (``--help``, ``--maildir``, several files, an option Typer would refuse, ``--``, a
value that starts with ``-``) is not recognised and goes to Typer, whose parsing and
messages stay the one definition of the command. A test holds the two to the same
output, exit status and stderr (tests/e2e/test_ingest_pipe.py).

Nothing here imports Typer: a line for a person is written as `cli.output.echo` writes
it (escaped by `for_terminal`), and a failure goes through `cli.output.fail` (imported
then: a message not stored is not the path to make fast).
"""

from __future__ import annotations

import json
import logging
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn

from postroom.domain.display import for_terminal
from postroom.errors import PostroomError, StorageUnavailableError

EX_TEMPFAIL = 75
"""sysexits.h: the MTA keeps the message and tries again later."""


@dataclass(frozen=True, slots=True)
class PipeCall:
    """``postroom ingest`` of one message: where from, its channel, JSON or a line."""

    source: str = "-"
    channel: str | None = None
    as_json: bool = False


def pipe_shape(args: list[str]) -> PipeCall | None:
    """The call ``args`` makes when it is ``ingest [--channel C] [--json] [FILE|-]`` (in any
    order, ``--channel=C`` too, each at most once); None for anything else (Typer's)."""
    if not args or args[0] != "ingest":
        return None
    source: str | None = None
    channel: str | None = None
    as_json = False
    rest = iter(args[1:])
    for arg in rest:
        if arg == "--json" and not as_json:
            as_json = True
        elif arg.startswith("--channel=") and channel is None:
            channel = arg.removeprefix("--channel=")
        elif arg == "--channel" and channel is None:
            channel = next(rest, None)
            if channel is None or channel.startswith("-"):
                return None
        elif (arg == "-" or not arg.startswith("-")) and source is None:
            source = arg
        else:
            return None
    if channel == "":
        return None
    return PipeCall(source or "-", channel, as_json)


def read_source(source: str) -> bytes:
    if source == "-":
        return sys.stdin.buffer.read()
    try:
        return Path(source).read_bytes()
    except OSError as exc:
        _fail(f"cannot read {source}: {exc.strerror}", code=2)


def ingest_one(source: str, channel: str | None, as_json: bool) -> None:
    """One message, as an MTA pipe hands it over: stored and decided, or exit 75."""
    from postroom.cli.state import current_app
    from postroom.render.mail import decision_json

    raw = read_source(source)
    try:
        result = current_app().ingest.ingest(raw, channel=channel)
    except StorageUnavailableError as exc:
        _fail(f"not stored, try again later: {exc}", code=EX_TEMPFAIL)
    except PostroomError:
        raise
    except Exception as exc:  # noqa: BLE001 - an MTA must retry whatever went wrong
        _fail(f"not stored, try again later: {exc.__class__.__name__}: {exc}", EX_TEMPFAIL)
    decision = decision_json(result)
    if as_json:
        sys.stdout.write(json.dumps(decision, ensure_ascii=False, default=str) + "\n")
    else:
        _line(describe(decision))


def run(call: PipeCall, *, may_migrate: bool) -> None:
    """The command as Typer's ``ingest`` runs it (cli/ingest.py), its parser child first."""
    from postroom.mime.isolated import start_early

    start_early()
    from postroom.cli import state

    state.may_migrate = may_migrate
    ingest_one(call.source, call.channel, call.as_json)


def describe(decision: dict[str, Any]) -> str:
    """The decision in a line, and its reason (which quotes Message-IDs and addresses)."""
    refs = ", ".join(
        f"{for_terminal(i['reference'] or 'new ticket')} ({for_terminal(i['state'])}"
        + (f", queue {for_terminal(i['queue'])}" if i.get("queue") else "")
        + ")"
        for i in decision["work_items"]
    )
    path = " → ".join(for_terminal(rule) for rule in decision["path"])
    by = f" by {for_terminal(decision['matched_by'])}" if decision.get("matched_by") else ""
    line = f"{for_terminal(decision['outcome'])} [{path}]{by}"
    if refs:
        line += f": {refs}"
    if decision.get("auto_reply"):
        line += f"; auto reply: {for_terminal(decision['auto_reply'])}"
    reason = f"\n  {for_terminal(decision['reason'])}" if decision.get("reason") else ""
    return line + reason


def _line(text: str) -> None:
    """`cli.output.echo` without Click: the line escaped (layout kept), then flushed."""
    sys.stdout.write(for_terminal(text, layout=True) + "\n")
    sys.stdout.flush()


def _fail(message: str, code: int) -> NoReturn:
    from postroom.cli.output import fail

    fail(message, code=code)


class EscapedLastResort(logging.Formatter):
    """`cli.output.TerminalFormatter` without Typer: a warning logged while no logging is
    set up (an ingest that quarantines a message) reaches stderr escaped."""

    def format(self, record: logging.LogRecord) -> str:
        return for_terminal(super().format(record), layout=True)


def escape_last_resort() -> None:
    if logging.lastResort is not None:
        logging.lastResort.setFormatter(EscapedLastResort())
