"""A line in the log when the service has said nothing for a while: it is alive, and why
it is quiet.

A poll that moved mail, a failure, a worker started again: each logs a line. A service
with nothing to do logs none, and a person watching `postroom run` cannot tell a quiet
service from a hung one. So the parent process logs one heartbeat line when nothing was
logged for `Heartbeat.EVERY` seconds (and never more often): how many channels it
polls and when the next poll is due. The service's own lines are noticed by a logging
handler that only notes the time (`Activity`).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from postroom.clock import utcnow
from postroom.records.config import ChannelRecord

log = logging.getLogger("postroom.run")


class Activity(logging.Handler):
    """Notes when Postroom last logged a line (on the ``postroom`` logger)."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__(logging.INFO)
        self.clock = clock
        self.last = clock()

    def emit(self, record: logging.LogRecord) -> None:
        self.last = self.clock()

    @classmethod
    def watching(cls) -> Activity:
        activity = cls()
        logging.getLogger("postroom").addHandler(activity)
        return activity


class Heartbeat:
    """Called every tick; logs at most once per ``every`` seconds, only when idle."""

    EVERY = 60.0

    def __init__(
        self,
        channels: Callable[[], list[ChannelRecord]],
        activity: Activity,
        every: float = EVERY,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.channels = channels
        self.activity = activity
        self.every = every
        self.clock = clock
        self.beat = clock()

    def __call__(self) -> None:
        now = self.clock()
        if now - max(self.activity.last, self.beat) < self.every:
            return
        self.beat = now
        log.info("%s", self.line(), extra={"event": "heartbeat"})

    def line(self) -> str:
        channels = self.channels()
        enabled = [c for c in channels if c.enabled]
        if not channels:
            return "idle: no channel to poll (add one: postroom channel add)"
        if not enabled:
            return f"idle: {len(channels)} channel(s), none enabled"
        due = [c.next_poll for c in enabled if c.next_poll is not None]
        if not due:
            return f"idle: polling {len(enabled)} channel(s)"
        wait = max(0, int((min(due) - utcnow()).total_seconds()))
        return f"idle: polling {len(enabled)} channel(s), no new mail; next poll in {wait} s"
