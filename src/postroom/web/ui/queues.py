"""The mail that waits for a person: ``/quarantine`` (could not be handled: the cause,
the traceback, Retry), ``/unhandled`` (matched no item and no route: why) and ``/outbox``
(outbound mail by status: the last error, Retry, Cancel). Agents and admins alike
(docs/web.md). Each list shows its newest `SHOWN` entries."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import HTMLResponse, Response

from postroom.errors import UserError
from postroom.records.statuses import OutboxStatus
from postroom.web.auth import Postroom
from postroom.web.ui.pages import Browser, Posted, page, redirect, serves

router = APIRouter(include_in_schema=False)

SHOWN = 500
Id = Annotated[int, Path(ge=1, le=2**62)]
ATTENTION = ("queued", "sending", "delivering", "failed", "unknown", "bounced")
"""The outbox statuses shown unless another filter is asked for (not sent, not cancelled)."""


@router.get("/quarantine", response_class=HTMLResponse)
def quarantine(request: Request, app: Postroom, visitor: Browser) -> HTMLResponse:
    messages = app.quarantine.quarantined()
    return page(
        request,
        visitor,
        "quarantine.html",
        title="Quarantine",
        messages=list(reversed(messages[-SHOWN:])),
        total=len(messages),
        cause=_cause,
    )


@router.post("/quarantine/{message_id}/retry")
def retry_quarantined(message_id: Id, app: Postroom, _: Posted) -> Response:
    try:
        result = app.quarantine.retry(message_id)
    except UserError as exc:
        return redirect("/quarantine", str(exc), error=True)
    if result.error:
        return redirect(
            "/quarantine", f"Message {message_id} failed again: {_cause(result.error)}", error=True
        )
    refs = ", ".join(item.reference for item in result.items)
    done = f"Message {message_id} handled ({result.outcome.value})" + (f": {refs}" if refs else "")
    return redirect("/quarantine", done + ".")


@router.get("/unhandled", response_class=HTMLResponse)
def unhandled(request: Request, app: Postroom, visitor: Browser) -> HTMLResponse:
    messages = app.quarantine.unhandled()
    return page(
        request,
        visitor,
        "unhandled.html",
        title="Unhandled",
        messages=list(reversed(messages[-SHOWN:])),
        total=len(messages),
        route_page=serves(request, "/routes"),
    )


@router.post("/unhandled/{message_id}/retry")
def retry_unhandled(message_id: Id, app: Postroom, visitor: Posted) -> Response:
    try:
        result = app.quarantine.retry_unhandled(message_id, actor=visitor.principal.name)
    except UserError as exc:
        return redirect("/unhandled", str(exc), error=True)
    if result.error:
        return redirect(
            "/unhandled", f"Message {message_id} failed: {_cause(result.error)}", error=True
        )
    refs = ", ".join(item.reference for item in result.items)
    if not refs:
        return redirect(
            "/unhandled",
            f"Message {message_id} is still unhandled ({result.outcome.value}): "
            "no route covers the address it was sent to.",
            error=True,
        )
    return redirect("/unhandled", f"Message {message_id} handled ({result.outcome.value}): {refs}.")


@router.get("/outbox", response_class=HTMLResponse)
def outbox(
    request: Request,
    app: Postroom,
    visitor: Browser,
    status: Annotated[str, Query(max_length=20)] = "",
) -> HTMLResponse:
    wanted: tuple[str, ...] = ATTENTION
    if status == "all":
        wanted = tuple(OutboxStatus)
    elif status in {s.value for s in OutboxStatus}:
        wanted = (status,)
    else:
        status = ""
    chosen = [m for m in app.outbox.list() if m.status in wanted]
    return page(
        request,
        visitor,
        "outbox.html",
        title="Outbox",
        messages=list(reversed(chosen[-SHOWN:])),
        total=len(chosen),
        chosen=status,
        statuses=[s.value for s in OutboxStatus],
        retryable={s.value for s in OutboxStatus if s.retryable},
        cancellable={s.value for s in OutboxStatus if s.cancellable},
        item_pages=serves(request, "/items/{ref}"),
    )


@router.post("/outbox/{outbox_id}/retry")
def retry_outbound(outbox_id: Id, app: Postroom, _: Posted) -> Response:
    try:
        message = app.outbox.retry(outbox_id)
    except UserError as exc:
        return redirect("/outbox", str(exc), error=True)
    return redirect("/outbox", f"Outbox message {message.id} is queued again.")


@router.post("/outbox/{outbox_id}/cancel")
def cancel_outbound(outbox_id: Id, app: Postroom, _: Posted) -> Response:
    try:
        message = app.outbox.cancel(outbox_id)
    except UserError as exc:
        return redirect("/outbox", str(exc), error=True)
    return redirect("/outbox", f"Outbox message {message.id} is cancelled: it will not be sent.")


def _cause(error: str | None) -> str:
    """The last non-empty line of a stored error (its cause in one line)."""
    lines = [line for line in (error or "").splitlines() if line.strip()]
    return lines[-1].strip()[:500] if lines else "no cause recorded"
