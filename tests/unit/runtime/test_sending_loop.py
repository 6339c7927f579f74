"""The outbox's loop of a service process: a round when woken, long before the tick, and
a database outage that does not end it."""

from __future__ import annotations

import threading
import time
from datetime import datetime
from typing import cast

from postroom.errors import StorageUnavailableError
from postroom.runtime.sending import SendingLoop
from postroom.services.send import OutboxSender, SendReport

TICK = 30.0
"""Longer than any test: a round that comes early came because the loop was woken."""


class Sender:
    """Counts rounds; the first ``failing`` ones find the database gone."""

    batch = 100

    def __init__(self, failing: int = 0) -> None:
        self.rounds = 0
        self.failing = failing
        self.round_done = threading.Event()
        self.stopped = False

    def stop(self) -> None:
        self.stopped = True

    def send_due(self, now: datetime) -> SendReport:
        self.rounds += 1
        self.round_done.set()
        if self.rounds <= self.failing:
            raise StorageUnavailableError("the database went away")
        return SendReport()


def started(sender: Sender) -> tuple[SendingLoop, threading.Thread]:
    loop = SendingLoop(cast(OutboxSender, sender), TICK)
    thread = threading.Thread(target=loop.run, daemon=True)
    thread.start()
    assert sender.round_done.wait(5)  # the first round runs at once
    sender.round_done.clear()
    return loop, thread


def test_a_wake_runs_a_round_at_once_and_close_ends_the_loop() -> None:
    sender = Sender()
    loop, thread = started(sender)
    time.sleep(0.1)
    assert sender.rounds == 1  # then it waits for the tick or a wake
    loop.wake()
    assert sender.round_done.wait(5)
    assert sender.rounds == 2
    loop.close()
    thread.join(5)
    assert not thread.is_alive()
    assert sender.stopped  # the round in flight was told to end too


def test_a_database_outage_backs_off_and_the_loop_goes_on() -> None:
    sender = Sender(failing=1)
    loop, thread = started(sender)
    began = time.monotonic()
    loop.wake()  # woken during the back-off: the next try waits for its step (1 s)
    assert sender.round_done.wait(5)
    assert sender.rounds == 2
    assert time.monotonic() - began > 0.5
    loop.close()
    thread.join(5)
    assert not thread.is_alive()
