"""`Outage`: one log line per back-off step (1 s doubling to 30 s), one when it ends."""

from __future__ import annotations

import logging
import random
import re

import pytest

from postroom.services.outage import Outage


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_tries_are_spaced_by_doubling_steps_and_each_says_one_line(
    caplog: pytest.LogCaptureFixture,
) -> None:
    clock = Clock()
    outage = Outage(logging.getLogger("t"), "storage", clock)
    rng = random.Random(6)
    ticks = 0
    tries = 0
    delays = []
    with caplog.at_level(logging.INFO, logger="t"):
        while clock.now < 1000.0 + 300:  # five minutes of 0.2-1 s scheduling ticks
            ticks += 1
            if outage.ready():
                tries += 1
                before = clock.now
                outage.failed(RuntimeError("connection refused"))
                delays.append(outage.next_try - before)
            clock.now += rng.uniform(0.2, 1.0)
        assert outage.succeeded("the database is back")
        assert not outage.succeeded("the database is back")  # said once
    assert delays[:6] == [1, 2, 4, 8, 16, 30] and set(delays[6:]) == {30}
    assert len(caplog.records) == tries + 1 < ticks / 10
    assert all("connection refused; retrying in" in r.getMessage() for r in caplog.records[:-1])
    assert re.fullmatch(r"the database is back after 30\d s", caplog.records[-1].getMessage())


def test_a_new_outage_starts_again_at_the_first_step() -> None:
    clock = Clock()
    outage = Outage(logging.getLogger("t"), "storage", clock)
    for _ in range(4):
        outage.failed(RuntimeError("x"))
        clock.now = outage.next_try
    outage.succeeded("back")
    assert outage.ready() and not outage.active
    outage.failed(RuntimeError("x"))
    assert outage.next_try - clock.now == Outage.FIRST
    assert not outage.ready() and outage.wait(10) == Outage.FIRST
