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

from pathlib import Path as FilePath
from typing import Annotated

from fastapi import APIRouter, Form, Path, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response

from postroom.bootstrap import App
from postroom.credentials import Secret
from postroom.errors import UserError
from postroom.records.config import ChannelRecord
from postroom.render.checks import check_json
from postroom.services.channels import ChannelChange, NewChannel
from postroom.services.enabling import Admission
from postroom.web.api.budget import Budget
from postroom.web.auth import Postroom
from postroom.web.ui.check_steps import CheckView, check_view
from postroom.web.ui.check_stream import CHECK_CSP, streamed, wants_stream
from postroom.web.ui.connection_pages import (
    ca_path,
    protocol,
    refusal,
    segment,
    steps_for,
    wants_json,
)
from postroom.web.ui.form_fields import one_line, optional, secret, whole_number
from postroom.web.ui.pages import BrowserAdmin, PostedAdmin, Visitor, page, redirect
from postroom.web.ui.wording import for_the_web

router = APIRouter(include_in_schema=False)

Name = Annotated[str, Path(min_length=1, max_length=200)]
Text = Annotated[str, Form(max_length=1100)]
MAX_INTERVAL = 7 * 24 * 3600
_LATER = "its result will show on this channel's page"
FIELDS = ("name", "url", "authzid", "ca_file", "interval", "max_failures", "folder", "after")


@router.get("/channels", response_class=HTMLResponse)
def channels(request: Request, app: Postroom, visitor: BrowserAdmin) -> HTMLResponse:
    overview = app.overview.overview()
    health = {c.name: c for c in overview.channels}
    rows = [(c, health.get(c.name), protocol(c.url)) for c in app.channels.list()]
    return page(request, visitor, "channels.html", title="Channels", rows=rows, now=overview.at)


@router.get("/channels/new", response_class=HTMLResponse)
def new_channel(request: Request, visitor: BrowserAdmin) -> HTMLResponse:
    return _new_page(request, visitor, {"interval": "60", "max_failures": "10"})


@router.post("/channels/new")
def add_channel(
    request: Request,
    app: Postroom,
    visitor: PostedAdmin,
    budget: Budget,
    name: Text = "",
    url: Text = "",
    password: Annotated[str, Form(max_length=1100)] = "",
    authzid: Text = "",
    ca_file: Text = "",
    interval: Text = "60",
    max_failures: Text = "10",
    folder: Text = "",
    after: Text = "",
) -> Response:
    values = (name, url, authzid, ca_file, interval, max_failures, folder, after)
    typed = dict(zip(FIELDS, values, strict=True))
    try:
        chosen = one_line(name, "Name", 200)
        if not chosen or "/" in chosen:
            raise UserError("give the channel a name without a slash (e.g. support)")
        if chosen == "new":
            raise UserError("choose another name: /channels/new is the page that adds one")
        opened = secret(password)
        if opened is None:
            raise UserError("give the mailbox's password in the Password field")
        new = NewChannel(
            name=chosen,
            url=one_line(url, "URL"),
            password=Secret(opened),
            authzid=optional(authzid, "Authorization identity", 320),
            ca_file=ca_path(ca_file),
            interval=whole_number(interval, "Interval", 5, MAX_INTERVAL),
            max_failures=whole_number(max_failures, "Max failures", 1, 10_000),
            folder=optional(folder, "Folder", 300),
            after=optional(after, "After", 310),
        )
        later = f"its result will show on /channels/{segment(chosen)}"
        added = budget.run(lambda: app.channels.add(new), f"the check of {chosen}", later)
    except UserError as exc:
        return _new_page(request, visitor, typed, error=for_the_web(str(exc)), status=422)
    message = f"Channel {chosen} added" + _admitted(added.admission)
    if added.unrouted:
        message += f" Note: no route covers {added.channel.address} yet: add one on Routes."
    return redirect(f"/channels/{segment(chosen)}", message, error=not _enabled(added.admission))


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
    url: Text = "",
    password: Annotated[str, Form(max_length=1100)] = "",
    authzid: Text = "",
    ca_file: Text = "",
    interval: Text = "",
    max_failures: Text = "",
) -> Response:
    before = app.channels.show(name)
    typed = {"url": url, "authzid": authzid, "ca_file": ca_file}
    typed |= {"interval": interval, "max_failures": max_failures}
    try:
        change = _change(before, url, password, authzid, ca_file, interval, max_failures)
        changed = budget.run(lambda: app.channels.set(name, change), f"the check of {name}", _LATER)
    except UserError as exc:
        return _channel_page(
            request, app, visitor, before, form=typed, error=for_the_web(str(exc)), status=422
        )
    if changed.admission is None:
        return redirect(f"/channels/{segment(name)}", f"Channel {name} saved.")
    if changed.admission.enabled:
        return redirect(
            f"/channels/{segment(name)}", f"Channel {name} saved; its check passed: it is on."
        )
    why = refusal(changed.admission)
    if why:
        text = f"Channel {name} saved, but its check failed and it stays off: {why}"
        return redirect(f"/channels/{segment(name)}", text, error=True)
    text = f"Channel {name} saved and checked; it stays off (you switched it off): enable it."
    return redirect(f"/channels/{segment(name)}", text)


