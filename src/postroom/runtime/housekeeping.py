"""What every tick of a service process does besides polling and sending.

Closing Resolved items whose feedback period is over is cheap when there is nothing to
do (one query), so every process does it every tick: the items' conditional updates
keep two processes from doing the same row twice. The outbox has a loop of its own
(`postroom.runtime.sending`).
"""

from __future__ import annotations

from datetime import timedelta

from postroom.bootstrap import App
from postroom.clock import utcnow
from postroom.services.items import ItemService


class Housekeeping:
    """The chores `Scheduler.run` calls every tick; failures are its to log and retry."""

    def __init__(self, items: ItemService, feedback: timedelta) -> None:
        self.items = items
        self.feedback = feedback
        """How long a Resolved item waits for the requester's answer before it closes."""

    @classmethod
    def of(cls, application: App) -> Housekeeping:
        feedback = timedelta(days=application.settings.feedback_days)
        return cls(application.items(actor="service"), feedback)

    def __call__(self) -> None:
        self.items.close_after_feedback(utcnow(), self.feedback)
