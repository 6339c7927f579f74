"""What one poll of a channel did: the report `postroom poll` prints and the outcome the
channel keeps."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

from postroom.net.connection import FailureClass


@dataclass
class ChannelReport:
    channel: str
    fetched: int = 0
    handled: int = 0
    quarantined: int = 0
    duplicates: int = 0
    deleted_known: int = 0
    """Messages already stored by an earlier poll: deleted without downloading again."""
    remaining: int = 0
    """Left on the server for the next round (fairness cap)."""
    left_too_large: list[str] = field(default_factory=list)
    """Messages left on the server, over POSTROOM_MAX_MESSAGE_BYTES: one sentence each."""
    errors: list[str] = field(default_factory=list)
    error_class: FailureClass | None = None
    switched_off: bool = False
    skipped: str | None = None
    seconds: float = 0.0

    def to_json(self) -> dict[str, Any]:
        return {**asdict(self), "seconds": round(self.seconds, 3)}

    def failed(self, error_class: FailureClass, text: str) -> None:
        self.errors.append(text)
        self.error_class = error_class

    @property
    def stored(self) -> int:
        """Messages this poll stored (handled, quarantined or recognised as duplicates)."""
        return self.handled + self.quarantined + self.duplicates

    def kept(self) -> str:
        """What a storage outage did not undo, as the end of its error line."""
        stored = self.stored
        return f"; {stored} message(s) stored before the outage were kept" if stored else ""

    def notice(self) -> tuple[str, str] | None:
        """What a poll that worked still has to say on its channel: mail left on the server."""
        if not self.left_too_large:
            return None
        more = len(self.left_too_large) - 1
        text = self.left_too_large[0] + (f" (and {more} more)" if more else "")
        return (FailureClass.MESSAGE_TOO_LARGE.value, text)


@dataclass(frozen=True)
class PollOutcome:
    """A poll's outcome as its channel records it."""

    error_class: FailureClass | None
    text: str
    at: datetime
    next_poll: datetime
    notice: tuple[str, str] | None = None
    """(class, text) kept on a channel whose poll worked: mail it left on the server."""


@dataclass
class LivePoll:
    """A poll under way, as a progress line reads it from another thread (plain counters
    the poll updates as it goes: `PollService.live`)."""

    report: ChannelReport
    started: float
    """`time.monotonic()` when the poll began."""
    listed: int = 0
    """Messages the server listed (0 until the listing is read)."""

    @property
    def left(self) -> int:
        """Listed but neither stored nor recognised yet."""
        done = self.report.fetched + self.report.deleted_known
        return max(0, self.listed - done)
