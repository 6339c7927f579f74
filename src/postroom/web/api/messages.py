"""``POST /api/v1/messages`` (store and handle a raw message, as ``postroom ingest``) and
``POST /api/v1/explain`` (the dry run, as ``explain``): admins and agents.

The body is the message (``message/rfc822``), read as it streams in up to the configured
maximum (``POSTROOM_MAX_MESSAGE_BYTES``; `web/security.py` refuses more at the first byte
past it). A message is never lost silently: stored and decided is 201 with the decision
(the same bytes posted again, as a mail system retries after losing an answer, are one
more arrival, decided D1, a duplicate: 201, nothing filed twice); junk is quarantined as
``ingest`` does, and said so in the decision; a message that could not be stored at all
is 503 with ``Retry-After`` (send it again later), as ``ingest`` exits 75.

``POST /api/v1/messages`` is the one path a mail system calls per message, so it is served
as a plain Starlette endpoint (`post_message`, which `web/app.py` mounts ahead of every
router): FastAPI's route matching over every path and its dependency solving cost more of
the event loop than the rest of the request (bench/README.md, ``bench/api.py``). It asks
the same questions through the same code (`auth.bearer`, `auth.signed_in`; the body limit
and type of `web/security.py`; errors as `web/problems.py` answers them); the FastAPI
declaration of the same path, `ingest`, describes it in the OpenAPI document and answers
the same way where the plain endpoint is not mounted.
"""

from __future__ import annotations

import logging
import re
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict
from starlette.concurrency import run_in_threadpool

from postroom.bootstrap import App
from postroom.errors import PostroomError
from postroom.render.mail import decision_json, explanation_json
from postroom.web.api.fields import NAME
from postroom.web.auth import Postroom, SignedIn, bearer, postroom, signed_in
from postroom.web.problems import API_PROBLEMS, RETRY_AFTER_SECONDS, ProblemError, responses
from postroom.web.security import BodyTooLarge

log = logging.getLogger("postroom.web")

router = APIRouter(prefix="/api/v1", tags=["messages"], responses=API_PROBLEMS)
_CHANNEL_LIMIT = 200
_NAME = re.compile(NAME)

_MESSAGE_BODY = {
    "requestBody": {
        "required": True,
        "description": "the raw message, as received (RFC 5322)",
        "content": {
            "message/rfc822": {"schema": {"type": "string", "format": "binary"}},
            "application/octet-stream": {"schema": {"type": "string", "format": "binary"}},
        },
    }
}


class Decision(BaseModel):
    """The decision object of docs/handler.md §6 (``ingest --json``)."""

    model_config = ConfigDict(extra="allow")
    outcome: str
    rule: str
    path: list[str]
    matched_by: str | None
    work_items: list[dict[str, Any]]
    auto_reply: str | None
    reason: str | None
    message: int | None


class Explained(BaseModel):
    """``explain --json``: the parsed mail and the decision it would get, with its trace."""

    mail: dict[str, Any]
    decision: dict[str, Any]


async def post_message(request: Request) -> Response:
    """``POST /api/v1/messages`` as a plain Starlette endpoint: who is asking as the
    `SignedIn` dependency asks it (401/403 raised as there), then `_stored`."""
    await signed_in(request, await bearer(request))
    return await _stored(request, postroom(request))


@router.post(
    "/messages",
    status_code=201,
    response_model=Decision,
    openapi_extra=_MESSAGE_BODY,
    responses=responses(404, 409),
)
async def ingest(
    request: Request,
    _: SignedIn,
    app: Postroom,
    channel: Annotated[
        str | None,
        Query(
            min_length=1,
            max_length=_CHANNEL_LIMIT,
            pattern=NAME,
            description="the input channel it came through (``ingest --channel``)",
        ),
    ] = None,
) -> Response:
    """Store and handle one raw message (``ingest --json``); 503 with Retry-After when it
    could not be stored (send it again); 404 for a channel there is not."""
    return await _stored(request, app)


def _channel(request: Request) -> str | None:
    """The ``channel`` query parameter, judged as `ingest` declares it (422 otherwise)."""
    name = request.query_params.get("channel")
    if name is not None and not (0 < len(name) <= _CHANNEL_LIMIT and _NAME.fullmatch(name)):
        raise ProblemError(
            422,
            f"channel: a channel's name (1 to {_CHANNEL_LIMIT} characters, no '/' and no "
            "control character)",
        )
    return name


async def _stored(request: Request, app: App) -> Response:
    """The message read, stored and decided: 201 with the decision (a resend is D1)."""
    channel = _channel(request)
    raw = await _read(request, app.settings.max_message_bytes)
    try:
        result = await run_in_threadpool(app.ingest.ingest, raw, channel=channel)
    except PostroomError:
        raise  # a storage outage is 503 with Retry-After (problems.py), a UserError 4xx
    except Exception as exc:
        log.error("a message could not be stored", exc_info=exc)
        raise ProblemError(
            503,
            f"the message was not stored ({exc.__class__.__name__}); send it again later",
            {"Retry-After": str(RETRY_AFTER_SECONDS)},
        ) from exc
    return JSONResponse(_as_declared(decision_json(result)), status_code=201)


_DECLARED = tuple(Decision.model_fields)


def _as_declared(decision: dict[str, Any]) -> dict[str, Any]:
    """The decision's keys in the order of `Decision` (its declared fields, then the
    rest), as FastAPI's ``response_model`` wrote them: the same bytes as before."""
    return {key: decision[key] for key in _DECLARED if key in decision} | decision


@router.post("/explain", response_model=Explained, openapi_extra=_MESSAGE_BODY)
async def explain(request: Request, _: SignedIn, app: Postroom) -> dict[str, Any]:
    """The parsed mail and the decision it would get (``explain --json``); changes nothing."""
    raw = await _read(request, app.settings.max_message_bytes)
    explained = await run_in_threadpool(app.ingest.explain, raw)
    return explanation_json(explained)


async def _read(request: Request, limit: int) -> bytes:
    """The body as it streams in, never more than ``limit`` bytes."""
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise BodyTooLarge(limit)
    return bytes(body)
