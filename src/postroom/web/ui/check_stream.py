"""Test connection, live: a channel's or SMTP server's check answered step by step as it
runs (``static/check.js`` asks for it with ``Accept: application/x-ndjson``).

The answer is one JSON object a line (NDJSON), each sent the moment it is known:
``{"step": STEP}`` as each step passes, fails or is skipped (STEP as the page shows it,
`check_steps.StepView`: ``name, label, state, mark, figure, facts, error, hint``; a step
may come twice, the capabilities again after STARTTLS), then ``{"check": CHECK}`` (the
whole check as ``Accept: application/json`` answers it) or ``{"error": {"status",
"detail"}}`` (it outlasted the budget: 504, the result will show on the page; or it
failed). Whatever the server sends reaches the script only as these escaped, bounded
values (`check_steps`), which it sets as text.

The budget is the API's (web/api/budget.py): the slot is taken before the answer starts,
so a full budget is a 503 problem, and the answer ends within its 60 s. A visitor who
leaves does not stop the check: it ends within its own timeouts and keeps its report.
"""

from __future__ import annotations

import json
import logging
import queue
import threading
from collections.abc import Callable, Iterator
from dataclasses import asdict
from typing import Any

from fastapi import Request
from fastapi.responses import StreamingResponse

from postroom.diagnostics import CheckReport, Step
from postroom.diagnostics.runner import reporting_steps
from postroom.errors import NotFoundError, UserError
from postroom.render.checks import check_json
from postroom.web.api.budget import CheckBudget
from postroom.web.problems import ProblemError
from postroom.web.security import PAGE_CSP
from postroom.web.ui.check_steps import check_view
from postroom.web.ui.wording import for_the_web

NDJSON = "application/x-ndjson"
CHECK_CSP = PAGE_CSP + "; connect-src 'self'"
"""A page with Test connection: the site's policy, and its script may ask this site."""
log = logging.getLogger(__name__)

Event = tuple[str, Any]
"""``("started" | "step" | "done" | "error", value)`` from the check's thread."""


def wants_stream(request: Request) -> bool:
    return NDJSON in request.headers.get("accept", "")


def streamed(
    budget: CheckBudget, work: Callable[[], CheckReport], what: str, later: str
) -> StreamingResponse:
    """``work()`` (a check) run within ``budget``, answered as it goes. A full budget, or
    a failure before the check starts, is raised here (the answer has not begun)."""
    events: queue.Queue[Event] = queue.Queue()

    def watched() -> CheckReport:
        events.put(("started", None))
        with reporting_steps(lambda step: events.put(("step", step))):
            return work()

    def run() -> None:
        try:
            events.put(("done", budget.run(watched, what, later)))
        except Exception as exc:  # noqa: BLE001 - every end of the check is a line of the answer
            events.put(("error", exc))

    threading.Thread(target=run, name="check-stream", daemon=True).start()
    kind, value = events.get()
    if kind == "error":
        raise value
    return StreamingResponse(
        _lines(events),
        media_type=NDJSON,
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )


def _lines(events: queue.Queue[Event]) -> Iterator[bytes]:
    """One line per event until the check's end (the budget bounds the wait)."""
    while True:
        kind, value = events.get()
        if kind == "step":
            yield _line({"step": _step(value)})
        elif kind == "done":
            yield _line({"check": check_view(check_json(value)).to_json()})
            return
        elif kind == "error":
            yield _line({"error": _error(value)})
            return


def _step(step: Step) -> dict[str, Any]:
    return asdict(check_view({"url": "", "steps": [step.to_json()]}).steps[0])


def _error(exc: BaseException) -> dict[str, Any]:
    if isinstance(exc, ProblemError):
        return {"status": exc.status_code, "detail": for_the_web(str(exc.detail))}
    if isinstance(exc, UserError):
        status = 404 if isinstance(exc, NotFoundError) else 422
        return {"status": status, "detail": for_the_web(str(exc))}
    log.error("a live connection check failed", exc_info=exc)
    return {"status": 500, "detail": "the check failed unexpectedly; the service's log says why"}


def _line(value: dict[str, Any]) -> bytes:
    return json.dumps(value, ensure_ascii=False).encode() + b"\n"
