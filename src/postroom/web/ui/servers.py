"""``/smtp-servers`` (admins): the outbound SMTP servers, add one, edit one (write-only
password), Test connection step by step with an optional test-send address, enable it
(only once its check passes), disable it, remove it after a confirmation. The check
answers the page, or JSON when asked, or each step as it ends (as `ui.channels`)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Path, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response

from postroom.bootstrap import App
from postroom.errors import UserError
from postroom.records.config import SmtpServerRecord
from postroom.services.addresses import checked_address
from postroom.services.servers import NewServer, ServerChange
from postroom.web.api.budget import Budget
from postroom.web.auth import Postroom
from postroom.web.ui.check_steps import CheckView
from postroom.web.ui.check_stream import wants_stream
from postroom.web.ui.connection_door import Connection, ConnectionDoor, ConnectionForm
from postroom.web.ui.connection_pages import protocol, refusal, wants_json
from postroom.web.ui.form_fields import one_line
from postroom.web.ui.pages import BrowserAdmin, PostedAdmin, Visitor, page, redirect
from postroom.web.ui.wording import for_the_web

router = APIRouter(include_in_schema=False)

Name = Annotated[str, Path(min_length=1, max_length=200)]
Text = Annotated[str, Form(max_length=1100)]
Flag = Annotated[str, Form(max_length=10)]
FIELDS = ("name", "url", "authzid", "ca_file", "send_as", "default")
DOOR = ConnectionDoor(
    base="/smtp-servers",
    noun="SMTP server",
    kind="SMTP server",
    short="server",
    example="relay",
    working="is used",
    stopped="its mail waits or goes through another server",
    template="server.html",
    new_template="server_new.html",
    new_title="Add an SMTP server",
    fields=FIELDS,
    forgets="Postroom forgets its settings and password. Queued mail goes through "
    "the server chosen for its From address when it is sent, or waits for one.",
)


@router.get("/smtp-servers", response_class=HTMLResponse)
def servers(request: Request, app: Postroom, visitor: BrowserAdmin) -> HTMLResponse:
    health = {s.name: s for s in app.overview.overview().servers}
    rows = [(s, health.get(s.name), protocol(s.url)) for s in app.servers.list()]
    return page(request, visitor, "servers.html", title="SMTP servers", rows=rows)


@router.get("/smtp-servers/new", response_class=HTMLResponse)
def new_server(request: Request, visitor: BrowserAdmin) -> HTMLResponse:
    return DOOR.new_page(request, visitor, {})


@router.post("/smtp-servers/new")
def add_server(
    request: Request,
    app: Postroom,
    visitor: PostedAdmin,
    budget: Budget,
    form: Connection,
    name: Text = "",
    send_as: Flag = "",
    default: Flag = "",
) -> Response:
    typed = form.typed() | {"name": name, "send_as": send_as, "default": default}
    try:
        chosen = DOOR.new_name(name)
        new = NewServer(
            name=chosen,
            **form.new().settings(),
            send_as=bool(send_as),
            default=bool(default),
        )
        later = DOOR.added_later(chosen)
        added = budget.run(lambda: app.servers.add(new), f"the check of {chosen}", later)
    except UserError as exc:
        return DOOR.new_page(request, visitor, typed, error=for_the_web(str(exc)), status=422)
    if added.admission.enabled:
        text = f"SMTP server {chosen} added: its check passed and it is used."
        return redirect(DOOR.where(chosen), text)
    text = f"SMTP server {chosen} added, but it is not used: {refusal(added.admission)}"
    return redirect(DOOR.where(chosen), text, error=True)


@router.get("/smtp-servers/{name}", response_class=HTMLResponse)
def server(request: Request, app: Postroom, visitor: BrowserAdmin, name: Name) -> HTMLResponse:
    return _server_page(request, app, visitor, app.servers.show(name))


@router.post("/smtp-servers/{name}")
def change_server(
    request: Request,
    app: Postroom,
    visitor: PostedAdmin,
    budget: Budget,
    name: Name,
    form: Connection,
    send_as: Flag = "",
    default: Flag = "",
) -> Response:
    before = app.servers.show(name)
    typed = form.typed() | {"send_as": send_as, "default": default}
    where = DOOR.where(name)
    try:
        change = _change(before, form, bool(send_as), bool(default))
        changed = budget.run(
            lambda: app.servers.set(name, change), f"the check of {name}", DOOR.later
        )
    except UserError as exc:
        return _server_page(
            request, app, visitor, before, form=typed, error=for_the_web(str(exc)), status=422
        )
    if changed.admission is None:
        return redirect(where, f"SMTP server {name} saved.")
    if changed.admission.enabled:
        return redirect(where, f"SMTP server {name} saved; its check passed: it is used.")
    text = f"SMTP server {name} saved, but its check failed: {refusal(changed.admission)}"
    return redirect(where, text, error=True)


@router.post("/smtp-servers/{name}/check")
def check_server(
    request: Request,
    app: Postroom,
    visitor: PostedAdmin,
    budget: Budget,
    name: Name,
    send_to: Text = "",
) -> Response:
    found = app.servers.show(name)
    try:
        to = checked_address(one_line(send_to, "Test-send address", 320)) if send_to else None
    except UserError as exc:
        text = for_the_web(f"Test-send address: {exc}")
        if wants_json(request) or wants_stream(request):
            return JSONResponse({"error": text}, status_code=422)
        return _server_page(request, app, visitor, found, error=text, send_to=send_to, status=422)
    return DOOR.check(
        request,
        budget,
        name,
        lambda: app.servers.check(name, to),
        lambda ran: _server_page(
            request, app, visitor, app.servers.show(name), ran=ran, send_to=send_to
        ),
    )


def _change(
    before: SmtpServerRecord, form: ConnectionForm, send_as: bool, default: bool
) -> ServerChange:
    """Only what differs from the stored server; an empty password keeps the stored one."""
    edit = DOOR.edit(before, form)
    change = ServerChange(
        **edit.settings(),
        send_as=send_as if send_as != before.send_as else None,
        default=default if default != before.is_default else None,
    )
    if change == ServerChange():
        raise UserError("nothing changed: edit a field (or type a new password), then save")
    return change


def _server_page(
    request: Request,
    app: App,
    visitor: Visitor,
    found: SmtpServerRecord,
    *,
    form: dict[str, str] | None = None,
    ran: CheckView | None = None,
    error: str | None = None,
    send_to: str = "",
    status: int = 200,
) -> HTMLResponse:
    stored = {
        "send_as": "on" if found.send_as else "",
        "default": "on" if found.is_default else "",
    }
    return DOOR.page(
        request,
        visitor,
        found,
        stored,
        form=form,
        ran=ran,
        error=error,
        status=status,
        server=found,
        send_to=send_to,
    )


DOOR.routes(router, lambda app: app.servers, _server_page)
