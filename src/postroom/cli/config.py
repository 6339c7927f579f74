"""`postroom route …`, `postroom user …`, `postroom db upgrade`."""

from __future__ import annotations

import re
from enum import StrEnum
from typing import Annotated

import typer

from postroom.cli.options import JsonOpt
from postroom.cli.output import echo, print_json, shown
from postroom.cli.state import current_app
from postroom.domain.routes import Route
from postroom.errors import UserError
from postroom.services.ingest import utcnow
from postroom.storage import config
from postroom.storage.database import make_engine, reading, upgrade

_ADDRESS = re.compile(r"^[^@\s<>()\[\],;:\"]+@[A-Za-z0-9.-]+\.?[A-Za-z0-9-]*$")


class Role(StrEnum):
    AGENT = "agent"
    ADMIN = "admin"


def checked_address(text: str) -> str:
    address = text.strip().lower()
    if not _ADDRESS.match(address) or address.count("@") != 1:
        raise UserError(f"not an email address: {text!r}")
    return address


def _required(value: str, name: str) -> str:
    if not value.strip():
        raise UserError(f"--{name} must not be empty")
    return value.strip()


def register(app: typer.Typer) -> None:
    route_app = typer.Typer(help="Routes: recipient address → Context, Category, Queue.")
    user_app = typer.Typer(help="Agents and administrators.")
    db_app = typer.Typer(help="The database schema.")
    app.add_typer(route_app, name="route")
    app.add_typer(user_app, name="user")
    app.add_typer(db_app, name="db")

    @route_app.command("add")
    def route_add(
        address: str,
        context: Annotated[str, typer.Option(help="Context of new Tickets")],
        category: Annotated[str, typer.Option(help="Category of new Tickets")],
        queue: Annotated[str, typer.Option(help="Queue of new Tickets")],
        acknowledge: Annotated[bool, typer.Option(help="send an acknowledgement")] = False,
    ) -> None:
        """Add a route for new Tickets written to ADDRESS."""
        route = Route(
            checked_address(address),
            _required(context, "context"),
            _required(category, "category"),
            _required(queue, "queue"),
            acknowledge,
        )
        with current_app().engine.begin() as conn:
            config.add_route(conn, route, utcnow())
        echo(
            f"route {shown(route.address)} → {shown(route.context)} / "
            f"{shown(route.category)} / {shown(route.queue)}"
        )

    @route_app.command("list")
    def route_list(as_json: JsonOpt = False) -> None:
        """List the routes."""
        with reading(current_app().engine) as conn:
            found = config.list_routes(conn)
        rows = [
            {
                "address": r.address,
                "context": r.context,
                "category": r.category,
                "queue": r.queue,
                "acknowledge": r.acknowledge,
            }
            for r in found
        ]
        if as_json:
            print_json(rows)
            return
        for r in rows:
            ack = " (acknowledge)" if r["acknowledge"] else ""
            fields = (r["address"], r["context"], r["category"], r["queue"])
            echo("\t".join(shown(f) for f in fields) + ack)

    @route_app.command("remove")
    def route_remove(address: str) -> None:
        """Remove the route for ADDRESS."""
        with current_app().engine.begin() as conn:
            config.remove_route(conn, checked_address(address))
        echo(f"removed route {shown(address.lower())}")

    @user_app.command("add")
    def user_add(
        name: str,
        email: Annotated[str | None, typer.Option(help="the user's address")] = None,
        role: Annotated[Role, typer.Option(help="agent or admin")] = Role.AGENT,
    ) -> None:
        """Add an agent (or admin) who can own and work on items."""
        name = _required(name, "name")
        mail = checked_address(email) if email else None
        with current_app().engine.begin() as conn:
            config.add_user(conn, name, mail, role.value, utcnow())
        echo(f"user {shown(name)} ({role.value})")

    @user_app.command("list")
    def user_list(as_json: JsonOpt = False) -> None:
        """List users."""
        with reading(current_app().engine) as conn:
            rows = [
                {"name": u.name, "email": u.email, "role": u.role} for u in config.list_users(conn)
            ]
        if as_json:
            print_json(rows)
            return
        for r in rows:
            echo("\t".join(shown(f) for f in (r["name"], r["email"] or "", r["role"])))

    @db_app.command("upgrade")
    def db_upgrade() -> None:
        """Create or upgrade the database schema."""
        application = current_app()
        _ = application.home  # made private (storage/home.py)
        revision = upgrade(make_engine(application.settings.effective_database_url))
        echo(f"database at revision {revision}")
