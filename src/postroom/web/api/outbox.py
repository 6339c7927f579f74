"""``/api/v1/outbox`` (agents and admins): as ``outbox list --json``, ``outbox retry`` and
``outbox cancel``, in the shape of `postroom.render.outbox`. A retry or a cancel that the
message's status does not allow (it is on its way, or sent) is a 409. Either, made by a
person, is in the work item's history with their name."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from postroom.render.outbox import outbox_json
from postroom.web.api.refusals import judged
from postroom.web.api.wording import worded
from postroom.web.auth import Postroom, SignedIn
from postroom.web.fields import RowId
from postroom.web.paging import Paging, page
from postroom.web.problems import API_PROBLEMS, responses

router = APIRouter(prefix="/api/v1/outbox", tags=["outbox"], responses=API_PROBLEMS)


class OutboxOut(BaseModel):
    """One outbound message (`outbox list --json`)."""

    model_config = ConfigDict(extra="allow", populate_by_name=True)

    id: int
    kind: str
    reference: str | None
    sender: str = Field(alias="from")
    to: list[str]
    subject: str
    message_id: str
    status: str
    attempts: int
    last_error: str | None
    next_attempt: str | None
    recipient_results: dict[str, Any] | None
    smtp_server: str | None
    created_at: str | None
    sent_at: str | None


@router.get("", response_model=list[OutboxOut], response_model_by_alias=True)
def list_outbox(
    _: SignedIn, app: Postroom, paging: Paging, request: Request, response: Response
) -> list[dict[str, Any]]:
    """Queued, sent and given-up outbound mail, oldest first (``outbox list --json``),
    paged by id."""
    rows = page(app.outbox.list(), lambda m: f"{m.id:012d}", paging, request, response)
    return [worded(outbox_json(m)) for m in rows]


@router.post(
    "/{row_id}/retry",
    response_model=OutboxOut,
    response_model_by_alias=True,
    responses=responses(404, 409),
)
def retry_outbox(row_id: RowId, user: SignedIn, app: Postroom) -> dict[str, Any]:
    """Send it again at the next round, attempts from zero (recipients that took it
    already are not sent to again); 409 while it is on its way or once delivered."""
    with judged(state=True):
        message = app.outbox.retry(row_id, actor=user.name)
    return worded(outbox_json(message))


@router.post(
    "/{row_id}/cancel",
    response_model=OutboxOut,
    response_model_by_alias=True,
    responses=responses(404, 409),
)
def cancel_outbox(row_id: RowId, user: SignedIn, app: Postroom) -> dict[str, Any]:
    """Never send it; 409 when it is on its way, sent or given up already."""
    with judged(state=True):
        message = app.outbox.cancel(row_id, actor=user.name)
    return worded(outbox_json(message))
