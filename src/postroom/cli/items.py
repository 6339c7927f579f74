"""`postroom item …`: list, show and change work items."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from postroom.cli import reply
from postroom.cli.options import JsonOpt
from postroom.cli.output import echo, print_json, shown
from postroom.cli.state import current_app
from postroom.clock import utcnow
from postroom.domain.workitems import State
from postroom.records.statuses import CommunicationStatus
from postroom.render.listing import more_line, newest
from postroom.render.mail import item_detail_json
from postroom.services.items import ItemService


def _line(item: dict[str, Any]) -> str:
    parts = [item["reference"], item["state"], item["queue"] or "-", item["subject"] or ""]
    return "\t".join(shown(p) for p in parts)


def _echo_item(item: dict[str, Any], texts: dict[int, str] | None) -> None:
    """`item show` for a person; ``texts``: each communication's text (--full)."""
    for key in (
        "reference",
        "type",
        "state",
        "queue",
        "context",
        "category",
        "owner",
        "assignee",
        "case",
        "linked_to",
        "requester",
        "subject",
    ):
        if item.get(key) is not None:
            echo(f"{key + ':':12} {shown(item[key])}")
    for h in item["history"]:
        by = shown(h["actor"] or h["cause"])
        if h["communication"]:
            by += f" (communication {h['communication']})"
        new, old = shown(h["new"]), shown(h["old"])
        change = new if h["field"] == "created" else f"{old} → {new}"
        echo(f"  · {h['at']} {shown(h['field'])}: {change} by {by}")
    for c in item["communications"]:
        arrow = "←" if c["direction"] == "in" else "→"
        status = (
            f" [{shown(c['status'])}]"
            if c["status"] not in (None, CommunicationStatus.RECEIVED)
            else ""
        )
        sender, subject = shown(c["from"] or ""), shown(c["subject"] or "")
        echo(f"  {arrow} {c['at']} {sender}: {subject}{status} (message show {c['id']})")
        if texts is not None:
            body = texts[c["id"]] or "(no text)"
            echo("\n".join(f"      {line}" for line in body.splitlines()) + "\n")


def register(app: typer.Typer) -> None:
    """The `item` group, made anew for each application (`cli/app.py` builds one per
    command line): `item reply` first (cli/reply.py), then the commands below."""
    item_app = typer.Typer(help="Work items: Tickets, Cases, Actions.")
    app.add_typer(item_app, name="item")
    reply.register(item_app)

    def service() -> ItemService:
        return current_app().items()

    @item_app.command("list")
    def item_list(
        state: Annotated[State | None, typer.Option(help="only items in this state")] = None,
        queue: Annotated[str | None, typer.Option(help="only items in this queue")] = None,
        limit: Annotated[
            int | None, typer.Option(min=1, help="at most this many, the newest")
        ] = None,
        as_json: JsonOpt = False,
    ) -> None:
        """Work items, newest first (--json: oldest first, as documented)."""
        every = service().list(state, queue)
        items = [item_detail_json(d) for d in newest(every, limit, newest_first=not as_json)]
        if as_json:
            print_json(items)
            return
        for item in items:
            echo(_line(item))
        more = more_line(len(every), len(items))
        if more:
            echo(more)

    @item_app.command("show")
    def item_show(
        ref: str,
        full: Annotated[bool, typer.Option(help="with each communication's text")] = False,
        as_json: JsonOpt = False,
    ) -> None:
        """One work item with its communications (--full: and their text)."""
        item = item_detail_json(service().show(ref))
        texts: dict[int, str] = {}
        if full:
            messages = current_app().messages
            for c in item["communications"]:
                stored = messages.show(c["id"])
                text = stored.mail.body_text if stored.mail is not None else None
                c["body_text"] = text
                texts[c["id"]] = text if text is not None else f"({stored.unparsed})"
        if as_json:
            print_json(item)
            return
        _echo_item(item, texts if full else None)

    @item_app.command("set-state")
    def item_set_state(ref: str, state: State) -> None:
        """Change the state: to-do, in-progress, waiting, resolved, closed."""
        item = service().set_state(ref, state, utcnow())
        echo(f"{item.reference} {item.state}")

    @item_app.command("set-owner")
    def item_set_owner(ref: str, user: str) -> None:
        """Set the owner (updates to a Case are assigned to its owner)."""
        item = service().set_owner(ref, user, utcnow())
        echo(f"{item.reference} owner {shown(item.owner)}")

    @item_app.command("start-case")
    def item_start_case(ref: str) -> None:
        """The Ticket starts a Case with the same number; prints the Case reference."""
        echo(service().start_case(ref, utcnow()).reference)

    @item_app.command("add-action")
    def item_add_action(
        case_ref: str,
        queue: Annotated[str | None, typer.Option(help="queue (default: the Case's)")] = None,
    ) -> None:
        """A new Action in the Case; prints the Action reference."""
        echo(service().add_action(case_ref, queue, utcnow()).reference)
