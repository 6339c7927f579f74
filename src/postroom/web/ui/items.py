"""Work items for agents and admins: ``/items`` (find them: state, queue, type, words in
the reference, subject or sender; newest first, `PER_PAGE` a page) and ``/items/{ref}``
(its fields, the state/owner/queue form, its links, its history, the timeline of its
communications, the reply form and its replies in the outbox).

Every change is a POST with the form's CSRF token, made through `ItemChanges` as the
signed-in user: it is in the item's history with their name. A mail's HTML is shown in a
sandboxed frame served by `ui.communications`; this page's Content-Security-Policy is the
site's with ``frame-src 'self'`` added for it.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Query, Request, UploadFile
from fastapi.responses import HTMLResponse, Response
from starlette.datastructures import UploadFile as StarletteUpload

from postroom.clock import utcnow
from postroom.domain.workitems import ItemType, State
from postroom.errors import NotFoundError, UserError
from postroom.services.addresses import checked_address
from postroom.services.communications import CommunicationService, CommunicationView
from postroom.services.item_changes import ItemChanges
from postroom.services.item_search import MAX_QUERY, ItemSearch
from postroom.web.auth import Postroom
from postroom.web.security import PAGE_CSP
from postroom.web.ui.pages import Browser, Posted, page, redirect
from postroom.web.uploads import read_attachments

router = APIRouter(include_in_schema=False)

PER_PAGE = 50
ITEM_CSP = PAGE_CSP + "; frame-src 'self'"
"""The item page's policy: the site's, and frames from this site (the mail's HTML)."""
MAX_REPLY_BODY = 200_000
MAX_ATTACHMENTS = 20


def attachment_limit(max_message_bytes: int) -> int:
    """Bytes of a reply's files in all: two thirds of the message limit (as the API's)."""
    return max_message_bytes * 2 // 3


_TEXT_SHOWN = 100_000
"""Characters of a communication's text shown on the page (the raw message has all)."""


@router.get("/items", response_class=HTMLResponse)
def items(
    request: Request,
    app: Postroom,
    visitor: Browser,
    state: Annotated[str, Query(max_length=20)] = "",
    queue: Annotated[str, Query(max_length=200)] = "",
    type: Annotated[str, Query(max_length=20)] = "",
    q: Annotated[str, Query(max_length=MAX_QUERY)] = "",
    page_no: Annotated[int, Query(alias="page", ge=1, le=1_000_000)] = 1,
) -> HTMLResponse:
    chosen_state = State(state) if state in {s.value for s in State} else None
    chosen_type = ItemType(type) if type in {t.value for t in ItemType} else None
    found = ItemSearch(app.storage).find(chosen_state, queue.strip() or None, chosen_type, q)
    found.reverse()  # newest first
    pages = max(1, -(-len(found) // PER_PAGE))
    page_no = min(page_no, pages)
    shown = found[(page_no - 1) * PER_PAGE : page_no * PER_PAGE]
    filters = {
        "state": chosen_state.value if chosen_state else "",
        "queue": queue.strip(),
        "type": chosen_type.value if chosen_type else "",
        "q": q,
    }
    return page(
        request,
        visitor,
        "items.html",
        title="Items",
        items=shown,
        total=len(found),
        page_no=page_no,
        pages=pages,
        filters=filters,
        query={k: v for k, v in filters.items() if v},
        states=[s.value for s in State],
        types=[t.value for t in ItemType],
        now=utcnow(),
    )


@router.get("/items/{ref}", response_class=HTMLResponse)
def item(
    request: Request,
    ref: str,
    app: Postroom,
    visitor: Browser,
    remote: Annotated[int, Query(ge=0, le=2**62)] = 0,
) -> HTMLResponse:
    detail = app.items(actor=visitor.principal.name).show(ref)
    record = detail.item
    search = ItemSearch(app.storage)
    related = [i for i in search.find() if record.id in (i.case_id, i.linked_to_id)]
    reader = CommunicationService(app.storage, app.messages)
    timeline = [_read(reader, c.id) for c in detail.communications or []]
    replies = [m for m in app.outbox.list() if m.work_item_id == record.id]
    response = page(
        request,
        visitor,
        "item.html",
        title=f"{record.reference} {record.subject or ''}".strip(),
        item=record,
        history=list(reversed(detail.history)),
        timeline=timeline,
        related=related,
        replies=list(reversed(replies)),
        users=[u.name for u in app.users.list()],
        states=[s.value for s in State],
        remote=remote,
        text_limit=_TEXT_SHOWN,
        attachment_mb=attachment_limit(app.settings.max_message_bytes) // 1_000_000,
    )
    response.headers["Content-Security-Policy"] = ITEM_CSP
    return response


def _read(reader: CommunicationService, communication_id: int) -> dict[str, Any]:
    """A communication as the timeline shows it; one whose message is gone says so."""
    try:
        view: CommunicationView | None = reader.show(communication_id)
        missing = None
    except NotFoundError as exc:
        view, missing = None, str(exc)
    return {"id": communication_id, "view": view, "missing": missing}


@router.post("/items/{ref}/change")
def change(
    ref: str,
    app: Postroom,
    visitor: Posted,
    state: Annotated[str, Form(max_length=20)] = "",
    owner: Annotated[str, Form(max_length=200)] = "",
    queue: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    back = f"/items/{ref}"
    current = app.items(actor=visitor.principal.name).show(ref).item
    wanted_state: State | None = None
    if state and state != current.state:
        if state not in {s.value for s in State}:
            return redirect(back, f"Unknown state {state!r}.", error=True)
        wanted_state = State(state)
    fields: dict[str, str | None] = {}
    if (owner.strip() or None) != current.owner:
        fields["owner"] = owner.strip() or None
    if (queue.strip() or None) != current.queue:
        fields["queue"] = queue.strip() or None
    if wanted_state is None and not fields:
        return redirect(back, "Nothing changed.")
    try:
        ItemChanges(app.storage, app.replies, visitor.principal.name).change(
            ref, utcnow(), wanted_state, fields
        )
    except UserError as exc:
        return redirect(back, str(exc), error=True)
    said = [f"state {wanted_state.value}"] if wanted_state else []
    said += [f"{name} {value or '(none)'}" for name, value in fields.items()]
    return redirect(back, f"{ref}: {', '.join(said)}.")


@router.post("/items/{ref}/reply")
async def reply(
    ref: str,
    app: Postroom,
    visitor: Posted,
    body: Annotated[str, Form(max_length=MAX_REPLY_BODY)] = "",
    to: Annotated[str, Form(max_length=4000)] = "",
    cc: Annotated[str, Form(max_length=4000)] = "",
    files: Annotated[list[UploadFile] | None, File()] = None,
) -> Response:
    back = f"/items/{ref}"
    if not body.strip():
        return redirect(back, "Write the reply's text first.", error=True)
    try:
        attachments = await read_attachments(
            list[StarletteUpload](files or []),
            MAX_ATTACHMENTS,
            attachment_limit(app.settings.max_message_bytes),
        )
        queued = ItemChanges(app.storage, app.replies, visitor.principal.name).reply(
            ref,
            utcnow(),
            body,
            to=_addresses(to),
            cc=_addresses(cc),
            attachments=attachments,
        )
    except UserError as exc:
        return redirect(back, f"Reply not queued: {exc}", error=True)
    return redirect(
        f"{back}#outbox-{queued.id}",
        f"Reply queued in the outbox as #{queued.id} to {', '.join(queued.recipients)}.",
    )


def _addresses(given: str) -> list[str]:
    """Addresses separated by commas or semicolons, each checked as `route add` does."""
    parts = [p.strip() for p in given.replace(";", ",").split(",")]
    return [checked_address(p) for p in parts if p]


@router.post("/items/{ref}/case")
def start_case(ref: str, app: Postroom, visitor: Posted) -> Response:
    """The Ticket starts a Case with its number and waits for it; to the Case's page."""
    try:
        case = app.items(actor=visitor.principal.name).start_case(ref, utcnow())
    except UserError as exc:
        return redirect(f"/items/{ref}", str(exc), error=True)
    return redirect(f"/items/{case.reference}", f"{ref} started {case.reference}.")


@router.post("/items/{ref}/actions")
def add_action(
    ref: str,
    app: Postroom,
    visitor: Posted,
    queue: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    """A new Action in the Case (in ``queue``, else the Case's); to the Action's page."""
    try:
        action = app.items(actor=visitor.principal.name).add_action(
            ref, queue.strip() or None, utcnow()
        )
    except UserError as exc:
        return redirect(f"/items/{ref}", str(exc), error=True)
    return redirect(f"/items/{action.reference}", f"{action.reference} added to {ref}.")
