"""`postroom ingest` of one message, as an MTA pipe runs it, without Typer.

An MTA starts a process per message, and building the Typer command tree (Typer, its
vendored Click, their help formatting) costs more than storing a small message. The
command lines an MTA uses, ``ingest [--channel C] [--json] [FILE|-]``, and those that hand
the message to a running service, ``ingest --url URL [--token-file F] [--timeout S]
[--ca-file F] [--json] [FILE|-]`` (cli/mailgate.py), are recognised here (`pipe_shape`)
and run by the same code the Typer command runs (`ingest_one`, `mailgate.deliver`); any
other shape (``--help``, ``--maildir``, several files, an option Typer would refuse,
``--``, a value that starts with ``-`` or is empty) is not recognised and goes to Typer,
whose parsing and messages stay the one definition of the command. A test holds the two
to the same output, exit status and stderr (tests/e2e/test_ingest_pipe.py).

Nothing here imports Typer: a line for a person is written as `cli.output.echo` writes
it (escaped by `for_terminal`), and a failure as `cli.output.fail` writes it
(`fail_line`).
"""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
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
    url: str | None = None
    """The running service to hand the message to (cli/mailgate.py); None: store it here."""
    token_file: str | None = None
    timeout: float | None = None
    ca_file: str | None = None

    @property
    def remote(self) -> bool:
        """Whether the call names a service (or an option that only goes with one)."""
        return any(v is not None for v in (self.url, self.token_file, self.timeout, self.ca_file))


VALUED = ("--channel", "--url", "--token-file", "--timeout", "--ca-file")
"""The options of `pipe_shape` that take a value."""


def pipe_shape(args: list[str]) -> PipeCall | None:
    """The call ``args`` makes when it is ``ingest [--channel C] [--url URL] [--token-file F]
    [--timeout S] [--ca-file F] [--json] [FILE|-]`` (in any order, ``--channel=C`` too, each
    at most once, no value empty); None for anything else (Typer's)."""
    if not args or args[0] != "ingest":
        return None
    source: str | None = None
    values: dict[str, str] = {}
    as_json = False
    rest = iter(args[1:])
    for arg in rest:
        name, equals, value = arg.partition("=")
        if arg == "--json" and not as_json:
            as_json = True
        elif name in VALUED and name not in values:
            given = value if equals else next(rest, None)
            if not given or (not equals and given.startswith("-")):
                return None
            values[name] = given
        elif (arg == "-" or not arg.startswith("-")) and source is None:
            source = arg
        else:
            return None
    timeout: float | None = None
    if "--timeout" in values:
        try:
            timeout = float(values["--timeout"])  # as Typer reads a float
        except ValueError:
            return None
    return PipeCall(
        source or "-",
        values.get("--channel"),
        as_json,
        values.get("--url"),
        values.get("--token-file"),
        timeout,
        values.get("--ca-file"),
    )


class MessageTooLarge(ValueError):
    """More octets than the limit: the message was not read past it."""

    def __init__(self, limit: int) -> None:
        super().__init__(
            f"the message is larger than POSTROOM_MAX_MESSAGE_BYTES ({limit} octets): raise "
            "the setting to take such mail"
        )


def read_bounded(source: str, limit: int) -> bytes:
    """A file's or standard input's (``-``) octets, at most ``limit`` of them held:
    `MessageTooLarge` past them (an MTA's bytes are someone else's choice)."""
    if source == "-":
        data = sys.stdin.buffer.read(limit + 1)
    else:
        with open(source, "rb") as file:
            data = file.read(limit + 1)
    if len(data) > limit:
        raise MessageTooLarge(limit)
    return data


def read_source(source: str, limit: int) -> bytes:
    """One message for `ingest`, `explain` or ``--url``; past ``limit`` octets (the
    service's ``POSTROOM_MAX_MESSAGE_BYTES``) exit 1, as the service answers 413: the MTA
    returns it to its sender, who learns it is too large."""
    try:
        return read_bounded(source, limit)
    except MessageTooLarge as exc:
        fail_line(f"not stored: {exc}", code=1)
    except OSError as exc:
        fail_line(f"cannot read {source}: {exc.strerror}", code=2)


def ingest_one(source: str, channel: str | None, as_json: bool) -> None:
    """One message, as an MTA pipe hands it over: stored and decided, or exit 75."""
    from postroom.cli.state import current_app
    from postroom.render.mail import decision_json

    with _or_try_again():  # a setting to fix (`SetupError`) is the storage's too: 75
        app = current_app()
        limit = app.settings.max_message_bytes
    raw = read_source(source, limit)
    with _or_try_again():
        result = app.ingest.ingest(raw, channel=channel)
    show_decision(decision_json(result), as_json)


@contextmanager
def _or_try_again() -> Iterator[None]:
    """What fails in the block fails the command with exit 75 (the MTA tries again later),
    but a request refused for what it is (`PostroomError`: a channel not found)."""
    try:
        yield
    except StorageUnavailableError as exc:
        fail_line(f"not stored, try again later: {exc}", code=EX_TEMPFAIL)
    except PostroomError:
        raise
    except Exception as exc:  # noqa: BLE001 - an MTA must retry whatever went wrong
        fail_line(f"not stored, try again later: {exc.__class__.__name__}: {exc}", EX_TEMPFAIL)


def ingest_remote(call: PipeCall) -> None:
    """One message handed to the service at ``call.url`` (cli/mailgate.py), its decision
    printed as `ingest_one` prints one."""
    from postroom.cli.mailgate import deliver

    show_decision(deliver(call), call.as_json)


def show_decision(decision: dict[str, Any], as_json: bool) -> None:
    if as_json:
        sys.stdout.write(json.dumps(decision, ensure_ascii=False, default=str) + "\n")
    else:
        _line(describe(decision))


def run(call: PipeCall, *, may_migrate: bool) -> None:
    """The command as Typer's ``ingest`` runs it (cli/ingest.py), its parser child first
    (none for a message handed to a service)."""
    if call.remote:
        ingest_remote(call)
        return
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


def fail_line(message: str, code: int) -> NoReturn:
    """`cli.output.fail` without Typer: the message's first line on stderr, escaped, then
    exit ``code``."""
    first = message.strip().split("\n")[0].rstrip("\r") if message.strip() else "error"
    sys.stderr.write(f"postroom: {for_terminal(first)}\n")
    raise SystemExit(code)


class EscapedLastResort(logging.Formatter):
    """`cli.output.TerminalFormatter` without Typer: a warning logged while no logging is
    set up (an ingest that quarantines a message) reaches stderr escaped."""

    def format(self, record: logging.LogRecord) -> str:
        return for_terminal(super().format(record), layout=True)


def escape_last_resort() -> None:
    if logging.lastResort is not None:
        logging.lastResort.setFormatter(EscapedLastResort())
