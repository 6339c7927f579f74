"""SIGTERM and SIGINT as `postroom run` hears them: a request to stop, never an abort.

The handler only sets an event: polls under way see it, store what they fetched, QUIT
and return (what was not stored stays on the server), and the loops end at their
next tick. Killing the process instead would be safe too (nothing is deleted before
it is stored) but would leave leases to expire.
"""

from __future__ import annotations

import signal
import threading
from types import FrameType


def stop_on_signals(stop: threading.Event) -> None:
    """From now on SIGINT and SIGTERM set ``stop`` (call it from the main thread)."""

    def _stop(signum: int, _frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGINT, _stop)
    signal.signal(signal.SIGTERM, _stop)
