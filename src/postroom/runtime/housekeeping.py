"""What a service process does besides polling and sending, every few seconds.

Closing Resolved items whose feedback period is over is cheap when there is nothing to
do (one query), and the items' conditional updates keep two processes from doing the
same row twice, so every process does it. A feedback period is days long (or none): an
item closes at most `Housekeeping.EVERY` seconds after it ended, not at the next tick;
asked at every tick (five a second with ``--tick 0.2``), the query was a third of an
idle process's CPU. The outbox has a loop of its own (`postroom.runtime.sending`).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import timedelta

from postroom.bootstrap import App
from postroom.clock import utcnow
from postroom.services.items import ItemService


class Housekeeping:
    """The chores `Scheduler.run` calls every tick; they run once per `EVERY` seconds at
    most. Failures are the scheduler's to log and retry: a chore that failed runs again at
    the next call the scheduler makes."""

    EVERY = 10.0
    """Seconds between two runs of the chores."""

    def __init__(
        self,
        items: ItemService,
        feedback: timedelta,
        every: float = EVERY,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.items = items
        self.feedback = feedback
        """How long a Resolved item waits for the requester's answer before it closes."""
        self.every = every
        self.clock = clock
        self._next: float | None = None
        """When the chores are due again (None: at the first call)."""

    @classmethod
    def of(cls, application: App) -> Housekeeping:
        feedback = timedelta(days=application.settings.feedback_days)
        return cls(application.items(actor="service"), feedback)

    def __call__(self) -> None:
        now = self.clock()
        if self._next is not None and now < self._next:
            return
        self.items.close_after_feedback(utcnow(), self.feedback)
        self._next = now + self.every
