"""``/api/v1/items``: find, read and change work items, reply, start a Case, add an Action
(admins and agents), in the shapes of ``item list/show --json`` (`postroom.render.mail`).

Every change is made as the signed-in user: it is in the item's history with their name.
"""

from __future__ import annotations

import base64
import binascii
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from postroom.bootstrap import App
from postroom.clock import utcnow
from postroom.domain.workitems import ItemType, State
from postroom.errors import UserError
from postroom.mime.compose import Attachment
from postroom.records.accounts import Principal
from postroom.render.mail import item_detail_json, item_json
from postroom.render.outbox import outbox_json
from postroom.services.addresses import checked_address
from postroom.services.item_changes import ItemChanges
from postroom.services.item_search import MAX_QUERY, ItemSearch
from postroom.web.auth import Postroom, SignedIn
from postroom.web.paging import Paging, page
from postroom.web.problems import API_PROBLEMS, responses

router = APIRouter(prefix="/api/v1/items", tags=["items"], responses=API_PROBLEMS)

MAX_REPLY_BODY = 200_000
"""Characters of a reply's text at most."""
MAX_ATTACHMENTS = 20
MAX_RECIPIENTS = 50


class HistoryOut(BaseModel):
    at: str | None
    field: str
    old: str | None
    new: str | None
    cause: str
    actor: str | None
    communication: int | None
    note: str | None


class CommunicationOut(BaseModel):
    id: int
    direction: str
    from_: str | None = Field(alias="from")
    subject: str | None
    message_id: str | None
    rule: str | None
    matched_by: str | None
    status: str | None
    status_detail: str | None
    at: str | None


class ItemOut(BaseModel):
    reference: str
    type: str
    state: str
    queue: str | None
    context: str | None
    category: str | None
    owner: str | None
    assignee: str | None
    case: str | None
    linked_to: str | None
    requester: str | None
    subject: str | None
    resolution: str | None
    new_information: bool


class ItemListed(ItemOut):
    history: list[HistoryOut]


class ItemShown(ItemListed):
    communications: list[CommunicationOut]


class ItemPatch(BaseModel):
    """Only the fields given change; ``null`` clears owner, queue or assignee."""

    model_config = ConfigDict(extra="forbid")
    state: State | None = None
    owner: str | None = Field(default=None, min_length=1, max_length=200)
    queue: str | None = Field(default=None, min_length=1, max_length=200)
    assignee: str | None = Field(default=None, min_length=1, max_length=200)


class AttachmentIn(BaseModel):
    name: str = Field(min_length=1, max_length=255)
    content_type: str = Field(
        default="application/octet-stream", max_length=127, pattern=r"^[\w.+-]+/[\w.+-]+$"
    )
    data: str = Field(description="the file's bytes, base64", max_length=1_000_000)


class ReplyIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    body: str = Field(min_length=1, max_length=MAX_REPLY_BODY)
    to: list[Annotated[str, Field(max_length=320)]] | None = Field(
        default=None, max_length=MAX_RECIPIENTS, description="default: the requester"
    )
    cc: list[Annotated[str, Field(max_length=320)]] | None = Field(
        default=None, max_length=MAX_RECIPIENTS
    )
    attachments: list[AttachmentIn] = Field(default_factory=list, max_length=MAX_ATTACHMENTS)


class OutboxOut(BaseModel):
    id: int
    kind: str
    reference: str | None
    from_: str = Field(alias="from")
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


class ActionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    queue: str | None = Field(default=None, min_length=1, max_length=200)


def _changes(app: App, principal: Principal) -> ItemChanges:
    return ItemChanges(app.storage, app.replies, principal.name)


@router.get("", response_model=list[ItemListed], response_model_by_alias=True)
def list_items(
    _: SignedIn,
    app: Postroom,
    paging: Paging,
    request: Request,
    response: Response,
    state: State | None = None,
    queue: Annotated[str | None, Query(max_length=200)] = None,
    type: Annotated[ItemType | None, Query()] = None,
    q: Annotated[
        str | None,
        Query(max_length=MAX_QUERY, description="words in the reference, subject or sender"),
    ] = None,
) -> list[dict[str, Any]]:
    """Work items oldest first, each with its history (``item list --json``), paged."""
    search = ItemSearch(app.storage)
    found = search.find(state, queue, type, q)
    chosen = page(found, lambda i: f"{i.id:012d}", paging, request, response)
    return [item_detail_json(d) for d in search.details(chosen)]


@router.get("/{ref}", response_model=ItemShown, responses=responses(404))
def show_item(ref: str, principal: SignedIn, app: Postroom) -> dict[str, Any]:
    """One work item with its history and communications (``item show --json``)."""
    return item_detail_json(app.items(actor=principal.name).show(ref))


@router.patch("/{ref}", response_model=ItemShown, responses=responses(404, 409))
def change_item(ref: str, body: ItemPatch, principal: SignedIn, app: Postroom) -> dict[str, Any]:
    """Change state, owner, queue and assignee at once; each change is in the history
    with the signed-in user."""
    given = body.model_fields_set
    fields: dict[str, str | None] = {
        name: getattr(body, name) for name in ("owner", "queue", "assignee") if name in given
    }
    if "state" in given and body.state is None:
        raise UserError("state: give one of " + ", ".join(s.value for s in State))
    detail = _changes(app, principal).change(ref, utcnow(), body.state, fields)
    return item_detail_json(detail)


@router.post("/{ref}/replies", status_code=201, response_model=OutboxOut, responses=responses(404))
def reply(ref: str, body: ReplyIn, principal: SignedIn, app: Postroom) -> dict[str, Any]:
    """Queue a reply by email (sent by ``postroom run``); the outbox row. Attachments come
    as base64 in the JSON (the whole request up to 1 MB)."""
    attachments = tuple(_attachment(a) for a in body.attachments)
    queued = _changes(app, principal).reply(
        ref,
        utcnow(),
        body.body,
        to=[checked_address(a) for a in body.to or []],
        cc=[checked_address(a) for a in body.cc or []],
        attachments=attachments,
    )
    return outbox_json(queued)


@router.post("/{ref}/case", status_code=201, response_model=ItemOut, responses=responses(404))
def start_case(ref: str, principal: SignedIn, app: Postroom) -> dict[str, Any]:
    """The Ticket starts a Case with its number and waits for it (``item start-case``);
    the new Case."""
    return item_json(app.items(actor=principal.name).start_case(ref, utcnow()))


@router.post("/{ref}/actions", status_code=201, response_model=ItemOut, responses=responses(404))
def add_action(
    ref: str, principal: SignedIn, app: Postroom, body: ActionIn | None = None
) -> dict[str, Any]:
    """A new Action in the Case, in ``queue`` or the Case's (``item add-action``)."""
    queue = body.queue if body is not None else None
    return item_json(app.items(actor=principal.name).add_action(ref, queue, utcnow()))


def _attachment(given: AttachmentIn) -> Attachment:
    try:
        data = base64.b64decode(given.data, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise UserError(f"attachment {given.name!r}: data is not base64") from exc
    return Attachment(given.name, given.content_type.lower(), data)
