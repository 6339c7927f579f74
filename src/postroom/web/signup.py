"""``/signup``: the first admin's page, reached by the one-time link `postroom web` prints
while no admin exists. Server-rendered on the web UI's layout (`web.ui.pages`), no script.

Cross-site requests cannot use it: the form carries the sign-up token, which only the
person who read the link knows, and a POST whose ``Origin`` is another site is refused.
After the admin is made, the browser is signed in (the session cookie).
"""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlsplit

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse

from postroom.errors import UserError
from postroom.web.auth import Postroom, set_session_cookie
from postroom.web.ui.pages import page

router = APIRouter(include_in_schema=False)


def _page(
    request: Request, state: str, title: str = "Sign up", status: int = 200, **context: str
) -> HTMLResponse:
    """The sign-up page on the web UI's layout, in one of its states (``form``, ``exists``,
    ``no-token``, ``foreign``, ``done``)."""
    fields = {"token": "", "name": "", "error": "", **context}
    return page(request, None, "signup.html", title=title, status=status, state=state, **fields)


@router.get("/signup", response_class=HTMLResponse)
def signup_page(
    request: Request, app: Postroom, token: Annotated[str, Query(max_length=200)] = ""
) -> HTMLResponse:
    if app.accounts.admin_exists():
        return _page(request, "exists", status=409)
    if not token:
        return _page(request, "no-token", status=400)
    return _page(request, "form", token=token)


@router.post("/signup", response_class=HTMLResponse)
def signup(
    request: Request,
    app: Postroom,
    token: Annotated[str, Form(max_length=200)],
    name: Annotated[str, Form(max_length=200)],
    password: Annotated[str, Form(max_length=1024)],
) -> HTMLResponse:
    origin = request.headers.get("origin")
    if origin and origin != "null" and urlsplit(origin).netloc != request.url.netloc:
        return _page(request, "foreign", status=403)
    try:
        principal = app.accounts.complete_signup(token, name, password)
    except UserError as exc:
        return _page(request, "form", token=token, name=name, error=str(exc), status=422)
    secret, _ = app.accounts.start_session(principal)
    response = _page(request, "done", title="Signed in", name=principal.name)
    set_session_cookie(response, request, secret)
    return response
