"""The root Typer application: each command module registers its own commands."""

from __future__ import annotations

import sys

import typer

from postroom.cli import (
    channels,
    check,
    config,
    ingest,
    items,
    outbox,
    quarantine,
    reply,
    servers,
    service,
)
from postroom.cli.output import escape_last_resort, fail

app = typer.Typer(
    name="postroom",
    help="Postroom: the email gateway that files every email on the right work item.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

for module in (ingest, service, config, channels, servers, items, reply, outbox, quarantine, check):
    module.register(app)


def main(argv: list[str] | None = None) -> None:
    """Entry point: run the app; user mistakes are one line on stderr, never a traceback.

    Exit status (docs/cli.md): 0 success, 2 bad usage, 1 other errors; commands that
    need another code (ingest's 75) raise SystemExit themselves.
    """
    from postroom.errors import StorageUnavailableError, UserError

    escape_last_resort()
    try:
        result = app(args=argv, prog_name="postroom", standalone_mode=False)
    except UserError as exc:
        fail(str(exc), code=1)
    except StorageUnavailableError as exc:
        # The database (or the blob store) cannot be used now: a failed operation, which
        # changed nothing it did not commit; worth trying again later.
        fail(f"storage: {exc}", code=1)
    except SystemExit:
        raise
    except Exception as exc:  # noqa: BLE001 - the one place that turns errors into exit codes
        show = getattr(exc, "show", None)
        code = getattr(exc, "exit_code", None)
        if callable(show) and isinstance(code, int):
            # Typer's (vendored Click's) usage errors: its own one-line message.
            show()
            sys.exit(code)
        if exc.__class__.__name__ == "Abort":
            fail("aborted", code=1)
        fail(f"internal error: {exc.__class__.__name__}: {exc}", code=1)
    sys.exit(result if isinstance(result, int) else 0)