@router.post("/channels/{name}/check")
def check_channel(
    request: Request, app: Postroom, visitor: PostedAdmin, budget: Budget, name: Name
) -> Response:
    if wants_stream(request):
        app.channels.show(name)  # an unknown channel is a 404 before the answer starts
        return streamed(budget, lambda: app.channels.check(name), f"the check of {name}", _LATER)
    done = budget.run(lambda: app.channels.check(name), f"the check of {name}", _LATER)
    report = check_view(check_json(done))
    if wants_json(request):
        return JSONResponse(report.to_json(), headers={"Cache-Control": "no-store"})
    return _channel_page(request, app, visitor, app.channels.show(name), ran=report)


@router.post("/channels/{name}/enable")
def enable_channel(
    request: Request, app: Postroom, visitor: PostedAdmin, budget: Budget, name: Name
) -> Response:
    admission = budget.run(lambda: app.channels.enable(name), f"the check of {name}", _LATER)
    if admission.enabled:
        return redirect(f"/channels/{segment(name)}", f"Channel {name} is on: its check passed.")
    ran = check_view(check_json(admission.report)) if admission.report else None
    refused = f"Channel {name} stays off: {refusal(admission)}"
    return _channel_page(
        request, app, visitor, app.channels.show(name), ran=ran, error=refused, status=409
    )


@router.post("/channels/{name}/disable")
def disable_channel(app: Postroom, _: PostedAdmin, name: Name) -> Response:
    app.channels.disable(name)
    return redirect(f"/channels/{segment(name)}", f"Channel {name} is off: it is not polled.")


@router.get("/channels/{name}/remove", response_class=HTMLResponse)
def confirm_removal(
    request: Request, app: Postroom, visitor: BrowserAdmin, name: Name
) -> HTMLResponse:
    found = app.channels.show(name)
    return page(
        request,
        visitor,
        "remove.html",
        title=f"Remove channel {found.name}",
        kind="channel",
        name=found.name,
        action=f"/channels/{segment(found.name)}/remove",
        back=f"/channels/{segment(found.name)}",
        consequence="Postroom forgets its settings and password and stops polling it. "
        "A channel that stored mail cannot be removed (its ledger keeps that mail from being "
        "taken twice): disable it instead.",
    )


@router.post("/channels/{name}/remove")
def remove_channel(app: Postroom, _: PostedAdmin, name: Name) -> Response:
    try:
        app.channels.remove(name)
    except UserError as exc:
        return redirect(f"/channels/{segment(name)}", for_the_web(str(exc)), error=True)
    return redirect("/channels", f"Channel {name} removed.")


def _change(
    before: ChannelRecord,
    url: str,
    password: str,
    authzid: str,
    ca_file: str,
    interval: str,
    max_failures: str,
) -> ChannelChange:
    """What the edit form changes: only the fields whose value differs from the stored
    one (an unchanged URL is not checked again); an empty password keeps the stored one."""
    new_url = one_line(url, "URL")
    new_authzid = one_line(authzid, "Authorization identity", 320)
    new_ca = one_line(ca_file, "CA file")
    if before.ca_file and not new_ca:
        raise UserError("a CA file cannot be removed here: give another, or remove the channel")
    new_interval = whole_number(interval, "Interval", 5, MAX_INTERVAL)
    new_limit = whole_number(max_failures, "Max failures", 1, 10_000)
    opened = secret(password)
    change = ChannelChange(
        url=new_url if new_url != before.url else None,
        password=Secret(opened) if opened is not None else None,
        authzid=new_authzid if new_authzid != (before.authzid or "") else None,
        ca_file=FilePath(new_ca) if new_ca and new_ca != before.ca_file else None,
        interval=new_interval if new_interval != before.interval_s else None,
        max_failures=new_limit if new_limit != before.max_failures else None,
    )
    if change == ChannelChange():
        raise UserError("nothing changed: edit a field (or type a new password), then save")
    return change


def _new_page(
    request: Request,
    visitor: Visitor,
    typed: dict[str, str],
    *,
    error: str | None = None,
    status: int = 200,
) -> HTMLResponse:
    form = {key: typed.get(key, "") for key in FIELDS}
    return page(
        request,
        visitor,
        "channel_new.html",
        title="Add a channel",
        form=form,
        error=error,
        status=status,
    )


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
    stored = {
        "url": found.url,
        "authzid": found.authzid or "",
        "ca_file": found.ca_file or "",
        "interval": str(found.interval_s),
        "max_failures": str(found.max_failures),
    }
    last = check_view(found.last_check) if found.last_check else None
    unrouted = app.channels.unrouted(found.name)
    shown = page(
        request,
        visitor,
        "channel.html",
        title=f"Channel {found.name}",
        status=status,
        channel=found,
        segment=segment(found.name),
        protocol=protocol(found.url),
        form=form or stored,
        error=error,
        ran=ran,
        last=last,
        steps=steps_for(found.url),
        unrouted=unrouted.partition("; add one:")[0] if unrouted else None,
    )
    shown.headers["Content-Security-Policy"] = CHECK_CSP
    return shown


def _admitted(admission: Admission | None) -> str:
    if admission is None:
        return ", not checked: it stays off."
    if admission.enabled:
        return ": its connection check passed and it is on."
    return f", but it stays off: its check failed at {refusal(admission)}"


def _enabled(admission: Admission | None) -> bool:
    return admission is not None and admission.enabled
