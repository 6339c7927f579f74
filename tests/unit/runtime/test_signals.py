"""Stop signals as a command installs and gives them back (runtime/signals.py): the first
sets the event from the reading thread, a second calls the stop-now action, and `restore`
leaves the process's signals as they were (tests run many commands in one process)."""

from __future__ import annotations

import os
import signal
import threading
import time

from postroom.runtime.signals import STOPPING, StopSignals


def test_first_sets_the_event_second_acts_restore_gives_back() -> None:
    before = signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)
    stop = threading.Event()
    seconds: list[int] = []
    signals = StopSignals(stop, STOPPING)
    signals.on_second(seconds.append)
    signals.install()
    try:
        os.kill(os.getpid(), signal.SIGTERM)
        assert stop.wait(5)
        os.kill(os.getpid(), signal.SIGINT)
        deadline = time.monotonic() + 5
        while not seconds and time.monotonic() < deadline:
            time.sleep(0.01)
        assert seconds == [signal.SIGINT]
        assert signals.noted
    finally:
        signals.restore()
    assert (signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)) == before
    assert signal.set_wakeup_fd(-1) == -1
