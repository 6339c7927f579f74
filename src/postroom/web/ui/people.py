"""``/users`` (admins): the users (add with a role and a password, remove) and the API
tokens (create, revoke). A new token's secret is shown once, in the answer to the form
that made it (never in a redirect, a cookie or a log)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, Response

from postroom.bootstrap import App
from postroom.errors import UserError
from postroom.records.config import Role
from postroom.web.auth import Postroom, forget_tokens
from postroom.web.fields import RowId
from postroom.web.ui.pages import BrowserAdmin, PostedAdmin, Visitor, page, redirect

router = APIRouter(include_in_schema=False)


@router.get("/users", response_class=HTMLResponse)
def users(request: Request, app: Postroom, visitor: BrowserAdmin) -> HTMLResponse:
    return _page(request, app, visitor)


@router.post("/users")
def add_user(
    request: Request,
    app: Postroom,
    visitor: PostedAdmin,
    name: Annotated[str, Form(max_length=200)] = "",
    email: Annotated[str, Form(max_length=320)] = "",
    role: Annotated[str, Form(max_length=20)] = "agent",
    password: Annotated[str, Form(max_length=1024)] = "",
) -> Response:
    try:
        if role not in {r.value for r in Role}:
            raise UserError(f"role {role!r} is not one: choose admin or agent")
        if not password:
            raise UserError("give the new user a password, so they can sign in")
        user = app.users.add(name, email.strip() or None, Role(role))
        app.accounts.set_password(user.name, password)
    except UserError as exc:
        form = {"name": name, "email": email, "role": role}
        return _page(request, app, visitor, error=str(exc), form=form, status=422)
    return redirect("/users", f"User {user.name} ({user.role}) added: they can sign in now.")


@router.post("/users/remove")
def remove_user(
    request: Request,
    app: Postroom,
    visitor: PostedAdmin,
    name: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    if name == visitor.principal.name:
        return redirect("/users", "You cannot remove yourself: another admin can.", error=True)
    try:
        user = app.users.remove(name)
    except UserError as exc:
        return redirect("/users", str(exc), error=True)
    forget_tokens(request)
    return redirect("/users", f"User {user.name} removed, with their tokens and sessions.")


@router.post("/tokens")
def create_token(
    request: Request,
    app: Postroom,
    visitor: PostedAdmin,
    user: Annotated[str, Form(max_length=200)] = "",
    label: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    try:
        record, secret = app.accounts.create_token(user, label.strip() or None)
    except UserError as exc:
        return _page(request, app, visitor, error=str(exc), status=422)
    return _page(request, app, visitor, created=(record, secret))


@router.post("/tokens/{token_id}/revoke")
def revoke_token(
    request: Request,
    token_id: RowId,
    app: Postroom,
    _: PostedAdmin,
) -> Response:
    try:
        token = app.accounts.revoke_token(token_id)
    except UserError as exc:
        return redirect("/users", str(exc), error=True)
    forget_tokens(request)
    return redirect("/users", f"Token {token.id} of {token.user} revoked: it stops working now.")


def _page(
    request: Request,
    app: App,
    visitor: Visitor,
    *,
    error: str | None = None,
    form: dict[str, str] | None = None,
    created: object = None,
    status: int = 200,
) -> HTMLResponse:
    return page(
        request,
        visitor,
        "users.html",
        title="Users and tokens",
        status=status,
        users=app.users.list(),
        tokens=app.accounts.list_tokens(),
        roles=[r.value for r in Role],
        error=error,
        form=form or {"name": "", "email": "", "role": "agent"},
        created=created,
    )  # no-store, as every signed-in page: the new token's secret is in this answer only
