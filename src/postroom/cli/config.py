"""`postroom route …`, `postroom user …`, `postroom db upgrade`."""

from __future__ import annotations

from typing import Annotated

import typer

from postroom.cli.options import JsonOpt
from postroom.cli.output import echo, print_json, shown
from postroom.cli.state import current_app
from postroom.records.config import Role
from postroom.render.config import route_json, user_json


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
        route = current_app().routes.add(address, context, category, queue, acknowledge)
        echo(
            f"route {shown(route.address)} → {shown(route.context)} / "
            f"{shown(route.category)} / {shown(route.queue)}"
        )

    @route_app.command("list")
    def route_list(as_json: JsonOpt = False) -> None:
        """List the routes."""
        rows = [route_json(r) for r in current_app().routes.list()]
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
        current_app().routes.remove(address)
        echo(f"removed route {shown(address.lower())}")

    @user_app.command("add")
    def user_add(
        name: str,
        email: Annotated[str | None, typer.Option(help="the user's address")] = None,
        role: Annotated[Role, typer.Option(help="agent or admin")] = Role.AGENT,
    ) -> None:
        """Add an agent (or admin) who can own and work on items."""
        user = current_app().users.add(name, email, role)
        echo(f"user {shown(user.name)} ({user.role})")

    @user_app.command("list")
    def user_list(as_json: JsonOpt = False) -> None:
        """List users."""
        rows = [user_json(u) for u in current_app().users.list()]
        if as_json:
            print_json(rows)
            return
        for r in rows:
            echo("\t".join(shown(f) for f in (r["name"], r["email"] or "", r["role"])))

    @db_app.command("upgrade")
    def db_upgrade() -> None:
        """Create or upgrade the database schema."""
        echo(f"database at revision {current_app().upgrade_schema()}")
