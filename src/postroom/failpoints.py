"""Named crash points for testing "nothing lost, nothing twice" with real process deaths.

``POSTROOM_FAILPOINTS="after-store:3"`` makes the process kill itself with
SIGKILL the 3rd time it passes the point ``after-store`` — no cleanup, no
QUIT, exactly what a power cut or ``kill -9`` does. Unset (always, outside
tests) a failpoint costs one dictionary lookup.

``POSTROOM_FAILPOINTS="parse-stall"`` makes `stall` hang forever on a message
that holds `STALL_MARKER`: a stand-in for input that sends a parser into a
loop, to test the time budget that stops it.
"""

from __future__ import annotations

import os
import signal
import threading
import time

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
STALL_MARKER = b"X-Postroom-Failpoint: stall"


def hit(name: str) -> None:
    """Die here if the environment armed this point and its count is reached."""
    if name not in _ARMED:
        return
    with _lock:
        _counts[name] = _counts.get(name, 0) + 1
        if _counts[name] >= _ARMED[name]:
            os.kill(os.getpid(), signal.SIGKILL)


def stall(name: str, raw: bytes) -> None:
    """Hang here for good if the environment armed this point and ``raw`` asks for it."""
    if name in _ARMED and STALL_MARKER in raw:
        while True:
            time.sleep(3600)
