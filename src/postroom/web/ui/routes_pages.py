"""``/routes`` (admins): which Context, Category and Queue a new Ticket written to an
address gets, and whether its requester is acknowledged. List, add (the address judged
by the route service, its message shown above the form, which keeps what was typed),
edit, remove."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Form, Path, Query, Request
from fastapi.responses import HTMLResponse, Response

from postroom.domain.routes import Route
from postroom.errors import NotFoundError, UserError
from postroom.web.auth import Postroom
from postroom.web.ui.form_fields import one_line
from postroom.web.ui.pages import BrowserAdmin, PostedAdmin, Visitor, page, redirect
from postroom.web.ui.wording import for_the_web

router = APIRouter(include_in_schema=False)

Address = Annotated[str, Path(min_length=1, max_length=400)]
Text = Annotated[str, Form(max_length=400)]
Flag = Annotated[str, Form(max_length=10)]
EMPTY = {"address": "", "context": "", "category": "", "queue": "", "acknowledge": ""}


@router.get("/routes", response_class=HTMLResponse)
def routes(
    request: Request,
    app: Postroom,
    visitor: BrowserAdmin,
    address: Annotated[str, Query(max_length=320)] = "",
) -> HTMLResponse:
    """The routes; ``?address=`` fills the add form's address (a channel's page links here
    for a mailbox no route covers)."""
    return _list_page(request, app.routes.list(), visitor, {**EMPTY, "address": address})


@router.post("/routes")
def add_route(
    request: Request,
    app: Postroom,
    visitor: PostedAdmin,
    address: Text = "",
    context: Text = "",
    category: Text = "",
    queue: Text = "",
    acknowledge: Flag = "",
) -> Response:
    typed = {"address": address, "context": context, "category": category, "queue": queue}
    typed["acknowledge"] = acknowledge
    try:
        route = app.routes.add(
            one_line(address, "Address", 320),
            one_line(context, "Context", 200),
            one_line(category, "Category", 200),
            one_line(queue, "Queue", 200),
            bool(acknowledge),
        )
    except UserError as exc:
        error = for_the_web(str(exc))
        return _list_page(request, app.routes.list(), visitor, typed, error=error, status=422)
    return redirect("/routes", f"Route for {route.address} added: {_summary(route)}.")


@router.get("/routes/{address}", response_class=HTMLResponse)
def route(request: Request, app: Postroom, visitor: BrowserAdmin, address: Address) -> HTMLResponse:
    found = _find(app.routes.list(), address)
    form = {"context": found.context, "category": found.category, "queue": found.queue}
    form["acknowledge"] = "on" if found.acknowledge else ""
    return _route_page(request, visitor, found, form)


@router.post("/routes/{address}")
def change_route(
    request: Request,
    app: Postroom,
    visitor: PostedAdmin,
    address: Address,
    context: Text = "",
    category: Text = "",
    queue: Text = "",
    acknowledge: Flag = "",
) -> Response:
    found = _find(app.routes.list(), address)
    typed = {"context": context, "category": category, "queue": queue}
    typed["acknowledge"] = acknowledge
    try:
        changed = app.routes.set(
            found.address,
            one_line(context, "Context", 200),
            one_line(category, "Category", 200),
            one_line(queue, "Queue", 200),
            bool(acknowledge),
        )
    except UserError as exc:
        error = for_the_web(str(exc))
        return _route_page(request, visitor, found, typed, error=error, status=422)
    return redirect("/routes", f"Route for {changed.address} saved: {_summary(changed)}.")


@router.post("/routes/{address}/remove")
def remove_route(app: Postroom, _: PostedAdmin, address: Address) -> Response:
    found = _find(app.routes.list(), address)
    app.routes.remove(found.address)
    return redirect(
        "/routes", f"Route for {found.address} removed: new mail to it gets the unrouted policy."
    )


def _find(routes: list[Route], address: str) -> Route:
    wanted = address.strip().lower()
    for candidate in routes:
        if candidate.address == wanted:
            return candidate
    raise NotFoundError(f"no route for {address}: add one on the Routes page")


def _summary(route: Route) -> str:
    ack = ", requester acknowledged" if route.acknowledge else ""
    return f"Context {route.context}, Category {route.category}, Queue {route.queue}{ack}"


def _list_page(
    request: Request,
    routes: list[Route],
    visitor: Visitor,
    form: dict[str, str],
    *,
    error: str | None = None,
    status: int = 200,
) -> HTMLResponse:
    return page(
        request,
        visitor,
        "routes.html",
        title="Routes",
        routes=[(r, quote(r.address, safe="@")) for r in routes],
        form=form,
        error=error,
        status=status,
    )


def _route_page(
    request: Request,
    visitor: Visitor,
    found: Route,
    form: dict[str, str],
    *,
    error: str | None = None,
    status: int = 200,
) -> HTMLResponse:
    return page(
        request,
        visitor,
        "route.html",
        title=f"Route for {found.address}",
        route=found,
        segment=quote(found.address, safe="@"),
        form=form,
        error=error,
        status=status,
    )
