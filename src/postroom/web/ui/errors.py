"""Error pages for browsers: an error met while serving a person's browser (``Accept:
text/html``, a path outside ``/api/``) is an HTML page with the status, the detail and the
headers (``Retry-After`` …) of the problem `web/problems.py` would answer, whose handlers
these wrap: one mapping of errors to statuses for both; a service's `UserError` in the
form fields' words (`wording.for_the_web`), not the API's field names. Anything else
keeps the problem details. A page asked for without a session is a ``303`` to ``/login?next=…``."""

from __future__ import annotations

import inspect
import json
from collections.abc import Awaitable, Callable
from http import HTTPStatus
from typing import Any
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.responses import RedirectResponse
from starlette.responses import Response

from postroom.errors import NotFoundError, UserError
from postroom.web.problems import MEDIA_TYPE
from postroom.web.ui.pages import SignInFirst, page, visitor
from postroom.web.ui.wording import for_the_web

Handler = Callable[[Request, Exception], Awaitable[Response]]
ApiHandler = Callable[[Request, Any], Response | Awaitable[Response]]
_MACHINE_PATHS = ("/api/", "/metrics", "/healthz", "/readyz", "/static/")
_KEPT_HEADERS = ("retry-after",)
_DETAIL_LIMIT = 500
"""As a problem's detail (web/problems.py): an error can quote what was sent."""


def install(web: FastAPI) -> None:
    """The browser pages in front of every problem handler already installed."""
    for kind, api in list(web.exception_handlers.items()):
        web.add_exception_handler(kind, _for_browsers(api))
    web.add_exception_handler(SignInFirst, _sign_in_first)


def wants_html(request: Request) -> bool:
    path = request.url.path
    if path.startswith(_MACHINE_PATHS):
        return False
    return "text/html" in request.headers.get("accept", "")


def _for_browsers(api: ApiHandler) -> Handler:
    async def handler(request: Request, exc: Exception) -> Response:
        answer = api(request, exc)
        problem = await answer if inspect.isawaitable(answer) else answer
        if not isinstance(problem, Response) or problem.media_type != MEDIA_TYPE:
            return problem  # not a problem (a WebSocket's error): as it is
        if not wants_html(request):
            return problem
        try:
            detail = str(json.loads(bytes(problem.body)).get("detail", ""))
        except ValueError:
            detail = ""
        if isinstance(exc, UserError):
            detail = for_the_web(str(exc))[:_DETAIL_LIMIT]
        status = problem.status_code
        if status == 404 and not isinstance(exc, NotFoundError):
            detail = "There is no page at this address."
        shown = _error_page(request, status, detail)
        for name in _KEPT_HEADERS:
            if name in problem.headers:
                shown.headers[name] = problem.headers[name]
        return shown

    return handler


def _error_page(request: Request, status: int, detail: str) -> Response:
    try:
        who = visitor(request)
    except Exception:  # noqa: BLE001 - signed out, or the database away: the page still renders
        who = None
    return page(
        request,
        who,
        "error.html",
        title=HTTPStatus(status).phrase,
        status=status,
        status_code=status,
        detail=detail,
    )


async def _sign_in_first(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, SignInFirst)
    target = "/login" if exc.next_path == "/" else f"/login?next={quote(exc.next_path, safe='')}"
    return RedirectResponse(target, status_code=303)
