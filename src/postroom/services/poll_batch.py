"""Retrieved messages waiting to be stored together.

A batch is stored with one flush and one commit, then its messages are deleted on the
server; each message is handed to the parser as it is added, so it is parsed while the
next ones are retrieved.

A full batch is not stored at once but *sealed*: it is stored once the next batch is
full too (or the poll ends). Meanwhile its messages are parsed, and while it is stored
the parser goes on with the next batch's, already handed over: the parser never waits
for the storage, nor the storage for the parser's tail. A batch full by its bytes is
stored at once (two of them are not held in memory).
"""

from __future__ import annotations

import time

from postroom.mime.isolated import ParseOutcome, ParseStream
from postroom.services.ingest import Arrival


class PollBatch:
    def __init__(self, stream: ParseStream) -> None:
        self.stream = stream
        self.pending: list[tuple[int, Arrival]] = []
        """(the message's number in this session, the message): retrieved, not stored,
        in order; the first `sealed` of them are a full batch waiting for its turn."""
        self.sealed = 0
        self.bytes = 0
        """Of the messages after the sealed ones."""
        self.since = 0.0

    def add(self, number: int, arrival: Arrival) -> None:
        if len(self.pending) == self.sealed:
            self.since = time.monotonic()
        self.pending.append((number, arrival))
        self.bytes += len(arrival.raw)
        self.stream.submit(arrival.raw)

    def parsed(self, count: int) -> list[ParseOutcome]:
        """The first ``count`` pending messages' parse outcomes, in order (waits for them)."""
        return self.stream.take(count)

    def full(self, messages: int, size: int, seconds: float) -> bool:
        """The messages after the sealed ones make a batch."""
        return (
            len(self.pending) - self.sealed >= messages
            or self.bytes >= size
            or time.monotonic() - self.since >= seconds
        )

    def seal(self) -> None:
        """Every pending message is one batch, stored when the next one is full."""
        self.sealed = len(self.pending)
        self.bytes = 0

    def stored(self, count: int) -> None:
        """The first ``count`` pending messages (the sealed ones, or all) are stored."""
        del self.pending[:count]
        self.sealed = max(0, self.sealed - count)
        if not self.pending:
            self.bytes = 0

    def clear(self) -> None:
        self.pending.clear()
        self.sealed = 0
        self.bytes = 0
