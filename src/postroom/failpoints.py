"""Named crash points for testing "nothing lost, nothing twice" with real process deaths.

``POSTROOM_FAILPOINTS="after-store:3"`` makes the process kill itself with
SIGKILL the 3rd time it passes the point ``after-store`` — no cleanup, no
QUIT, exactly what a power cut or ``kill -9`` does. Unset (always, outside
tests) a failpoint costs one dictionary lookup.
"""

from __future__ import annotations

import os
import signal
import threading

_lock = threading.Lock()
_counts: dict[str, int] = {}


def _armed() -> dict[str, int]:
    spec = os.environ.get("POSTROOM_FAILPOINTS", "")
    armed: dict[str, int] = {}
    for item in spec.split(","):
        name, _, nth = item.strip().partition(":")
        if name:
            armed[name] = int(nth) if nth.isdigit() else 1
    return armed


_ARMED = _armed()


def hit(name: str) -> None:
    """Die here if the environment armed this point and its count is reached."""
    if name not in _ARMED:
        return
    with _lock:
        _counts[name] = _counts.get(name, 0) + 1
        if _counts[name] >= _ARMED[name]:
            os.kill(os.getpid(), signal.SIGKILL)
