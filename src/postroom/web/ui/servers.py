"""``/smtp-servers`` (admins): the outbound SMTP servers, add one, edit one (write-only
password), Test connection step by step with an optional test-send address, enable it
(only once its check passes), disable it, remove it after a confirmation. The check
answers the page, or JSON when asked, or each step as it ends (as `ui.channels`)."""

from __future__ import annotations

from pathlib import Path as FilePath
from typing import Annotated

from fastapi import APIRouter, Form, Path, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response

from postroom.bootstrap import App
from postroom.credentials import Secret
from postroom.errors import UserError
from postroom.records.config import SmtpServerRecord
from postroom.render.checks import check_json
from postroom.services.addresses import checked_address
from postroom.services.servers import NewServer, ServerChange
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
from postroom.web.ui.form_fields import one_line, optional, secret
from postroom.web.ui.pages import BrowserAdmin, PostedAdmin, Visitor, page, redirect
from postroom.web.ui.wording import for_the_web

router = APIRouter(include_in_schema=False)

Name = Annotated[str, Path(min_length=1, max_length=200)]
Text = Annotated[str, Form(max_length=1100)]
Flag = Annotated[str, Form(max_length=10)]
_LATER = "its result will show on this server's page"
FIELDS = ("name", "url", "authzid", "ca_file", "send_as", "default")


@router.get("/smtp-servers", response_class=HTMLResponse)
def servers(request: Request, app: Postroom, visitor: BrowserAdmin) -> HTMLResponse:
    health = {s.name: s for s in app.overview.overview().servers}
    rows = [(s, health.get(s.name), protocol(s.url)) for s in app.servers.list()]
    return page(request, visitor, "servers.html", title="SMTP servers", rows=rows)


@router.get("/smtp-servers/new", response_class=HTMLResponse)
def new_server(request: Request, visitor: BrowserAdmin) -> HTMLResponse:
    return _new_page(request, visitor, {})


@router.post("/smtp-servers/new")
def add_server(
    request: Request,
    app: Postroom,
    visitor: PostedAdmin,
    budget: Budget,
    name: Text = "",
    url: Text = "",
    password: Annotated[str, Form(max_length=1100)] = "",
    authzid: Text = "",
    ca_file: Text = "",
    send_as: Flag = "",
    default: Flag = "",
) -> Response:
    typed = dict(zip(FIELDS, (name, url, authzid, ca_file, send_as, default), strict=True))
    try:
        chosen = one_line(name, "Name", 200)
        if not chosen or "/" in chosen:
            raise UserError("give the server a name without a slash (e.g. relay)")
        if chosen == "new":
            raise UserError("choose another name: /smtp-servers/new is the page that adds one")
        opened = secret(password)
        new = NewServer(
            name=chosen,
            url=one_line(url, "URL"),
            password=Secret(opened) if opened is not None else None,
            authzid=optional(authzid, "Authorization identity", 320),
            ca_file=ca_path(ca_file),
            send_as=bool(send_as),
            default=bool(default),
        )
        later = f"its result will show on /smtp-servers/{segment(chosen)}"
        added = budget.run(lambda: app.servers.add(new), f"the check of {chosen}", later)
    except UserError as exc:
        return _new_page(request, visitor, typed, error=for_the_web(str(exc)), status=422)
    where = f"/smtp-servers/{segment(chosen)}"
    if added.admission.enabled:
        return redirect(where, f"SMTP server {chosen} added: its check passed and it is used.")
    text = f"SMTP server {chosen} added, but it is not used: {refusal(added.admission)}"
    return redirect(where, text, error=True)


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
    url: Text = "",
    password: Annotated[str, Form(max_length=1100)] = "",
    authzid: Text = "",
    ca_file: Text = "",
    send_as: Flag = "",
    default: Flag = "",
) -> Response:
    before = app.servers.show(name)
    typed = {"url": url, "authzid": authzid, "ca_file": ca_file}
    typed |= {"send_as": send_as, "default": default}
    where = f"/smtp-servers/{segment(name)}"
    try:
        change = _change(before, url, password, authzid, ca_file, bool(send_as), bool(default))
        changed = budget.run(lambda: app.servers.set(name, change), f"the check of {name}", _LATER)
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
    if wants_stream(request):
        return streamed(budget, lambda: app.servers.check(name, to), f"the check of {name}", _LATER)
    done = budget.run(lambda: app.servers.check(name, to), f"the check of {name}", _LATER)
    report = check_view(check_json(done))
    if wants_json(request):
        return JSONResponse(report.to_json(), headers={"Cache-Control": "no-store"})
    return _server_page(request, app, visitor, app.servers.show(name), ran=report, send_to=send_to)


