"""``/api/v1/items``: find, read and change work items, reply, start a Case, add an Action
(admins and agents), in the shapes of ``item list/show --json`` (`postroom.render.mail`).

Every change is made as the signed-in user: it is in the item's history with their name.
"""

from __future__ import annotations

import base64
import binascii
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException

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
from postroom.web.paging import Paging, first_id_after, id_key, link_next
from postroom.web.problems import API_PROBLEMS, responses
from postroom.web.uploads import read_attachments, safe_name

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


def _inline(schema: dict[str, Any]) -> dict[str, Any]:
    """A pydantic JSON schema with its ``$defs`` put in place (an OpenAPI request body
    cannot point into a schema of its own)."""
    defs = schema.pop("$defs", {})

    def put(node: Any) -> Any:
        if isinstance(node, dict):
            ref = node.get("$ref", "")
            if ref.startswith("#/$defs/"):
                return put(defs[ref.removeprefix("#/$defs/")])
            return {k: put(v) for k, v in node.items()}
        if isinstance(node, list):
            return [put(v) for v in node]
        return node

    inlined = put(schema)
    assert isinstance(inlined, dict)
    return inlined


REPLY_BODIES: dict[str, Any] = {
    "required": True,
    "content": {
        "application/json": {"schema": _inline(ReplyIn.model_json_schema())},
        "multipart/form-data": {
            "schema": {
                "type": "object",
                "required": ["body"],
                "properties": {
                    "body": {"type": "string", "minLength": 1, "maxLength": MAX_REPLY_BODY},
                    "to": {
                        "type": "string",
                        "description": "addresses, comma-separated (default: the requester)",
                    },
                    "cc": {"type": "string", "description": "addresses, comma-separated"},
                    "attachments": {
                        "type": "array",
                        "maxItems": MAX_ATTACHMENTS,
                        "items": {"type": "string", "format": "binary"},
                        "description": "each file part is an attachment",
                    },
                },
            }
        },
    },
}


def _changes(app: App, principal: Principal) -> ItemChanges:
    return ItemChanges(app.storage, app.replies, principal.name)


@router.get("", response_model=list[ItemListed], response_model_by_alias=True)
def list_items(
    _: SignedIn,
    app: Postroom,
    paging: Paging,
    request: Request,
    state: State | None = None,
    queue: Annotated[str | None, Query(max_length=200)] = None,
    type: Annotated[ItemType | None, Query()] = None,
    q: Annotated[
        str | None,
        Query(max_length=MAX_QUERY, description="words in the reference, subject or sender"),
    ] = None,
) -> Response:
    """Work items oldest first, each with its history (``item list --json``), paged.

    The JSON is written as it is made (``item list --json``'s shape, which
    `ItemListed` describes; tests/web check that it is), not checked against the
    model once more: that took a tenth of the request's time."""
    from_id = first_id_after(paging.after)
    if from_id is None:
        return JSONResponse([])
    found = ItemSearch(app.storage).page(state, queue, type, q, from_id=from_id, limit=paging.limit)
    answer = JSONResponse([item_detail_json(d) for d in found.details])
    if found.more:
        link_next(request, answer, paging, id_key(found.details[-1].item.id))
    return answer


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


@router.post(
    "/{ref}/replies",
    status_code=201,
    response_model=OutboxOut,
    responses=responses(404, 413),
    openapi_extra={"requestBody": REPLY_BODIES},
)
async def reply(ref: str, request: Request, principal: SignedIn, app: Postroom) -> dict[str, Any]:
    """Queue a reply by email (sent by ``postroom run``); the outbox row. As JSON, the
    attachments come as base64 (the whole request up to 1 MB); as ``multipart/form-data``,
    fields ``body``, ``to`` and ``cc`` (repeated or comma-separated) and each file part an
    attachment (the request up to the message limit, the files up to two thirds of it)."""
    kind = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if kind == "multipart/form-data":
        given = await _multipart(request, app.settings.max_message_bytes)
    else:
        given = _json_reply(await _json(request))
    text, to, cc, attachments = given
    queued = await run_in_threadpool(
        _changes(app, principal).reply,
        ref,
        utcnow(),
        text,
        to=[checked_address(a) for a in to],
        cc=[checked_address(a) for a in cc],
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
    return Attachment(safe_name(given.name), given.content_type.lower(), data)


Reply = tuple[str, list[str], list[str], tuple[Attachment, ...]]
"""A reply as asked: its text, To, Cc and attachments."""


async def _json(request: Request) -> Any:
    try:
        return await request.json()
    except ValueError as exc:
        raise RequestValidationError(
            [{"type": "json_invalid", "loc": ("body",), "msg": "the body is not JSON"}]
        ) from exc


def _json_reply(raw: Any) -> Reply:
    try:
        body = ReplyIn.model_validate(raw)
    except ValidationError as exc:
        errors = [{**e, "loc": ("body", *e["loc"])} for e in exc.errors(include_input=False)]
        raise RequestValidationError(errors) from exc
    attachments = tuple(_attachment(a) for a in body.attachments)
    return body.body, body.to or [], body.cc or [], attachments


async def _multipart(request: Request, max_message_bytes: int) -> Reply:
    """The form's fields and files, each bounded as the JSON ones are."""
    try:
        form = await request.form(max_files=MAX_ATTACHMENTS, max_fields=2 * MAX_RECIPIENTS + 1)
    except HTTPException as exc:  # Starlette's word on a form it cannot read (too many parts)
        raise UserError(f"the form cannot be read: {exc.detail}") from exc
    texts: dict[str, list[str]] = {"body": [], "to": [], "cc": []}
    files = []
    for key, value in form.multi_items():
        if isinstance(value, UploadFile):
            files.append(value)
        elif key in texts:
            texts[key].append(value)
        else:
            raise UserError(f"unknown field {key[:40]!r}: give body, to, cc and files")
    text = "\n".join(texts["body"])
    if not text.strip():
        raise UserError("body: write the reply's text")
    if len(text) > MAX_REPLY_BODY:
        raise UserError(f"body: at most {MAX_REPLY_BODY} characters")
    to, cc = _listed(texts["to"], "to"), _listed(texts["cc"], "cc")
    attachments = await read_attachments(files, MAX_ATTACHMENTS, max_message_bytes * 2 // 3)
    return text, to, cc, attachments


def _listed(values: list[str], field: str) -> list[str]:
    """Addresses given in repeated fields, each maybe separated by commas."""
    found = [a.strip() for v in values for a in v.split(",") if a.strip()]
    if len(found) > MAX_RECIPIENTS or any(len(a) > 320 for a in found):
        raise UserError(f"{field}: at most {MAX_RECIPIENTS} addresses of 320 characters")
    return found
