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
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any, NoReturn, Protocol

if TYPE_CHECKING:
    import typer

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

HELP_OPTIONS = ["-h", "--help"]
READ_ONLY_TOP = frozenset({"explain", "status", "check", "auth-string"})
READ_ONLY_SUB = frozenset({"list", "show", "raw"})
"""Commands that only read: they never create or upgrade the schema (storage/database.py);
any other command (`db upgrade`, `run`, `web`, every command that writes) may."""


class _CommandModule(Protocol):
    def register(self, app: typer.Typer) -> None: ...


def build_app(argv: list[str] | None = None) -> typer.Typer:
    """The root application with the modules ``argv``'s command needs (all without one)."""
    from postroom.cli.root import root_app

    app = root_app(HELP_OPTIONS)
    command = argv[0] if argv else None
    for name in COMMANDS.get(command, MODULES) if command else MODULES:
        module: _CommandModule = importlib.import_module(f"postroom.cli.{name}")
        module.register(app)
    return app


def _tidy(command: Any) -> None:
    """Help that reads as the flags are used: a flag shows no ``<bool>`` value and no
    ``--no-…`` twin when off is its default (``--no-check``, never ``--no-no-check``), and
    a group given alone prints its commands."""
    # The help option is made on first use; made now (with the names the root's context
    # gives every command) so that it is tidied too.
    names = SimpleNamespace(help_option_names=HELP_OPTIONS)
    helper = command.get_help_option(names) if hasattr(command, "get_help_option") else None
    for param in [*getattr(command, "params", []), *([helper] if helper else [])]:
        if getattr(param, "is_flag", False):
            param.metavar = ""
            if param.default is False:
                param.secondary_opts = []
    subcommands = getattr(command, "commands", None)
    if subcommands is not None:
        command.no_args_is_help = True
        for sub in subcommands.values():
            _tidy(sub)


def _reads_only(args: list[str]) -> bool:
    words = [a for a in args if not a.startswith("-")][:2]
    if not words:
        return True
    return words[0] in READ_ONLY_TOP or (len(words) > 1 and words[1] in READ_ONLY_SUB)


def main(argv: list[str] | None = None) -> None:
    """Entry point: run the app; user mistakes are one line on stderr, never a traceback.

    Exit status, one rule for every command (README, docs/cli.md): 0 success; 2 when what
    the command was given cannot be used: the command line (an unknown command or option,
    a missing argument, a value of the wrong type) or what it names (a URL of an unknown
    scheme, a missing or unreadable file, an unset environment variable, a ``POSTROOM_…``
    setting: `InputError`); 1 when a well-formed request was refused or failed (a name not
    found or taken, a check or a server that failed, the database); commands with a code
    of their own (ingest's 75, check's 3) raise SystemExit themselves.
    """
    from postroom.cli.pipe import escape_last_resort, pipe_shape, run
    from postroom.errors import InputError, StorageUnavailableError, UserError

    escape_last_resort()
    args = sys.argv[1:] if argv is None else argv
    may_migrate = not _reads_only(args)
    # An MTA's `ingest [--channel C] [--json] [FILE|-]` runs without Typer (cli/pipe.py).
    call = pipe_shape(args)
    try:
        if call is not None:
            run(call, may_migrate=may_migrate)
            sys.exit(0)
        import typer.main

        from postroom.cli import state

        state.may_migrate = may_migrate
        command = typer.main.get_command(build_app(args))
        _tidy(command)
        result = command.main(args=args, prog_name="postroom", standalone_mode=False)
    except InputError as exc:
        fail(str(exc), code=2)
    except UserError as exc:
        from postroom.render.fixes import cli_words

        fail(cli_words(exc), code=1)
    except StorageUnavailableError as exc:
        # The database (or the blob store) cannot be used now: a failed operation, which
        # changed nothing it did not commit; worth trying again later.
        fail(f"storage: {exc}", code=1)
    except SystemExit:
        raise
    except Exception as exc:  # noqa: BLE001 - the one place that turns errors into exit codes
        show = getattr(exc, "show", None)
        code = getattr(exc, "exit_code", None)
        if exc.__class__.__name__ == "NoArgsIsHelpError":
            # A group (or postroom) given alone: its commands, as --help prints them.
            import typer

            typer.echo(exc.format_message())  # type: ignore[attr-defined]
            sys.exit(0)
        if callable(show) and isinstance(code, int):
            # Typer's (vendored Click's) usage errors: its own one-line message.
            show()
            sys.exit(code)
        if exc.__class__.__name__ == "Abort":
            fail("aborted", code=1)
        fail(f"internal error: {exc.__class__.__name__}: {exc}", code=1)
    sys.exit(result if isinstance(result, int) else 0)


def fail(message: str, code: int) -> NoReturn:
    """`cli.output.fail`, imported when a command fails (it brings Typer's echo along)."""
    from postroom.cli.output import fail as fail_with

    fail_with(message, code=code)
