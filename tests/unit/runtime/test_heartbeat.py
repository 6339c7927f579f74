"""The idle heartbeat of `postroom run` (issue 13, item 15): a line when nothing was logged
for a minute, never more often, and none while the service is logging its own lines."""

from __future__ import annotations

import logging

from postroom.records.config import ChannelRecord
from postroom.runtime.heartbeat import Activity, Heartbeat


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_idle_says_so_at_most_once_a_minute() -> None:
    clock = Clock()
    activity = Activity(clock)
    lines: list[str] = []
    heartbeat = Heartbeat(lambda: [], activity, 60.0, clock)
    heartbeat.line = lambda: lines.append("beat") or "beat"  # type: ignore[method-assign]
    for _ in range(59):
        clock.now += 1
        heartbeat()
    assert lines == []
    clock.now += 1
    heartbeat()
    heartbeat()
    assert lines == ["beat"]
    # Busy: a poll logs a line every 30 s; no heartbeat meanwhile.
    for _ in range(10):
        clock.now += 30
        activity.emit(logging.LogRecord("postroom", logging.INFO, "", 0, "moved mail", None, None))
        heartbeat()
    assert lines == ["beat"]
    clock.now += 60
    heartbeat()
    assert lines == ["beat", "beat"]


def test_the_line_says_why_it_is_quiet() -> None:
    clock = Clock()
    none = Heartbeat(lambda: [], Activity(clock), 60.0, clock)
    assert "postroom channel add" in none.line()
    off = Heartbeat(lambda: [_channel(enabled=False)], Activity(clock), 60.0, clock)
    assert "none enabled" in off.line()


def _channel(*, enabled: bool) -> ChannelRecord:
    fields = {name: None for name in ChannelRecord.__dataclass_fields__}
    fields.update(id=1, name="box", url="pop3s://u@h:995", enabled=enabled)
    return ChannelRecord(**fields)  # type: ignore[arg-type]
