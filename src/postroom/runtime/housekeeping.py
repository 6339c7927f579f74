"""What every tick of a service process does besides polling.

Closing Resolved items whose feedback period is over and sending the due outbox are
both cheap when there is nothing to do (one query each), so every process does them
every tick: the outbox's leases and the items' conditional updates keep two processes
from doing the same row twice.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from postroom.bootstrap import App
from postroom.clock import utcnow
from postroom.services.items import ItemService
from postroom.services.send import OutboxSender


class Housekeeping:
    """The chores `Scheduler.run` calls every tick; failures are its to log and retry."""

    def __init__(self, items: ItemService, sender: OutboxSender, feedback: timedelta) -> None:
        self.items = items
        self.sender = sender
        self.feedback = feedback
        """How long a Resolved item waits for the requester's answer before it closes."""

    @classmethod
    def of(cls, application: App) -> Housekeeping:
        feedback = timedelta(days=application.settings.feedback_days)
        return cls(application.items(actor="service"), application.sender, feedback)

    def __call__(self) -> None:
        self.items.close_after_feedback(utcnow(), self.feedback)
        report = self.sender.send_due(utcnow())
        if report.errors:
            logging.getLogger("postroom.send").warning("outbox: %s", "; ".join(report.errors))
