"""Every error as an RFC 9457 problem (``application/problem+json``: ``type``, ``title``,
``status``, ``detail``), in this one module.

What a service raises is told by type: `NotFoundError` 404, `StorageConflictError` and a
`UserError` saying something exists already 409, another `UserError` 422 (its text in the
API's field names, `api.wording.for_the_api`),
`StorageUnavailableError` 503 with ``Retry-After`` (try again: nothing was changed that
was not committed). Anything else is a 500 that says nothing of the exception: its class
and text stay in the log, where an operator reads them.
"""

from __future__ import annotations

import logging
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.exceptions import HTTPException

from postroom.errors import (
    NotFoundError,
    StorageConflictError,
    StorageError,
    StorageUnavailableError,
    UserError,
)
from postroom.web.api.wording import for_the_api

log = logging.getLogger("postroom.web")

MEDIA_TYPE = "application/problem+json"
RETRY_AFTER_SECONDS = 30
"""What a 503 asks a client to wait (the database or the disk is away)."""
_DETAIL_LIMIT = 500
"""Characters of a detail at most (an error can quote what a client sent)."""


class Problem(BaseModel):
    """RFC 9457 problem details (what every error response of this API holds)."""

    type: str = "about:blank"
    title: str
    status: int
    detail: str


def problem(status: int, detail: str, headers: dict[str, str] | None = None) -> JSONResponse:
    """The response for an error: ``type`` is ``about:blank``, so ``title`` is the status's
    phrase (RFC 9457 §4.2.1)."""
    body = Problem(title=HTTPStatus(status).phrase, status=status, detail=detail[:_DETAIL_LIMIT])
    return JSONResponse(
        body.model_dump(), status_code=status, headers=headers, media_type=MEDIA_TYPE
    )


class ProblemError(HTTPException):
    """An error a handler or a dependency answers with (a 401, a 403, a 413 …)."""

    def __init__(self, status: int, detail: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(status_code=status, detail=detail, headers=headers)


def not_signed_in(detail: str = "sign in, or send Authorization: Bearer TOKEN") -> ProblemError:
    return ProblemError(401, detail, {"WWW-Authenticate": 'Bearer realm="postroom"'})


def responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """The problem responses of a path for OpenAPI, as FastAPI's ``responses=`` takes them."""
    schema = {"$ref": "#/components/schemas/Problem"}
    return {
        status: {
            "model": Problem,
            "description": HTTPStatus(status).phrase,
            "content": {MEDIA_TYPE: {"schema": schema}},
        }
        for status in statuses
    }


API_PROBLEMS = responses(401, 403, 413, 415, 422, 500, 503)
"""What any API path may answer besides its own success and 404/409."""


def install(app: FastAPI) -> None:
    """Every error handler of the app."""

    async def on_http(_: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, HTTPException)
        detail = exc.detail if isinstance(exc.detail, str) else HTTPStatus(exc.status_code).phrase
        return problem(exc.status_code, detail, dict(exc.headers or {}))

    async def on_invalid(_: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        return problem(422, _validation_detail(exc))

    async def on_user(_: Request, exc: Exception) -> JSONResponse:
        text = for_the_api(str(exc))
        if isinstance(exc, NotFoundError):
            return problem(404, text)
        return problem(409 if "exists" in text else 422, text)

    async def on_conflict(_: Request, exc: Exception) -> JSONResponse:
        return problem(409, "what this request would store exists already")

    async def on_unavailable(_: Request, exc: Exception) -> JSONResponse:
        log.warning("storage unavailable: %s", exc)
        return problem(
            503,
            "the database cannot be used now; try again later",
            {"Retry-After": str(RETRY_AFTER_SECONDS)},
        )

    async def on_storage(_: Request, exc: Exception) -> JSONResponse:
        log.error("storage refused a statement: %s", exc)
        return problem(500, "the database refused the change; the server's log names the cause")

    async def on_crash(_: Request, exc: Exception) -> JSONResponse:
        log.error("internal error", exc_info=exc)
        return problem(500, "internal error; the server's log has the details")

    app.add_exception_handler(HTTPException, on_http)
    app.add_exception_handler(RequestValidationError, on_invalid)
    app.add_exception_handler(UserError, on_user)
    app.add_exception_handler(StorageConflictError, on_conflict)
    app.add_exception_handler(StorageUnavailableError, on_unavailable)
    app.add_exception_handler(StorageError, on_storage)
    app.add_exception_handler(Exception, on_crash)


def _validation_detail(exc: RequestValidationError) -> str:
    """The first invalid field and why, in one line (never the value sent: it may be a
    password)."""
    errors = exc.errors()
    if not errors:
        return "the request is not valid"
    first = errors[0]
    where = ".".join(str(part) for part in first.get("loc", ()) if part != "body") or "body"
    more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
    return f"{where}: {first.get('msg', 'invalid')}{more}"
