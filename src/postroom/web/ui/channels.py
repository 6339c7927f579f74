"""``/channels`` (admins): the input channels at a glance, add one, edit one (the password
is write-only: left empty, the stored one stays), test its connection step by step,
enable it (only once its check passes: the page says why not), disable it, remove it
after a confirmation.

Test connection posts a form: the answer is the page with each step of the check (✓/✗,
figure, error, hint). Asked with ``Accept: application/json`` (``static/check.js``, which
shows the steps pending while the check runs), the same POST answers the steps as JSON;
with ``Accept: application/x-ndjson``, each step as it ends (`ui.check_stream`, which is
why the page may connect to this site: `CHECK_CSP`).
The check is bounded by the channel's timeout per answer (`ChannelService.check`).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Path, Request
from fastapi.responses import HTMLResponse, Response

from postroom.bootstrap import App
from postroom.errors import UserError
from postroom.records.config import ChannelRecord
from postroom.services.channels import ChannelChange, NewChannel
from postroom.services.enabling import Admission
from postroom.web.api.budget import Budget
from postroom.web.auth import Postroom
from postroom.web.ui.check_steps import CheckView
from postroom.web.ui.connection_door import Connection, ConnectionDoor, ConnectionForm
from postroom.web.ui.connection_pages import protocol, refusal
from postroom.web.ui.form_fields import optional, whole_number
from postroom.web.ui.pages import BrowserAdmin, PostedAdmin, Visitor, page, redirect
from postroom.web.ui.wording import for_the_web

router = APIRouter(include_in_schema=False)

Name = Annotated[str, Path(min_length=1, max_length=200)]
Text = Annotated[str, Form(max_length=1100)]
MAX_INTERVAL = 7 * 24 * 3600
FIELDS = ("name", "url", "authzid", "ca_file", "interval", "max_failures", "folder", "after")
DOOR = ConnectionDoor(
    base="/channels",
    noun="Channel",
    kind="channel",
    short="channel",
    example="support",
    working="is on",
    stopped="it is not polled",
    template="channel.html",
    new_template="channel_new.html",
    new_title="Add a channel",
    fields=FIELDS,
    forgets="Postroom forgets its settings and password and stops polling it. "
    "A channel that stored mail cannot be removed (its ledger keeps that mail from being "
    "taken twice): disable it instead.",
)


@router.get("/channels", response_class=HTMLResponse)
def channels(request: Request, app: Postroom, visitor: BrowserAdmin) -> HTMLResponse:
    overview = app.overview.overview()
    health = {c.name: c for c in overview.channels}
    rows = [(c, health.get(c.name), protocol(c.url)) for c in app.channels.list()]
    return page(request, visitor, "channels.html", title="Channels", rows=rows, now=overview.at)


@router.get("/channels/new", response_class=HTMLResponse)
def new_channel(request: Request, visitor: BrowserAdmin) -> HTMLResponse:
    return DOOR.new_page(request, visitor, {"interval": "60", "max_failures": "10"})


@router.post("/channels/new")
def add_channel(
    request: Request,
    app: Postroom,
    visitor: PostedAdmin,
    budget: Budget,
    form: Connection,
    name: Text = "",
    interval: Text = "60",
    max_failures: Text = "10",
    folder: Text = "",
    after: Text = "",
) -> Response:
    typed = form.typed() | {"name": name, "interval": interval, "max_failures": max_failures}
    typed |= {"folder": folder, "after": after}
    try:
        chosen = DOOR.new_name(name)
        given = form.new()
        if given.password is None:
            raise UserError("give the mailbox's password in the Password field")
        new = NewChannel(
            name=chosen,
            **given.settings(),
            interval=whole_number(interval, "Interval", 5, MAX_INTERVAL),
            max_failures=whole_number(max_failures, "Max failures", 1, 10_000),
            folder=optional(folder, "Folder", 300),
            after=optional(after, "After", 310),
        )
        later = DOOR.added_later(chosen)
        added = budget.run(lambda: app.channels.add(new), f"the check of {chosen}", later)
    except UserError as exc:
        return DOOR.new_page(request, visitor, typed, error=for_the_web(str(exc)), status=422)
    message = f"Channel {chosen} added" + _admitted(added.admission)
    if added.unrouted:
        message += f" Note: no route covers {added.channel.address} yet: add one on Routes."
    return redirect(DOOR.where(chosen), message, error=not _enabled(added.admission))


@router.get("/channels/{name}", response_class=HTMLResponse)
def channel(request: Request, app: Postroom, visitor: BrowserAdmin, name: Name) -> HTMLResponse:
    return _channel_page(request, app, visitor, app.channels.show(name))


@router.post("/channels/{name}")
def change_channel(
    request: Request,
    app: Postroom,
    visitor: PostedAdmin,
    budget: Budget,
    name: Name,
    form: Connection,
    interval: Text = "",
    max_failures: Text = "",
) -> Response:
    before = app.channels.show(name)
    typed = form.typed() | {"interval": interval, "max_failures": max_failures}
    try:
        change = _change(before, form, interval, max_failures)
        changed = budget.run(
            lambda: app.channels.set(name, change), f"the check of {name}", DOOR.later
        )
    except UserError as exc:
        return _channel_page(
            request, app, visitor, before, form=typed, error=for_the_web(str(exc)), status=422
        )
    if changed.admission is None:
        return redirect(DOOR.where(name), f"Channel {name} saved.")
    if changed.admission.enabled:
        return redirect(DOOR.where(name), f"Channel {name} saved; its check passed: it is on.")
    why = refusal(changed.admission)
    if why:
        text = f"Channel {name} saved, but its check failed and it stays off: {why}"
        return redirect(DOOR.where(name), text, error=True)
    text = f"Channel {name} saved and checked; it stays off (you switched it off): enable it."
    return redirect(DOOR.where(name), text)


@router.post("/channels/{name}/check")
def check_channel(
    request: Request, app: Postroom, visitor: PostedAdmin, budget: Budget, name: Name
) -> Response:
    app.channels.show(name)  # an unknown channel is a 404 before the answer starts
    return DOOR.check(
        request,
        budget,
        name,
        lambda: app.channels.check(name),
        lambda ran: _channel_page(request, app, visitor, app.channels.show(name), ran=ran),
    )


def _change(
    before: ChannelRecord, form: ConnectionForm, interval: str, max_failures: str
) -> ChannelChange:
    """What the edit form changes: only the fields whose value differs from the stored
    one (an unchanged URL is not checked again); an empty password keeps the stored one."""
    edit = DOOR.edit(before, form)
    new_interval = whole_number(interval, "Interval", 5, MAX_INTERVAL)
    new_limit = whole_number(max_failures, "Max failures", 1, 10_000)
    change = ChannelChange(
        **edit.settings(),
        interval=new_interval if new_interval != before.interval_s else None,
        max_failures=new_limit if new_limit != before.max_failures else None,
    )
    if change == ChannelChange():
        raise UserError("nothing changed: edit a field (or type a new password), then save")
    return change


def _channel_page(
    request: Request,
    app: App,
    visitor: Visitor,
    found: ChannelRecord,
    *,
    form: dict[str, str] | None = None,
    ran: CheckView | None = None,
    error: str | None = None,
    status: int = 200,
) -> HTMLResponse:
    stored = {"interval": str(found.interval_s), "max_failures": str(found.max_failures)}
    unrouted = app.channels.unrouted(found.name)
    return DOOR.page(
        request,
        visitor,
        found,
        stored,
        form=form,
        ran=ran,
        error=error,
        status=status,
        channel=found,
        unrouted=unrouted.partition("; add one:")[0] if unrouted else None,
    )


def _admitted(admission: Admission | None) -> str:
    if admission is None:
        return ", not checked: it stays off."
    if admission.enabled:
        return ": its connection check passed and it is on."
    return f", but it stays off: its check failed at {refusal(admission)}"


def _enabled(admission: Admission | None) -> bool:
    return admission is not None and admission.enabled


DOOR.routes(router, lambda app: app.channels, _channel_page)
