"""The root Typer application: each command module registers its own commands.

A command module is imported only when the command line needs it: `postroom ingest` in an
MTA pipe runs once per message, and importing every group (their services, the connection
checks, the runtime) would cost more than storing the message. The command named first
decides which module registers (`COMMANDS`); anything else (``--help``, no command, a
mistyped one) builds the whole tree, so help and usage errors read as they always did.
"""

from __future__ import annotations

import importlib
import sys
from typing import Protocol

import typer

from postroom.cli.output import escape_last_resort, fail

MODULES = (
    "ingest",
    "service",
    "config",
    "users",
    "channels",
    "servers",
    "items",
    "outbox",
    "quarantine",
    "messages",
    "check",
    "status",
    "web",
)
"""Every command module of `postroom.cli`, in the order `postroom --help` lists them."""

COMMANDS: dict[str, tuple[str, ...]] = {
    "ingest": ("ingest",),
    "explain": ("ingest",),
    "run": ("service",),
    "poll": ("service",),
    "route": ("config",),
    "user": ("users",),
    "token": ("users",),
    "db": ("config",),
    "channel": ("channels",),
    "smtp": ("servers",),
    "item": ("items",),
    "outbox": ("outbox",),
    "quarantine": ("quarantine",),
    "unhandled": ("quarantine",),
    "message": ("messages",),
    "check": ("check",),
    "auth-string": ("check",),
    "status": ("status", "web"),  # a lone command would become the root (Typer): two
    "web": ("web", "status"),
}
"""Each top-level command and the modules that register it (a test keeps it complete)."""


class _CommandModule(Protocol):
    def register(self, app: typer.Typer) -> None: ...


def build_app(argv: list[str] | None = None) -> typer.Typer:
    """The root application with the modules ``argv``'s command needs (all without one)."""
    app = typer.Typer(
        name="postroom",
        help="Postroom: the email gateway that files every email on the right work item.",
        no_args_is_help=True,
        add_completion=False,
        pretty_exceptions_enable=False,
    )
    command = argv[0] if argv else None
    for name in COMMANDS.get(command, MODULES) if command else MODULES:
        module: _CommandModule = importlib.import_module(f"postroom.cli.{name}")
        module.register(app)
    return app


def main(argv: list[str] | None = None) -> None:
    """Entry point: run the app; user mistakes are one line on stderr, never a traceback.

    Exit status (docs/cli.md): 0 success, 2 bad usage, 1 other errors; commands that
    need another code (ingest's 75) raise SystemExit themselves.
    """
    from postroom.errors import StorageUnavailableError, UserError

    escape_last_resort()
    args = sys.argv[1:] if argv is None else argv
    try:
        result = build_app(args)(args=args, prog_name="postroom", standalone_mode=False)
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
