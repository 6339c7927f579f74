"""``/signup``: the first admin's page, reached by the one-time link `postroom web` prints
while no admin exists. Plain server-rendered HTML, no script (the web UI restyles it).

Cross-site requests cannot use it: the form carries the sign-up token, which only the
person who read the link knows, and a POST whose ``Origin`` is another site is refused.
After the admin is made, the browser is signed in (the session cookie).
"""

from __future__ import annotations

from html import escape
from typing import Annotated
from urllib.parse import urlsplit

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse

from postroom.errors import UserError
from postroom.web.auth import Postroom, set_session_cookie

router = APIRouter(include_in_schema=False)

_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Postroom: {title}</title></head>
<body><main><h1>{title}</h1>{body}</main></body></html>
"""


def _page(title: str, body: str, status: int = 200) -> HTMLResponse:
    return HTMLResponse(_PAGE.format(title=escape(title), body=body), status_code=status)


def _form(token: str, name: str = "", error: str | None = None, status: int = 200) -> HTMLResponse:
    shown = f'<p role="alert">{escape(error)}</p>' if error else ""
    body = f"""{shown}<p>No admin exists yet: choose the first admin's name and password.</p>
<form method="post" action="/signup">
<input type="hidden" name="token" value="{escape(token)}">
<p><label>Name <input name="name" value="{escape(name)}" required maxlength="200"
autocomplete="username"></label></p>
<p><label>Password <input name="password" type="password" required maxlength="1024"
autocomplete="new-password"></label></p>
<p><button type="submit">Create admin and sign in</button></p>
</form>"""
    return _page("sign up", body, status)


@router.get("/signup", response_class=HTMLResponse)
def signup_page(app: Postroom, token: Annotated[str, Query(max_length=200)] = "") -> HTMLResponse:
    if app.accounts.admin_exists():
        return _page("sign up", "<p>An admin exists already: sign in.</p>", 409)
    if not token:
        return _page(
            "sign up", "<p>Open the sign-up link <code>postroom web</code> printed.</p>", 400
        )
    return _form(token)


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
        return _page("sign up", "<p>This form can only be sent from its own page.</p>", 403)
    try:
        principal = app.accounts.complete_signup(token, name, password)
    except UserError as exc:
        return _form(token, name, str(exc), 422)
    secret, _ = app.accounts.start_session(principal)
    response = _page(
        "signed in",
        f"<p>Signed in as {escape(principal.name)} (admin). "
        'The API is at <a href="/api/v1/openapi.json">/api/v1</a>.</p>',
    )
    set_session_cookie(response, request, secret)
    return response
