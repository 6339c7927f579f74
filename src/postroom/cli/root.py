"""The root Typer application, without its commands (cli/app.py registers those): its
help, its ``--version``, the help options every command takes."""

from __future__ import annotations

from typing import Annotated

import typer


def root_app(help_options: list[str]) -> typer.Typer:
    app = typer.Typer(
        name="postroom",
        help="Postroom: the email gateway that files every email on the right work item.",
        no_args_is_help=True,
        add_completion=False,
        pretty_exceptions_enable=False,
        context_settings={"help_option_names": help_options},
    )
    app.callback(invoke_without_command=True)(_root)
    return app


def _version(wanted: bool) -> None:
    if wanted:
        from importlib.metadata import version

        typer.echo(f"postroom {version('postroom')}")
        raise typer.Exit()


def _root(
    version: Annotated[
        bool,
        typer.Option("--version", help="print the version and exit", is_eager=True),
    ] = False,
) -> None:
    """Postroom: the email gateway that files every email on the right work item."""
    _version(version)
