"""The mail that waits for a person: ``/quarantine`` (could not be handled: the cause,
the traceback, Retry), ``/unhandled`` (matched no item and no route: why) and ``/outbox``
(outbound mail by status: the last error, Retry, Cancel). Agents and admins alike
(docs/web.md). Each list shows its newest `SHOWN` entries."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response

from postroom.errors import UserError
from postroom.records.statuses import OutboxStatus
from postroom.services.ingest import IngestResult
from postroom.web.auth import Postroom
from postroom.web.fields import RowId
from postroom.web.ui.pages import Browser, Posted, page, redirect, serves

router = APIRouter(include_in_schema=False)

SHOWN = 500
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
def retry_quarantined(message_id: RowId, app: Postroom, _: Posted) -> Response:
    return _retried("/quarantine", message_id, lambda: app.quarantine.retry(message_id))


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
def retry_unhandled(message_id: RowId, app: Postroom, visitor: Posted) -> Response:
    name = visitor.principal.name
    return _retried(
        "/unhandled", message_id, lambda: app.quarantine.retry_unhandled(message_id, actor=name)
    )


def _retried(back: str, message_id: int, retry: Callable[[], IngestResult]) -> Response:
    """``back`` with what a retry of the message did: failed again, still waiting
    (unhandled: no route yet), or handled with the items it made or changed."""
    try:
        result = retry()
    except UserError as exc:
        return redirect(back, str(exc), error=True)
    if result.error:
        return redirect(
            back, f"Message {message_id} failed again: {_cause(result.error)}", error=True
        )
    outcome = result.outcome.value
    refs = ", ".join(item.reference for item in result.items)
    if outcome == "unhandled" and back == "/unhandled":
        return redirect(
            back,
            f"Message {message_id} is still unhandled ({outcome}): "
            "no route covers the address it was sent to.",
            error=True,
        )
    done = f"Message {message_id} handled ({outcome})"
    return redirect(back, f"{done}: {refs}." if refs else f"{done}.")


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
def retry_outbound(outbox_id: RowId, app: Postroom, _: Posted) -> Response:
    try:
        message = app.outbox.retry(outbox_id)
    except UserError as exc:
        return redirect("/outbox", str(exc), error=True)
    return redirect("/outbox", f"Outbox message {message.id} is queued again.")


@router.post("/outbox/{outbox_id}/cancel")
def cancel_outbound(outbox_id: RowId, app: Postroom, _: Posted) -> Response:
    try:
        message = app.outbox.cancel(outbox_id)
    except UserError as exc:
        return redirect("/outbox", str(exc), error=True)
    return redirect("/outbox", f"Outbox message {message.id} is cancelled: it will not be sent.")


def _cause(error: str | None) -> str:
    """The last non-empty line of a stored error (its cause in one line)."""
    lines = [line for line in (error or "").splitlines() if line.strip()]
    return lines[-1].strip()[:500] if lines else "no cause recorded"
