"""Retrieved messages waiting to be stored together.

A batch is stored with one flush and one commit, then its messages are deleted on the
server; each message is handed to the parser as it is added, so it is parsed while the
next ones are retrieved.
"""

from __future__ import annotations

import time

from postroom.mime.isolated import ParseOutcome, ParseStream
from postroom.services.ingest import Arrival


class PollBatch:
    def __init__(self, stream: ParseStream) -> None:
        self.stream = stream
        self.pending: list[tuple[int, Arrival]] = []
        """(the message's number in this session, the message)"""
        self.bytes = 0
        self.since = 0.0

    def add(self, number: int, arrival: Arrival) -> None:
        if not self.pending:
            self.since = time.monotonic()
        self.pending.append((number, arrival))
        self.bytes += len(arrival.raw)
        self.stream.submit(arrival.raw)

    def parsed(self) -> list[ParseOutcome]:
        """The pending messages' parse outcomes, in order (waits for them)."""
        return self.stream.take(len(self.pending))

    def full(self, messages: int, size: int, seconds: float) -> bool:
        return (
            len(self.pending) >= messages
            or self.bytes >= size
            or time.monotonic() - self.since >= seconds
        )

    def clear(self) -> None:
        self.pending.clear()
        self.bytes = 0
