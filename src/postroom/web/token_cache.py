"""Who holds an API token, remembered for `TTL` seconds: a script that sends a request after
another is answered without a database read (and a SHA-256 of the database's kind) each
time.

Only tokens found valid are remembered, keyed by their SHA-256 (no secret is kept), at
most `KEYS` of them, so made-up tokens neither fill the memory nor stay. A token revoked,
or a user removed, through this process's web door is forgotten at once (`forget`: every
entry, as such changes are rare); done elsewhere (``postroom token revoke`` in a shell,
another web process), it stops working here within `TTL` seconds.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from postroom.records.accounts import Principal
from postroom.services.accounts import MAX_SECRET, secret_hash

TTL = 2.0
KEYS = 1_000


class TokenCache:
    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._held: dict[str, tuple[Principal, float]] = {}
        self._generation = 0

    def get(self, secret: str) -> Principal | None:
        """The holder of ``secret`` if it was found valid less than `TTL` seconds ago."""
        if not 0 < len(secret) <= MAX_SECRET:
            return None
        key = secret_hash(secret)
        with self._lock:
            held = self._held.get(key)
            if held is None:
                return None
            principal, until = held
            if until <= self._clock():
                del self._held[key]
                return None
            return principal

    def generation(self) -> int:
        """Taken before a token is looked up in the database and given back to `put`: a
        `forget` meanwhile keeps that lookup's answer out."""
        with self._lock:
            return self._generation

    def put(self, secret: str, principal: Principal, generation: int) -> None:
        """``principal`` holds ``secret`` (the database said so just now)."""
        key = secret_hash(secret)
        with self._lock:
            if generation != self._generation:
                return
            now = self._clock()
            if len(self._held) >= KEYS:
                self._held = {k: v for k, v in self._held.items() if v[1] > now}
                if len(self._held) >= KEYS:
                    self._held.clear()
            self._held[key] = (principal, now + TTL)

    def forget(self) -> None:
        """Every token is looked up again (one was revoked, or a user removed)."""
        with self._lock:
            self._held.clear()
            self._generation += 1
