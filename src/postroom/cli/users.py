"""`postroom user …` and `postroom token …`: who may sign in, and the API tokens they hold.

A password comes from a named environment variable or from standard input, never from the
command line (where `ps` and the shell's history would show it). A token's secret is printed
once, by `token create`, and nowhere else.
"""

from __future__ import annotations

import os
import re
import sys
from typing import Annotated

import typer

from postroom.cli.options import JsonOpt, PasswordEnv, PasswordStdin
from postroom.cli.output import echo, print_json, shown
from postroom.cli.state import current_app
from postroom.errors import InputError, UserError
from postroom.records.config import Role
from postroom.render.config import token_created_json, token_json, user_json
from postroom.services.passwords import MAX_PASSWORD

_VARIABLE_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,254}")

Email = Annotated[str | None, typer.Option(help="the user's address")]


def password_given(env_var: str | None, stdin: bool) -> str | None:
    """The password named by ``--password-env VAR`` or on stdin's first line (None: neither).

    An argument that is not a variable's name is probably the password itself: the error
    says so without echoing it.
    """
    if env_var is not None and stdin:
        raise InputError("give the password with --password-env or --password-stdin, not both")
    if env_var is not None:
        if not _VARIABLE_NAME.fullmatch(env_var):
            raise InputError(
                "--password-env takes an environment variable's name, not a password:"
                " give the variable's name (e.g. --password-env POSTROOM_PASSWORD)"
            )
        value = os.environ.get(env_var)
        if value is None:
            raise InputError(
                "--password-env: that environment variable is not set: export it, and give"
                " the variable's name (never the password itself)"
            )
        return value
    if stdin:
        text = sys.stdin.readline(MAX_PASSWORD + 2)  # past the limit: refused, unread
        line = text.rstrip("\r\n")
        if not line:
            raise InputError("no password on standard input: write it on the first line")
        return line
    return None


def register(app: typer.Typer) -> None:
    user_app = typer.Typer(help="Agents and administrators, and who may sign in.")
    token_app = typer.Typer(help="API tokens (shown once, stored hashed).")
    app.add_typer(user_app, name="user")
    app.add_typer(token_app, name="token")

    @user_app.command("add")
    def user_add(
        name: str,
        email: Email = None,
        role: Annotated[Role, typer.Option(help="agent or admin")] = Role.AGENT,
        password_env: PasswordEnv = None,
        password_stdin: PasswordStdin = False,
    ) -> None:
        """Add an agent (or admin); with a password, they can sign in to the web service."""
        password = password_given(password_env, password_stdin)
        user = current_app().users.add(name, email, role, password)
        signs_in = "" if password is not None else ", cannot sign in (no password)"
        echo(f"user {shown(user.name)} ({user.role}{signs_in})")

    @user_app.command("set")
    def user_set(
        name: str,
        email: Annotated[str | None, typer.Option(help="the user's address ('' clears it)")] = None,
        role: Annotated[Role | None, typer.Option(help="agent or admin")] = None,
        password_env: PasswordEnv = None,
        password_stdin: PasswordStdin = False,
    ) -> None:
        """Change a user's address, role or password."""
        password = password_given(password_env, password_stdin)
        if email is None and role is None and password is None:
            raise UserError(
                "nothing to change: give --email, --role, --password-env or --password-stdin"
            )
        user = current_app().users.set(name, role, email, password)
        echo(f"user {shown(user.name)} ({user.role})")

    @user_app.command("remove")
    def user_remove(name: str) -> None:
        """Remove a user: its API tokens and sessions stop working; items keep its name."""
        user = current_app().users.remove(name)
        echo(f"removed user {shown(user.name)}")

    @user_app.command("list")
    def user_list(as_json: JsonOpt = False) -> None:
        """List users."""
        rows = [user_json(u) for u in current_app().users.list()]
        if as_json:
            print_json(rows)
            return
        for r in rows:
            echo("\t".join(shown(f) for f in (r["name"], r["email"] or "", r["role"])))

    @token_app.command("create")
    def token_create(
        user: str,
        name: Annotated[str | None, typer.Option("--name", help="a label for the token")] = None,
        as_json: JsonOpt = False,
    ) -> None:
        """Create an API token for USER and print it (once: only its hash is kept)."""
        record, secret = current_app().accounts.create_token(user, name)
        if as_json:
            print_json(token_created_json(record, secret))
            return
        echo(secret)
        echo(
            f"token {record.id} for {shown(record.user)}: shown once, keep it now"
            f" (postroom token revoke {record.id} ends it)",
            err=True,
        )

    @token_app.command("list")
    def token_list(as_json: JsonOpt = False) -> None:
        """List API tokens (never their secrets)."""
        rows = [token_json(t) for t in current_app().accounts.list_tokens()]
        if as_json:
            print_json(rows)
            return
        for r in rows:
            state = f"revoked {r['revoked_at']}" if r["revoked_at"] else "active"
            used = r["last_used_at"] or "never used"
            fields = (str(r["id"]), r["user"], r["name"] or "", r["created_at"], used, state)
            echo("\t".join(shown(f) for f in fields))

    @token_app.command("revoke")
    def token_revoke(token_id: Annotated[int, typer.Argument(metavar="ID")]) -> None:
        """Revoke an API token: it stops working at once."""
        record = current_app().accounts.revoke_token(token_id)
        echo(f"revoked token {record.id} of {shown(record.user)}")
