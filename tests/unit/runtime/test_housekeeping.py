"""The chores of a service process run once per `Housekeeping.EVERY` seconds, not at
every tick, and one that failed runs again at the next call."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import cast

import pytest

from postroom.runtime.housekeeping import Housekeeping
from postroom.services.items import ItemService


class Items:
    """Counts the calls; the first ``failing`` ones find the database gone."""

    def __init__(self, failing: int = 0) -> None:
        self.calls: list[datetime] = []
        self.failing = failing

    def close_after_feedback(self, now: datetime, feedback: timedelta) -> int:
        self.calls.append(now)
        if len(self.calls) <= self.failing:
            raise RuntimeError("the database went away")
        return 0


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_the_chores_run_at_the_first_tick_then_once_per_period() -> None:
    items, clock = Items(), Clock()
    chores = Housekeeping(cast(ItemService, items), timedelta(days=5), every=10.0, clock=clock)
    for _ in range(50):  # ticks of 0.2 s
        chores()
        clock.now += 0.2
    assert len(items.calls) == 1
    clock.now = 110.0
    chores()
    assert len(items.calls) == 2
    chores()
    assert len(items.calls) == 2


def test_a_chore_that_failed_runs_again_at_the_next_call() -> None:
    items, clock = Items(failing=1), Clock()
    chores = Housekeeping(cast(ItemService, items), timedelta(days=5), every=10.0, clock=clock)
    with pytest.raises(RuntimeError):
        chores()
    clock.now += 0.2
    chores()
    assert len(items.calls) == 2
    chores()
    assert len(items.calls) == 2
