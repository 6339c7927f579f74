"""Who is asking: a `Principal` from ``Authorization: Bearer TOKEN`` (scripts,
integrations) or from the session cookie (a browser signed in at ``/api/v1/session`` or
``/signup``).

A request without either is 401 with ``WWW-Authenticate: Bearer``; a wrong role is 403.
A change made through a session (any method but GET, HEAD, OPTIONS) also carries the
session's CSRF token, in the ``X-CSRF-Token`` header or a form's ``csrf`` field: the
cookie alone, which a browser sends by itself, never changes anything. A token needs no
CSRF token: a browser never adds an ``Authorization`` header on its own.
"""

from __future__ import annotations

import hmac
from typing import Annotated

from fastapi import Depends, Request, Response
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.concurrency import run_in_threadpool

from postroom.bootstrap import App
from postroom.records.accounts import Principal
from postroom.records.config import Role
from postroom.web.problems import ProblemError, not_signed_in
from postroom.web.token_cache import TokenCache

COOKIE = "postroom_session"
CSRF_HEADER = "X-CSRF-Token"
CSRF_FIELD = "csrf"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

bearer = HTTPBearer(
    auto_error=False,
    description="An API token (`postroom token create USER`), or the session cookie.",
)


def postroom(request: Request) -> App:
    """The composition root this app was made with (`create_app`)."""
    app: App = request.app.state.postroom
    return app


async def _postroom(request: Request) -> App:
    """`postroom` as a dependency: async, so FastAPI calls it on the event loop rather
    than in a thread of the pool (every dependency that does no I/O is async so)."""
    return postroom(request)


def principal_of(request: Request, credentials: HTTPAuthorizationCredentials | None) -> Principal:
    """The principal of a token or a session (401 otherwise), read from the database
    (blocking: from a thread of the pool, or from a handler that runs in one)."""
    accounts = postroom(request).accounts
    if credentials is not None:
        cache = tokens(request)
        principal = cache.get(credentials.credentials)
        if principal is not None:
            return principal
        generation = cache.generation()
        principal = accounts.principal_for_token(credentials.credentials)
        if principal is None:
            raise not_signed_in(
                "the token is not valid (unknown or revoked): make one with postroom token create"
            )
        cache.put(credentials.credentials, principal, generation)
        return principal
    cookie = request.cookies.get(COOKIE)
    if cookie:
        session = accounts.principal_for_session(cookie)
        if session is None:
            raise not_signed_in("the session has ended: sign in again")
        if request.method not in SAFE_METHODS:
            sent = request.headers.get(CSRF_HEADER, "")
            if not hmac.compare_digest(sent.encode(), session.csrf.encode()):
                raise ProblemError(403, f"a change through a session needs its {CSRF_HEADER}")
        return session.principal
    raise not_signed_in()


async def signed_in(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> Principal:
    """The principal of a token or a session (401 otherwise): a token used in the last
    seconds is answered from memory (`web/token_cache.py`) on the event loop; anything
    else is read from the database in a thread of the pool."""
    if credentials is not None:
        principal = tokens(request).get(credentials.credentials)
        if principal is not None:
            return principal
    return await run_in_threadpool(principal_of, request, credentials)


async def admin(principal: Annotated[Principal, Depends(signed_in)]) -> Principal:
    """The principal, when an admin (403 otherwise)."""
    if principal.role != Role.ADMIN:
        raise ProblemError(403, "only an admin may do this")
    return principal


def tokens(request: Request) -> TokenCache:
    """This app's memory of valid tokens (`create_app` makes it)."""
    cache: TokenCache = request.app.state.tokens
    return cache


def forget_tokens(request: Request) -> None:
    """After a token is revoked or a user removed: no token is taken from memory."""
    tokens(request).forget()


SignedIn = Annotated[Principal, Depends(signed_in)]
Admin = Annotated[Principal, Depends(admin)]
Postroom = Annotated[App, Depends(_postroom)]


def set_session_cookie(response: Response, request: Request, secret: str) -> None:
    """The session cookie: HttpOnly (no script reads it), SameSite=Strict (no other site's
    page sends it), Secure when the request came over HTTPS."""
    response.set_cookie(
        COOKIE,
        secret,
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
        path="/",
    )


def clear_session_cookie(response: Response, request: Request) -> None:
    response.delete_cookie(
        COOKIE, path="/", httponly=True, samesite="strict", secure=request.url.scheme == "https"
    )
