"""`postroom route …`, `postroom db upgrade` (users and tokens: cli/users.py)."""

from __future__ import annotations

from typing import Annotated

import typer

from postroom.cli.options import JsonOpt
from postroom.cli.output import echo, print_json, shown
from postroom.cli.state import current_app
from postroom.render.config import route_json


def register(app: typer.Typer) -> None:
    route_app = typer.Typer(help="Routes: recipient address → Context, Category, Queue.")
    db_app = typer.Typer(help="The database schema.")
    app.add_typer(route_app, name="route")
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
    def route_list(
        limit: Annotated[int | None, typer.Option(min=1, help="at most this many")] = None,
        as_json: JsonOpt = False,
    ) -> None:
        """List the routes, by address."""
        rows = [route_json(r) for r in current_app().routes.list()][:limit]
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

    @route_app.command("set")
    def route_set(
        address: str,
        context: Annotated[str | None, typer.Option(help="Context of new Tickets")] = None,
        category: Annotated[str | None, typer.Option(help="Category of new Tickets")] = None,
        queue: Annotated[str | None, typer.Option(help="Queue of new Tickets")] = None,
        acknowledge: Annotated[
            bool | None,
            typer.Option("--acknowledge/--no-acknowledge", help="send an acknowledgement"),
        ] = None,
    ) -> None:
        """Change the route for ADDRESS (what is not given stays)."""
        route = current_app().routes.set(address, context, category, queue, acknowledge)
        ack = " (acknowledge)" if route.acknowledge else ""
        echo(
            f"route {shown(route.address)} → {shown(route.context)} / "
            f"{shown(route.category)} / {shown(route.queue)}{ack}"
        )

    @db_app.command("upgrade")
    def db_upgrade() -> None:
        """Create or upgrade the database schema."""
        echo(f"database at revision {current_app().upgrade_schema()}")
