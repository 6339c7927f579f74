"""``/login`` (a form with ``username`` and ``password``) and ``POST /logout``.

Sign-in attempts go through the same throttle as ``POST /api/v1/session`` (per name and
per client address): past it, the form answers 429 and says how long to wait. A post
whose ``Origin`` is another site is refused (a sign-in forced by another site's page
would leave the browser in someone else's account). After signing in the browser goes to
``next`` when it is a path of this site, to the dashboard otherwise.
"""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlsplit

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import Response

from postroom.web.auth import COOKIE, Postroom, clear_session_cookie, set_session_cookie
from postroom.web.ui.pages import Posted, local_path, page, redirect

router = APIRouter(include_in_schema=False)


@router.get("/login")
def login_page(
    request: Request, app: Postroom, next: Annotated[str, Query(max_length=2000)] = "/"
) -> Response:
    cookie = request.cookies.get(COOKIE)
    if cookie and app.accounts.principal_for_session(cookie) is not None:
        return redirect(local_path(next))
    return _form(request, app, local_path(next))


@router.post("/login")
def login(
    request: Request,
    app: Postroom,
    username: Annotated[str, Form(max_length=200)] = "",
    password: Annotated[str, Form(max_length=1024)] = "",
    next: Annotated[str, Form(max_length=2000)] = "/",
) -> Response:
    target = local_path(next)
    origin = request.headers.get("origin")
    if origin and origin != "null" and urlsplit(origin).netloc != request.url.netloc:
        return _form(
            request, app, target, username, "This form can only be sent from its page.", 403
        )
    if not username.strip() or not password:
        return _form(request, app, target, username, "Give your name and your password.", 422)
    throttle = request.app.state.throttle
    user_key = "user:" + username.strip().lower()
    address_key = "address:" + (request.client.host if request.client else "")
    wait = throttle.wait_for(user_key, address_key)
    if wait:
        error = f"Too many failed sign-ins: wait {wait} seconds, then try again."
        response = _form(request, app, target, username, error, 429)
        response.headers["Retry-After"] = str(wait)
        return response
    principal = app.accounts.verify_password(username, password)
    if principal is None:
        throttle.failed(user_key, address_key)
        return _form(request, app, target, username, "Wrong name or password.", 401)
    throttle.succeeded(user_key)
    secret, _ = app.accounts.start_session(principal)
    response = redirect(target)
    set_session_cookie(response, request, secret)
    return response


@router.post("/logout")
def logout(request: Request, app: Postroom, _: Posted) -> Response:
    response = redirect("/login", "Signed out.")
    cookie = request.cookies.get(COOKIE)
    if cookie:
        app.accounts.end_session(cookie)
    clear_session_cookie(response, request)
    return response


def _form(
    request: Request,
    app: Postroom,
    next_path: str,
    username: str = "",
    error: str | None = None,
    status: int = 200,
) -> Response:
    return page(
        request,
        None,
        "login.html",
        title="Sign in",
        status=status,
        next_path=next_path,
        username=username,
        error=error,
        no_admin=not app.accounts.admin_exists(),
    )
