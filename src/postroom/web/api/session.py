"""Sign-in and sign-out of a browser: ``POST /api/v1/session`` (name and password → the
session cookie and the CSRF token its changes carry), ``DELETE /api/v1/session``."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel, Field

from postroom.web.auth import COOKIE, Postroom, SignedIn, clear_session_cookie, set_session_cookie
from postroom.web.fields import Name
from postroom.web.problems import ProblemError, not_signed_in, responses

router = APIRouter(prefix="/api/v1/session", tags=["session"])


class SignIn(BaseModel):
    username: Name
    password: str = Field(min_length=1, max_length=1024)


class SignedInAs(BaseModel):
    name: str
    role: str
    csrf: str
    """Send it as X-CSRF-Token with every change made through this session."""


@router.post(
    "",
    response_model=SignedInAs,
    responses=responses(401, 413, 415, 422, 429, 500, 503),
    openapi_extra={"security": []},
)
def sign_in(body: SignIn, request: Request, response: Response, app: Postroom) -> SignedInAs:
    """Sign in with a name and a password: sets the session cookie (HttpOnly,
    SameSite=Strict)."""
    throttle = request.app.state.throttle
    user_key = "user:" + body.username.strip().lower()
    address_key = "address:" + (request.client.host if request.client else "")
    wait = throttle.wait_for(user_key, address_key)
    if wait:
        raise ProblemError(
            429, "too many failed sign-ins: wait, then try again", {"Retry-After": str(wait)}
        )
    principal = app.accounts.verify_password(body.username, body.password)
    if principal is None:
        throttle.failed(user_key, address_key)
        raise not_signed_in("wrong name or password")
    throttle.succeeded(user_key)
    secret, csrf = app.accounts.start_session(principal)
    set_session_cookie(response, request, secret)
    return SignedInAs(name=principal.name, role=principal.role.value, csrf=csrf)


@router.delete("", status_code=204, responses=responses(401, 403, 500, 503))
def sign_out(_: SignedIn, request: Request, app: Postroom) -> Response:
    """Sign out: the session ends (a token stays valid: revoke it at /api/v1/tokens)."""
    response = Response(status_code=204)
    cookie = request.cookies.get(COOKIE)
    if cookie:
        app.accounts.end_session(cookie)
        clear_session_cookie(response, request)
    return response
