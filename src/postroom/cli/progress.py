"""`postroom poll`'s progress on a terminal: one line per channel being polled, redrawn.

A poll of a big mailbox runs for many seconds; on a terminal each channel under way shows
what it fetched, stored and has left, and its rate, redrawn twice a second in place (on
stderr, so stdout stays the result). Not on a pipe or a file, and not with ``--json``:
there, only the result.
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Callable
from typing import TextIO

from postroom.cli.output import shown
from postroom.services.poll_report import LivePoll

_UP = "\x1b[{}A"
_CLEAR = "\x1b[2K"


def line(name: str, live: LivePoll, now: float) -> str:
    """One channel's progress line."""
    report = live.report
    seconds = max(now - live.started, 0.001)
    rate = report.stored / seconds
    listed = f", {live.left} left" if live.listed else ", listing"
    return (
        f"{shown(name)}: fetched {report.fetched}, stored {report.stored}{listed}, {rate:.0f} msg/s"
    )


class Progress:
    """Draws `lines` of the polls under way until `close`; use as a context manager."""

    FIRST = 0.2
    EVERY = 0.5

    def __init__(self, polls: Callable[[], dict[str, LivePoll]], out: TextIO | None = None) -> None:
        self.polls = polls
        self.out = out or sys.stderr
        self._done = threading.Event()
        self._drawn = 0
        self._thread = threading.Thread(target=self._run, name="progress", daemon=True)

    @staticmethod
    def wanted(as_json: bool, out: TextIO | None = None) -> bool:
        stream = out or sys.stderr
        return not as_json and stream.isatty()

    def __enter__(self) -> Progress:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._done.set()
        self._thread.join()
        self._draw([])

    def _run(self) -> None:
        wait = self.FIRST
        while not self._done.wait(wait):
            wait = self.EVERY
            now = time.monotonic()
            polls = dict(self.polls())
            self._draw([line(name, live, now) for name, live in sorted(polls.items())])

    def _draw(self, lines: list[str]) -> None:
        text = _UP.format(self._drawn) if self._drawn else ""
        text += "".join(f"\r{_CLEAR}{text_line}\n" for text_line in lines)
        # Lines left over from a longer drawing are cleared, the cursor put back.
        extra = self._drawn - len(lines)
        if extra > 0:
            text += f"\r{_CLEAR}\n" * extra + _UP.format(extra)
        self._drawn = len(lines)
        if text:
            self.out.write(text)
            self.out.flush()
