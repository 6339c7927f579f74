"""The root Typer application: each command module registers its own commands."""

from __future__ import annotations

import sys

import typer

from postroom.cli import check, config, ingest, items, mailqueues, service
from postroom.cli.output import fail

app = typer.Typer(
    name="postroom",
    help="Postroom: the email gateway that files every email on the right work item.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

for module in (ingest, service, config, items, mailqueues, check):
    module.register(app)


def main() -> None:
    """Entry point: run the app; user mistakes are one line on stderr, never a traceback."""
    from postroom.errors import UserError

    try:
        app(standalone_mode=False)
    except UserError as exc:
        fail(str(exc), code=1)
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except SystemExit:
        raise
    except Exception as exc:  # noqa: BLE001 - the one place that turns errors into exit codes
        from click.exceptions import Abort, ClickException

        if isinstance(exc, ClickException):
            exc.show()
            sys.exit(exc.exit_code)
        if isinstance(exc, Abort):
            fail("aborted", code=1)
        fail(f"internal error: {exc.__class__.__name__}: {exc}", code=1)
