"""Parsing with a time budget per message, in child processes a stalled message is killed in.

Every byte of a message is the sender's. The parser is written to run in
linear time, but a promise that rests on that alone fails on the input nobody
thought of, and a Python thread cannot be stopped from outside. So a long-running
Postroom parses in child processes (``python -m postroom.mime.isolated``):

1. a message goes to a child over a pipe (8-byte length, then the raw bytes);
   its `ParsedMail` comes back pickled, framed the same way;
2. the caller waits at most `budget` seconds for it (`MESSAGE_SECONDS`, plus
   `SECONDS_PER_MB` for big messages); past it the child is killed and the
   message is reported as a `ParseFailure` with that reason, which the caller
   quarantines (rule Q1); the next message gets a new child;
3. a ``stopping`` event (SIGTERM) set while it waits kills the child within
   `SLICE` seconds and raises `ParseInterrupted`: nothing of the batch counts
   as stored, so the mail stays on the server for the next start;
4. a child that dies on a message (out of memory, a crash in a C library) is
   a `ParseFailure` of that message alone.

Children are started when first needed and kept (starting one costs about a
tenth of a second); each serves one caller at a time, so a mailbox whose
messages stall holds its own child and never another mailbox's. At most
``size`` exist; a caller waits for a free one.

`InProcessParser` is the same port without the child: for tests and for
one-off commands where a stall only costs the person who typed them.
"""

from __future__ import annotations

import logging
import os
import pickle
import selectors
import signal
import struct
import subprocess
import sys
import threading
import time
import weakref
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from postroom.domain.mail import ParsedMail
from postroom.mime.parser import parse

log = logging.getLogger(__name__)

MESSAGE_SECONDS = 10.0
"""Default budget for parsing one message (POSTROOM_MESSAGE_SECONDS)."""
SECONDS_PER_MB = 0.5
"""Added to the budget per MiB of message: a 50 MB message may take 25 s more."""
SLICE = 0.25
"""Seconds between looks at the ``stopping`` event while a child parses."""

_FRAME = struct.Struct("!Q")
_MIB = 1024 * 1024


@dataclass(frozen=True, slots=True)
class ParseFailure:
    """A message that could not be parsed within its budget, or whose parser died."""

    reason: str


class ParseInterrupted(Exception):
    """The service is stopping: the batch was not parsed (and must not be stored)."""


ParseOutcome = ParsedMail | ParseFailure


class MailParser(Protocol):
    """Raw messages in, each one's `ParsedMail` (or why there is none) out, in order."""

    def parse_many(
        self, raws: Sequence[bytes], stopping: threading.Event | None = None
    ) -> list[ParseOutcome]: ...


class InProcessParser:
    """`parse` in the calling thread: no budget (``stopping`` is looked at between messages)."""

    def parse_many(
        self, raws: Sequence[bytes], stopping: threading.Event | None = None
    ) -> list[ParseOutcome]:
        out: list[ParseOutcome] = []
        for raw in raws:
            if stopping is not None and stopping.is_set():
                raise ParseInterrupted("stopping")
            out.append(parse(raw))
        return out


def budget(size: int, seconds: float = MESSAGE_SECONDS) -> float:
    """Seconds a message of ``size`` bytes may take to parse."""
    return seconds + SECONDS_PER_MB * size / _MIB


class IsolatedParser:
    """Parses in child processes with a time budget per message (see the module docstring)."""

    def __init__(self, seconds: float = MESSAGE_SECONDS, size: int = 4) -> None:
        self.seconds = seconds
        self._size = max(1, size)
        self._idle: list[_Child] = []
        self._count = 0
        self._free = threading.Condition()
        # Children end with their parser (garbage collected, or the interpreter exiting).
        weakref.finalize(self, _stop_all, self._idle)

    def parse_many(
        self, raws: Sequence[bytes], stopping: threading.Event | None = None
    ) -> list[ParseOutcome]:
        child = self._checkout()
        out: list[ParseOutcome] = []
        try:
            while len(out) < len(raws):
                if child is None or not child.alive:
                    if child is not None:
                        child.stop()
                    child = _Child.start()
                try:
                    problem = child.run(raws, len(out), self.seconds, stopping, out)
                except ParseInterrupted:
                    child.stop()
                    raise
                if problem is None:
                    break
                # The message at len(out) stalled or killed its child: it alone fails.
                child.stop()
                child = None
                log.warning("message %d of a batch not parsed: %s", len(out) + 1, problem)
                out.append(ParseFailure(problem))
            return out
        finally:
            self._checkin(child)

    def close(self) -> None:
        """Stop the idle children (a busy one ends when its caller gives it back)."""
        with self._free:
            idle = list(self._idle)
            self._idle.clear()
            self._count -= len(idle)
        _stop_all(idle)

    def _checkout(self) -> _Child | None:
        with self._free:
            while not self._idle and self._count >= self._size:
                self._free.wait()
            if self._idle:
                return self._idle.pop()
            self._count += 1
            return None  # started on first use, outside the lock

    def _checkin(self, child: _Child | None) -> None:
        with self._free:
            if child is not None and child.alive:
                self._idle.append(child)
            else:
                if child is not None:
                    child.stop()
                self._count -= 1
            self._free.notify()


