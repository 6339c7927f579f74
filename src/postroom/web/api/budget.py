"""A connection check through the API is bounded in time and in number: at most `SLOTS`
run at once (more is a 503 with ``Retry-After``), and a request waits at most `SECONDS`
for one (longer is a 504).

A check's own timeouts are per answer (DNS, connect, each line a server sends); a server
that trickles its answers, or a host with many addresses, can stretch the whole well past
them. The request does not wait for that: it answers 504, while the check ends in the
background within its own timeouts (a stored channel's or server's check then keeps its
report, as it would have). Its slot is free only once it has ended, so a hostile server
can hold at most `SLOTS` threads.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Annotated, TypeVar

from fastapi import Depends, Request

from postroom.web.problems import RETRY_AFTER_SECONDS, ProblemError

T = TypeVar("T")
log = logging.getLogger(__name__)

SLOTS = 4
"""Checks at once, per web process."""
SECONDS = 60.0
"""What a request waits for one check at most (a proxy in front commonly waits 60 s)."""

_MADE = threading.Lock()


class CheckBudget:
    def __init__(self, slots: int = SLOTS, seconds: float = SECONDS) -> None:
        self.slots = slots
        self.seconds = seconds
        self._free = threading.BoundedSemaphore(slots)

    def run(self, work: Callable[[], T], what: str, later: str = "") -> T:
        """``work()``'s result, when it ends within the budget; a 503 problem when every
        slot is taken, a 504 naming ``what`` (and ``later``: where its result will be)
        when it takes longer. What ``work`` raises is raised here."""
        if not self._free.acquire(blocking=False):
            raise ProblemError(
                503,
                f"{self.slots} connection checks are running already; try again shortly",
                {"Retry-After": str(RETRY_AFTER_SECONDS)},
            )
        outcome: list[T] = []
        failure: list[BaseException] = []
        given_up: list[bool] = []
        lock = threading.Lock()

        def target() -> None:
            try:
                value = work()
                with lock:
                    outcome.append(value)
            except BaseException as exc:  # noqa: BLE001 - raised again in the request's thread
                with lock:
                    failure.append(exc)
                    late = bool(given_up)
                if late:  # nobody waits for it any more: the log says it
                    log.warning("%s failed after its request gave up: %r", what, exc)
            finally:
                self._free.release()

        thread = threading.Thread(target=target, name="api-check", daemon=True)
        thread.start()
        thread.join(self.seconds)
        with lock:
            if not outcome and not failure:
                given_up.append(True)
        if given_up:
            then = f"; {later}" if later else ""
            raise ProblemError(
                504,
                f"{what} did not finish within {self.seconds:g} s (a slow or silent server; "
                f"its own timeouts end it){then}",
            )
        if failure:
            raise failure[0]
        return outcome[0]


def check_budget(request: Request) -> CheckBudget:
    """The web app's budget, made on first use."""
    state = request.app.state
    with _MADE:
        budget = getattr(state, "check_budget", None)
        if budget is None:
            budget = state.check_budget = CheckBudget()
    assert isinstance(budget, CheckBudget)
    return budget


Budget = Annotated[CheckBudget, Depends(check_budget)]
