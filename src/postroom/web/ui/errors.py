"""Error pages for browsers: an HTTP error or a `UserError` met while serving a person's
browser (``Accept: text/html``, a path outside ``/api/``) is an HTML page with the same
status; anything else keeps the problem details of `web/problems.py`, whose handlers
these wrap. A page asked for without a session is a ``303`` to ``/login?next=…``."""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable
from http import HTTPStatus
from typing import Any
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.responses import RedirectResponse
from starlette.exceptions import HTTPException
from starlette.responses import Response

from postroom.errors import NotFoundError, UserError
from postroom.web.ui.pages import SignInFirst, page, visitor

Handler = Callable[[Request, Exception], Awaitable[Response]]
ApiHandler = Callable[[Request, Any], Response | Awaitable[Response]]
_MACHINE_PATHS = ("/api/", "/metrics", "/healthz", "/readyz", "/static/")


def install(web: FastAPI) -> None:
    """The browser pages in front of the problem handlers already installed."""
    for kind in (HTTPException, UserError):
        web.add_exception_handler(kind, _for_browsers(web.exception_handlers[kind]))
    web.add_exception_handler(SignInFirst, _sign_in_first)


def wants_html(request: Request) -> bool:
    path = request.url.path
    if path.startswith(_MACHINE_PATHS):
        return False
    return "text/html" in request.headers.get("accept", "")


def _for_browsers(api: ApiHandler) -> Handler:
    async def handler(request: Request, exc: Exception) -> Response:
        if not wants_html(request):
            answer = api(request, exc)
            return await answer if inspect.isawaitable(answer) else answer
        if isinstance(exc, HTTPException):
            status = exc.status_code
            detail = exc.detail if isinstance(exc.detail, str) else ""
        else:
            status = 404 if isinstance(exc, NotFoundError) else 422
            detail = str(exc)
        if status == 404 and not isinstance(exc, NotFoundError):
            detail = "There is no page at this address."
        return _error_page(request, status, detail)

    return handler


def _error_page(request: Request, status: int, detail: str) -> Response:
    try:
        who = visitor(request)
    except SignInFirst:
        who = None
    except Exception:  # noqa: BLE001 - the error page must render even if the database is away
        who = None
    phrase = HTTPStatus(status).phrase
    return page(
        request, who, "error.html", title=phrase, status=status, status_code=status, detail=detail
    )


async def _sign_in_first(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, SignInFirst)
    target = "/login" if exc.next_path == "/" else f"/login?next={quote(exc.next_path, safe='')}"
    return RedirectResponse(target, status_code=303)