@router.post("/smtp-servers/{name}/enable")
def enable_server(
    request: Request, app: Postroom, visitor: PostedAdmin, budget: Budget, name: Name
) -> Response:
    admission = budget.run(lambda: app.servers.enable(name), f"the check of {name}", _LATER)
    if admission.enabled:
        return redirect(
            f"/smtp-servers/{segment(name)}", f"SMTP server {name} is used: its check passed."
        )
    ran = check_view(check_json(admission.report)) if admission.report else None
    refused = f"SMTP server {name} stays off: {refusal(admission)}"
    return _server_page(
        request, app, visitor, app.servers.show(name), ran=ran, error=refused, status=409
    )


@router.post("/smtp-servers/{name}/disable")
def disable_server(app: Postroom, _: PostedAdmin, name: Name) -> Response:
    app.servers.disable(name)
    return redirect(
        f"/smtp-servers/{segment(name)}",
        f"SMTP server {name} is off: its mail waits or goes through another server.",
    )


@router.get("/smtp-servers/{name}/remove", response_class=HTMLResponse)
def confirm_removal(
    request: Request, app: Postroom, visitor: BrowserAdmin, name: Name
) -> HTMLResponse:
    found = app.servers.show(name)
    return page(
        request,
        visitor,
        "remove.html",
        title=f"Remove SMTP server {found.name}",
        kind="SMTP server",
        name=found.name,
        action=f"/smtp-servers/{segment(found.name)}/remove",
        back=f"/smtp-servers/{segment(found.name)}",
        consequence="Postroom forgets its settings and password. Queued mail goes through "
        "the server chosen for its From address when it is sent, or waits for one.",
    )


@router.post("/smtp-servers/{name}/remove")
def remove_server(app: Postroom, _: PostedAdmin, name: Name) -> Response:
    try:
        app.servers.remove(name)
    except UserError as exc:
        return redirect(f"/smtp-servers/{segment(name)}", for_the_web(str(exc)), error=True)
    return redirect("/smtp-servers", f"SMTP server {name} removed.")


def _change(
    before: SmtpServerRecord,
    url: str,
    password: str,
    authzid: str,
    ca_file: str,
    send_as: bool,
    default: bool,
) -> ServerChange:
    """Only what differs from the stored server; an empty password keeps the stored one."""
    new_url = one_line(url, "URL")
    new_authzid = one_line(authzid, "Authorization identity", 320)
    new_ca = one_line(ca_file, "CA file")
    if before.ca_file and not new_ca:
        raise UserError("a CA file cannot be removed here: give another, or remove the server")
    opened = secret(password)
    change = ServerChange(
        url=new_url if new_url != before.url else None,
        password=Secret(opened) if opened is not None else None,
        authzid=new_authzid if new_authzid != (before.authzid or "") else None,
        ca_file=FilePath(new_ca) if new_ca and new_ca != before.ca_file else None,
        send_as=send_as if send_as != before.send_as else None,
        default=default if default != before.is_default else None,
    )
    if change == ServerChange():
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
        "server_new.html",
        title="Add an SMTP server",
        form=form,
        error=error,
        status=status,
    )


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
        "url": found.url,
        "authzid": found.authzid or "",
        "ca_file": found.ca_file or "",
        "send_as": "on" if found.send_as else "",
        "default": "on" if found.is_default else "",
    }
    shown = page(
        request,
        visitor,
        "server.html",
        title=f"SMTP server {found.name}",
        status=status,
        server=found,
        segment=segment(found.name),
        protocol=protocol(found.url),
        form=form or stored,
        error=error,
        ran=ran,
        last=check_view(found.last_check) if found.last_check else None,
        steps=steps_for(found.url),
        send_to=send_to,
    )
    shown.headers["Content-Security-Policy"] = CHECK_CSP
    return shown
