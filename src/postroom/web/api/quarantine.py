"""``/api/v1/quarantine`` and ``/api/v1/unhandled`` (agents and admins): as ``quarantine
list --json``, ``quarantine retry --json`` and ``unhandled list --json``, in the shapes of
`postroom.render.mail`. A retry of a message no longer in quarantine is a 409."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from postroom.records.mail import MessageRecord
from postroom.render.mail import decision_json, message_json
from postroom.web.api.refusals import judged
from postroom.web.auth import Postroom, SignedIn
from postroom.web.fields import RowId
from postroom.web.paging import Paging, page
from postroom.web.problems import API_PROBLEMS, responses

router = APIRouter(tags=["quarantine"], responses=API_PROBLEMS)


class MessageOut(BaseModel):
    """A stored message as `quarantine list --json` and `unhandled list --json` show it."""

    model_config = ConfigDict(extra="allow", populate_by_name=True)

    id: int
    received_at: str | None
    sender: str | None = Field(alias="from")
    subject: str | None
    message_id: str | None
    size: int
    sha256: str
    status: str
    rule: str | None
    reason: str | None
    error: str | None
    """The last line of the failure (quarantine)."""
    attempts: int
    channel_id: int | None


def _listed(
    rows: list[MessageRecord], paging: Paging, request: Request, response: Response
) -> list[dict[str, Any]]:
    chosen = page(rows, lambda m: f"{m.id:012d}", paging, request, response)
    return [message_json(m) for m in chosen]


@router.get("/api/v1/quarantine", response_model=list[MessageOut], response_model_by_alias=True)
def list_quarantine(
    _: SignedIn, app: Postroom, paging: Paging, request: Request, response: Response
) -> list[dict[str, Any]]:
    """Messages that could not be handled, oldest first, with the error, paged by id."""
    return _listed(app.quarantine.quarantined(), paging, request, response)


@router.post(
    "/api/v1/quarantine/{message_id}/retry",
    response_model=dict[str, Any],
    responses=responses(404, 409),
)
def retry_quarantined(message_id: RowId, user: SignedIn, app: Postroom) -> dict[str, Any]:
    """Handle a quarantined message again (``quarantine retry --json``): the decision, as
    ``ingest --json`` prints it, each item it made or changed saying in its history who
    asked; 409 when it is not in quarantine (any more)."""
    with judged(state=True):
        result = app.quarantine.retry(message_id, actor=user.name)
    return decision_json(result)


@router.get("/api/v1/unhandled", response_model=list[MessageOut], response_model_by_alias=True)
def list_unhandled(
    _: SignedIn, app: Postroom, paging: Paging, request: Request, response: Response
) -> list[dict[str, Any]]:
    """Messages that matched no work item and no route (policy ``unhandled``), oldest
    first, paged by id."""
    return _listed(app.quarantine.unhandled(), paging, request, response)


@router.post(
    "/api/v1/unhandled/{message_id}/retry",
    response_model=dict[str, Any],
    responses=responses(404, 409),
)
def retry_unhandled(message_id: RowId, user: SignedIn, app: Postroom) -> dict[str, Any]:
    """Handle an unhandled message again, after a route for its address was added
    (``unhandled retry --json``): the decision as ``ingest --json`` prints it (still
    ``unhandled`` without a route); 409 when it is not unhandled (any more)."""
    with judged(state=True):
        result = app.quarantine.retry_unhandled(message_id, actor=user.name)
    return decision_json(result)