class _Child:
    """One ``python -m postroom.mime.isolated`` process and its two pipes."""

    def __init__(self, process: subprocess.Popen[bytes]) -> None:
        self.process = process
        assert process.stdin is not None and process.stdout is not None
        self._to = process.stdin.fileno()
        self._from = process.stdout.fileno()
        os.set_blocking(self._to, False)

    @classmethod
    def start(cls) -> _Child:
        process = subprocess.Popen(
            [sys.executable, "-m", "postroom.mime.isolated"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            bufsize=0,
            close_fds=True,
        )
        return cls(process)

    @property
    def alive(self) -> bool:
        return self.process.poll() is None

    def run(
        self,
        raws: Sequence[bytes],
        first: int,
        seconds: float,
        stopping: threading.Event | None,
        out: list[ParseOutcome],
    ) -> str | None:
        """Parse ``raws[first:]``, appending to ``out``; None when all are done, else why the
        next one failed (its budget passed, or the child died on it).

        The messages are written ahead while earlier ones are parsed (the pipe takes what
        the child has room for); message i's budget runs from the moment the answer to
        message i-1 arrived.
        """
        pending: deque[memoryview] = deque()
        for raw in raws[first:]:
            pending.append(memoryview(_FRAME.pack(len(raw))))
            pending.append(memoryview(raw))
        inbox = bytearray()
        since = time.monotonic()
        with selectors.DefaultSelector() as selector:
            selector.register(self._from, selectors.EVENT_READ)
            selector.register(self._to, selectors.EVENT_WRITE)
            while len(out) < len(raws):
                limit = budget(len(raws[len(out)]), seconds)
                left = since + limit - time.monotonic()
                if left <= 0:
                    return (
                        f"parsing took longer than {limit:.0f} s "
                        "(POSTROOM_MESSAGE_SECONDS): the message is kept in quarantine"
                    )
                if stopping is not None and stopping.is_set():
                    raise ParseInterrupted("stopping")
                for key, _events in selector.select(min(SLICE, left)):
                    if key.fd == self._to:
                        if not self._write(pending):
                            return f"the parser process died on this message ({self._exit()})"
                        if not pending:
                            selector.unregister(self._to)
                    else:
                        chunk = os.read(self._from, _MIB)
                        if not chunk:
                            return f"the parser process died on this message ({self._exit()})"
                        inbox += chunk
                        if _take_answers(inbox, out):
                            since = time.monotonic()
        return None

    def _write(self, pending: deque[memoryview]) -> bool:
        """Write what the pipe takes now; False if the child is gone."""
        while pending:
            try:
                written = os.write(self._to, pending[0])
            except BlockingIOError:
                return True
            except OSError:
                return False
            if written == len(pending[0]):
                pending.popleft()
            else:
                pending[0] = pending[0][written:]
        return True

    def _exit(self) -> str:
        try:
            code = self.process.wait(timeout=1)
        except subprocess.TimeoutExpired:
            return "it closed its output"
        if code < 0:
            return f"killed by signal {signal.Signals(-code).name}"
        return f"exit code {code}"

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait()
        for stream in (self.process.stdin, self.process.stdout):
            if stream is not None:
                stream.close()


def _stop_all(children: list[_Child]) -> None:
    for child in children:
        child.stop()


def _take_answers(inbox: bytearray, out: list[ParseOutcome]) -> bool:
    """Move every complete answer from ``inbox`` to ``out``; True if there was one."""
    took = False
    while len(inbox) >= _FRAME.size:
        (size,) = _FRAME.unpack_from(inbox)
        if len(inbox) < _FRAME.size + size:
            break
        payload = bytes(inbox[_FRAME.size : _FRAME.size + size])
        del inbox[: _FRAME.size + size]
        answer = pickle.loads(payload)  # noqa: S301 - our own child's output, not the sender's
        if not isinstance(answer, ParsedMail):
            raise TypeError(f"the parser process answered {type(answer).__name__}")
        out.append(answer)
        took = True
    return took


def _read_exact(stream: object, size: int) -> bytes | None:
    read = stream.read  # type: ignore[attr-defined]
    parts: list[bytes] = []
    missing = size
    while missing:
        chunk = read(missing)
        if not chunk:
            return None
        parts.append(chunk)
        missing -= len(chunk)
    return b"".join(parts)


def main() -> None:
    """The child: parse what comes in on stdin until it closes (the parent went away)."""
    # The parent handles Ctrl-C and SIGTERM; a child ends when its stdin closes.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    source, sink = sys.stdin.buffer, sys.stdout.buffer
    while True:
        header = _read_exact(source, _FRAME.size)
        if header is None:
            return
        raw = _read_exact(source, _FRAME.unpack(header)[0])
        if raw is None:
            return
        data = pickle.dumps(parse(raw), protocol=pickle.HIGHEST_PROTOCOL)
        sink.write(_FRAME.pack(len(data)) + data)
        sink.flush()


if __name__ == "__main__":
    main()
