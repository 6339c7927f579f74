"""``/api/v1/routes``: as ``route add/list/show/set/remove`` (admin only), in the shapes of
`postroom.render.config` (the pattern the other configuration paths follow)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel

from postroom.errors import NotFoundError
from postroom.render.config import route_json
from postroom.web.auth import Admin, Postroom
from postroom.web.fields import Address, Label, Name
from postroom.web.paging import Paging, page
from postroom.web.problems import API_PROBLEMS, responses

router = APIRouter(prefix="/api/v1/routes", tags=["routes"], responses=API_PROBLEMS)


class RouteOut(BaseModel):
    address: str
    context: str
    category: str
    queue: str
    acknowledge: bool


class RouteIn(BaseModel):
    address: Address
    context: Label
    category: Label
    queue: Name
    acknowledge: bool = False


class RouteChange(BaseModel):
    """What changes (a field left out keeps its value)."""

    context: Label | None = None
    category: Label | None = None
    queue: Name | None = None
    acknowledge: bool | None = None


@router.get("", response_model=list[RouteOut])
def list_routes(
    _: Admin, app: Postroom, paging: Paging, request: Request, response: Response
) -> list[dict[str, Any]]:
    """Every route, by address (``route list --json``), paged."""
    routes = page(app.routes.list(), lambda r: r.address, paging, request, response)
    return [route_json(r) for r in routes]


@router.post("", status_code=201, response_model=RouteOut, responses=responses(409))
def add_route(body: RouteIn, _: Admin, app: Postroom) -> dict[str, Any]:
    """A route for new Tickets written to an address (``route add``); 409 if it has one."""
    route = app.routes.add(body.address, body.context, body.category, body.queue, body.acknowledge)
    return route_json(route)


@router.get("/{address}", response_model=RouteOut, responses=responses(404))
def show_route(address: str, _: Admin, app: Postroom) -> dict[str, Any]:
    """One route (``route show``)."""
    wanted = address.strip().lower()
    for route in app.routes.list():
        if route.address == wanted:
            return route_json(route)
    raise NotFoundError(f"no route for {address!r} (see: GET /api/v1/routes)")


@router.patch("/{address}", response_model=RouteOut, responses=responses(404))
def change_route(address: str, body: RouteChange, _: Admin, app: Postroom) -> dict[str, Any]:
    """Change a route in place (``route set``)."""
    route = app.routes.set(address, body.context, body.category, body.queue, body.acknowledge)
    return route_json(route)


@router.delete("/{address}", status_code=204, responses=responses(404))
def remove_route(address: str, _: Admin, app: Postroom) -> Response:
    """Forget the route for an address (``route remove``)."""
    app.routes.remove(address)
    return Response(status_code=204)
