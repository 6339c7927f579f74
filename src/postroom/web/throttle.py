"""Sign-in attempts held back: at most `FAILURES` failed attempts per user name and per
client address in `WINDOW`; past that, 429 with ``Retry-After`` until the oldest failure
leaves the window.

Kept in this process's memory: each `postroom web` process counts alone, so N processes
allow N times as many guesses, still far too few to guess an Argon2-hashed password. The
number of names and addresses remembered is bounded (`KEYS`): a flood of made-up names
pushes the oldest out instead of growing the memory.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable

FAILURES = 10
WINDOW = 300.0
KEYS = 10_000


class SignInThrottle:
    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._failures: OrderedDict[str, deque[float]] = OrderedDict()

    def wait_for(self, *keys: str) -> int:
        """Seconds to wait before another attempt for any of ``keys`` (0: go on)."""
        now = self._clock()
        wait = 0.0
        with self._lock:
            for key in keys:
                times = self._recent(key, now)
                if times is not None and len(times) >= FAILURES:
                    wait = max(wait, times[0] + WINDOW - now)
        return int(wait) + 1 if wait > 0 else 0

    def failed(self, *keys: str) -> None:
        now = self._clock()
        with self._lock:
            for key in keys:
                times = self._recent(key, now) or deque(maxlen=FAILURES)
                times.append(now)
                self._failures[key] = times
                self._failures.move_to_end(key)
            while len(self._failures) > KEYS:
                self._failures.popitem(last=False)

    def succeeded(self, *keys: str) -> None:
        with self._lock:
            for key in keys:
                self._failures.pop(key, None)

    def _recent(self, key: str, now: float) -> deque[float] | None:
        times = self._failures.get(key)
        if times is None:
            return None
        while times and times[0] <= now - WINDOW:
            times.popleft()
        return times
