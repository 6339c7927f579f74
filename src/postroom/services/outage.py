"""An outage as `postroom run` lives through it: said once, then tried again with back-off.

A database that went away (a restart, a network cut) comes back: the service keeps
running, skips the work that needs it, and tries again after 1 s, 2 s, 4 s ... at
most 30 s apart. The log gets one line when the outage begins, one per later try
(never one per scheduling tick) and one when it ends; no traceback, the cause is in
the line. Mail is never at risk meanwhile: it stays on the server until stored.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable


class Outage:
    FIRST = 1.0
    LONGEST = 30.0

    def __init__(
        self, log: logging.Logger, what: str, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.log = log
        self.what = what
        """What failed, as the log lines say it ("storage", "scheduling")."""
        self.clock = clock
        self.since: float | None = None
        self.delay = 0.0
        self.next_try = 0.0

    @property
    def active(self) -> bool:
        return self.since is not None

    def ready(self) -> bool:
        """Whether to try now: no outage, or its back-off step is over."""
        return self.since is None or self.clock() >= self.next_try

    def wait(self, longest: float) -> float:
        """Seconds to sleep before the next try, at most ``longest``."""
        if self.since is None:
            return longest
        return max(0.0, min(longest, self.next_try - self.clock()))

    def failed(self, exc: BaseException, trace: bool = False) -> None:
        """One more failed try: one log line, the next try one step later."""
        now = self.clock()
        if self.since is None:
            self.since = now
            self.delay = self.FIRST
            self.log.warning(
                "%s failed: %s; retrying in %d s", self.what, exc, self.delay, exc_info=trace
            )
        else:
            self.delay = min(self.delay * 2, self.LONGEST)
            self.log.warning(
                "%s still failing after %d s: %s; retrying in %d s",
                self.what,
                now - self.since,
                exc,
                self.delay,
            )
        self.next_try = now + self.delay

    def succeeded(self, back: str) -> bool:
        """A try went through; True (and one log line, ``back``) when this ends an outage."""
        if self.since is None:
            return False
        self.log.warning("%s after %d s", back, self.clock() - self.since)
        self.since = None
        return True
