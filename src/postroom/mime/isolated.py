"""Parsing with a time budget per message, in child processes a stalled message is killed in.

Every byte of a message is the sender's. The parser is written to run in
linear time, but a promise that rests on that alone fails on the input nobody
thought of, and a Python thread cannot be stopped from outside. So a long-running
Postroom parses in child processes (``python -m postroom.mime.isolated``):

1. a message goes to a child over a pipe (8-byte length, then the raw bytes);
   its `ParsedMail` comes back pickled, framed the same way; an empty frame first
   says the child is ready (its interpreter and the parser's modules loaded);
2. the caller waits at most `budget` seconds for it (`MESSAGE_SECONDS`, plus
   `SECONDS_PER_MB` for big messages); past it the child is killed and the
   message is reported as a `ParseFailure` with that reason, which the caller
   quarantines (rule Q1); the next message gets a new child. A child's start
   is not a message's time: the budget runs from the child's ready frame (a
   machine under load takes seconds to start an interpreter), and a child
   that is not ready within `START_SECONDS` fails the message it was to parse;
3. a ``stopping`` event (SIGTERM) set while it waits kills the child within
   `SLICE` seconds and raises `ParseInterrupted`: nothing of the batch counts
   as stored, so the mail stays on the server for the next start;
4. a child that dies on a message (out of memory, a crash in a C library) is
   a `ParseFailure` of that message alone.

A poll hands each message to its child as soon as it is retrieved
(`MailParser.stream`), so the child parses while the next message comes in
over the network, and the batch takes the outcomes when it is stored. The
pipes hold `PIPE_BYTES` each way, about a batch of common mail: while the
caller stores one batch (and reads no answer), the child parses the next one,
handed over already (`services.poll_batch`).
Children are started when first needed and kept (starting one costs about a
twentieth of a second); each serves one poll at a time, so a mailbox whose
messages stall holds its own child and never another mailbox's. At most
``size`` exist (by default as many as a process polls mailboxes at once); a
poll waits for a free one.

`InProcessParser` is the same port without the child: for tests and for
one-off commands where a stall only costs the person who typed them.
"""

from __future__ import annotations

import atexit
import fcntl
import itertools
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
from typing import BinaryIO, Protocol

from postroom.domain.mail import ParsedMail

log = logging.getLogger(__name__)
START_SECONDS = 60.0
"""How long a child may take to be ready before the message it waits for fails."""

MESSAGE_SECONDS = 10.0
"""Default budget for parsing one message (POSTROOM_MESSAGE_SECONDS)."""
SECONDS_PER_MB = 0.5
"""Added to the budget per MiB of message: a 50 MB message may take 25 s more."""
SLICE = 0.25
"""Seconds between looks at the ``stopping`` event while a child parses."""
PIPE_BYTES = 1024 * 1024
"""Asked of each pipe to and from a child (Linux: F_SETPIPE_SZ, by default at most
/proc/sys/fs/pipe-max-size, 1 MiB); a pipe keeps its 64 KiB where that is refused."""

_FRAME = struct.Struct("!Q")
_WRITEV = 64
"""Pieces handed to one ``writev`` at most (Linux takes 1,024)."""
_MIB = 1024 * 1024


@dataclass(frozen=True, slots=True)
class ParseFailure:
    """A message that could not be parsed within its budget, or whose parser died."""

    reason: str


class ParseInterrupted(Exception):
    """The service is stopping: the batch was not parsed (and must not be stored)."""


ParseOutcome = ParsedMail | ParseFailure


class ParseStream(Protocol):
    """Messages handed over one by one as they arrive, their outcomes taken later in order.

    A poll submits each message as soon as it is retrieved, so the child parses it while
    the next one is read from the network; the batch takes the outcomes when it is stored.
    """

    def prepare(self) -> None:
        """Get ready for the first message now: the parser's first child starts (an
        interpreter and the parser's modules, ~0.1 s of CPU) while the caller connects and
        logs in, not while its first batch waits for the outcomes. Holds no child."""
        ...

    def submit(self, raw: bytes) -> None: ...

    def take(self, count: int) -> list[ParseOutcome]:
        """The outcomes of the next ``count`` submitted messages (waits for them)."""
        ...

    def close(self) -> None: ...


class MailParser(Protocol):
    """Raw messages in, each one's `ParsedMail` (or why there is none) out, in order."""

    def stream(self, stopping: threading.Event | None = None) -> ParseStream: ...

    def parse_many(
        self, raws: Sequence[bytes], stopping: threading.Event | None = None
    ) -> list[ParseOutcome]: ...


class InProcessParser:
    """`parse` in the calling thread: no budget (``stopping`` is looked at between messages)."""

    def stream(self, stopping: threading.Event | None = None) -> ParseStream:
        return _InProcessStream(stopping)

    def parse_many(
        self, raws: Sequence[bytes], stopping: threading.Event | None = None
    ) -> list[ParseOutcome]:
        stream = _InProcessStream(stopping)
        for raw in raws:
            stream.submit(raw)
        return stream.take(len(raws))


class _InProcessStream:
    def __init__(self, stopping: threading.Event | None) -> None:
        self._stopping = stopping
        self._raws: deque[bytes] = deque()

    def prepare(self) -> None:
        pass

    def submit(self, raw: bytes) -> None:
        self._raws.append(raw)

    def take(self, count: int) -> list[ParseOutcome]:
        out: list[ParseOutcome] = []
        for _ in range(count):
            if self._stopping is not None and self._stopping.is_set():
                raise ParseInterrupted("stopping")
            out.append(_parse(self._raws.popleft()))
        return out

    def close(self) -> None:
        self._raws.clear()


def _parse(raw: bytes) -> ParsedMail:
    """`postroom.mime.parser.parse`, imported when first called: a process that parses
    in children (`postroom ingest`) need not load the parser itself."""
    from postroom.mime.parser import parse

    return parse(raw)


def budget(size: int, seconds: float = MESSAGE_SECONDS) -> float:
    """Seconds a message of ``size`` bytes may take to parse."""
    return seconds + SECONDS_PER_MB * size / _MIB


class IsolatedParser:
    """Parses in child processes with a time budget per message (see the module docstring)."""

    def __init__(self, seconds: float = MESSAGE_SECONDS, size: int = 8) -> None:
        self.seconds = seconds
        self._size = max(1, size)
        self._idle: list[_Child] = []
        self._count = 0
        self._free = threading.Condition()
        # Children end with their parser (garbage collected, or the interpreter exiting).
        weakref.finalize(self, _stop_all, self._idle)

    def stream(self, stopping: threading.Event | None = None) -> ParseStream:
        """A stream that holds one child from its first message until it is closed."""
        return _ChildStream(self, stopping)

    def parse_many(
        self, raws: Sequence[bytes], stopping: threading.Event | None = None
    ) -> list[ParseOutcome]:
        stream = self.stream(stopping)
        try:
            for raw in raws:
                stream.submit(raw)
            return stream.take(len(raws))
        finally:
            stream.close()

    def close(self) -> None:
        """Stop the idle children (a busy one ends when its caller gives it back)."""
        with self._free:
            idle = list(self._idle)
            self._idle.clear()
            self._count -= len(idle)
        _stop_all(idle)

    def warm(self) -> None:
        """Start the first child now, idle, unless one was started already (then the
        children are kept, and a stream that needs one takes an idle one or starts it)."""
        with self._free:
            if self._count or self._idle:
                return
            self._count += 1
        try:
            child = _started()
        except OSError as exc:  # the first message meets it again, and says so
            log.debug("no parser child started ahead: %s", exc)
            self.checkin(None)
            return
        self.checkin(child)

    def checkout(self) -> _Child | None:
        with self._free:
            while not self._idle and self._count >= self._size:
                self._free.wait()
            if self._idle:
                return self._idle.pop()
            self._count += 1
            return None  # started on first use, outside the lock

    def checkin(self, child: _Child | None) -> None:
        with self._free:
            if child is not None and child.alive:
                self._idle.append(child)
            else:
                if child is not None:
                    child.stop()
                self._count -= 1
            self._free.notify()


class _ChildStream:
    """Messages in flight to one child: written ahead as the pipe takes them, answers read
    as they come; message i's budget runs from when it was submitted, from the answer
    to message i-1 or from its child's start, whichever is later. Answers that came while
    the caller was not reading (storing a batch) count before a message is past it."""

    def __init__(self, owner: IsolatedParser, stopping: threading.Event | None) -> None:
        self._owner = owner
        self._child: _Child | None = None
        self._holding = False
        self._stopping = stopping
        self._waiting: deque[tuple[bytes, float]] = deque()
        """Submitted, not yet answered: the raw bytes and when they were submitted."""
        self._pending: deque[memoryview] = deque()
        self._inbox = bytearray()
        self._done: deque[ParseOutcome] = deque()
        self._answered = time.monotonic()
        self._closed = False

    def prepare(self) -> None:
        if not self._holding:
            self._owner.warm()

    def submit(self, raw: bytes) -> None:
        child = self._running()
        self._waiting.append((raw, time.monotonic()))
        _frame(self._pending, raw)
        problem = child.pump(self._pending, self._inbox, 0.0)
        self._collect()
        if problem is not None:
            self._fail_head(problem)

    def take(self, count: int) -> list[ParseOutcome]:
        while len(self._done) < count:
            if not self._waiting:
                raise ValueError(f"{count} outcomes asked for, {len(self._done)} submitted")
            if self._stopping is not None and self._stopping.is_set():
                self._stop_child()
                raise ParseInterrupted("stopping")
            child = self._running()
            raw, submitted = self._waiting[0]
            if not child.ready:  # its start is not the message's time
                deadline = child.started + START_SECONDS
            else:
                deadline = max(submitted, self._answered) + budget(len(raw), self._owner.seconds)
            left = deadline - time.monotonic()
            if left <= 0:
                if self._drained(child):  # answered while the caller was storing a batch
                    continue
                if not child.ready:
                    self._fail_head(
                        f"the parser process was not ready within {START_SECONDS:.0f} s"
                    )
                    continue
                limit = budget(len(raw), self._owner.seconds)
                self._fail_head(
                    f"parsing took longer than {limit:.0f} s "
                    "(POSTROOM_MESSAGE_SECONDS): the message is kept in quarantine"
                )
                continue
            problem = child.pump(self._pending, self._inbox, min(SLICE, left))
            self._collect()
            if problem is not None:
                self._fail_head(problem)
        return [self._done.popleft() for _ in range(count)]

    def _drained(self, child: _Child) -> bool:
        """Take what the child answered while nobody read its pipe; True if the oldest
        waiting message is no longer waiting (answered, or its child died), or its budget
        starts only now (the child's ready frame came meanwhile)."""
        before, was_ready = len(self._done), child.ready
        problem = child.pump(self._pending, self._inbox, 0.0)
        self._collect()
        if problem is not None:
            self._fail_head(problem)
        return len(self._done) > before or child.ready != was_ready

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        if not self._holding:
            return
        if self._waiting:  # abandoned mid-way: the child may still be busy
            self._stop_child()
        self._owner.checkin(self._child)

    def _running(self) -> _Child:
        if not self._holding:
            self._child = self._owner.checkout()  # waits while all children are busy
            self._holding = True
        if self._child is None or not self._child.alive:
            if self._child is not None:
                self._child.stop()
            self._child = _started()
            self._answered = time.monotonic()  # nothing could be parsed before
        return self._child

    def _collect(self) -> None:
        answers, ready = _take_answers(self._inbox)
        if ready and self._child is not None:
            self._child.ready = True
        if answers or ready:
            self._answered = time.monotonic()
        for answer in answers:
            self._waiting.popleft()
            self._done.append(answer)

    def _fail_head(self, problem: str) -> None:
        """The oldest waiting message stalled or killed its child: it alone fails; a new
        child gets the ones after it."""
        self._stop_child()
        self._waiting.popleft()
        log.warning("a message was not parsed: %s", problem)
        self._done.append(ParseFailure(problem))
        self._answered = time.monotonic()
        self._pending.clear()
        self._inbox.clear()
        for raw, _ in self._waiting:
            _frame(self._pending, raw)
        if self._waiting:  # a new child at once: it starts and parses while the caller stores
            self._running()._write(self._pending)  # one that died is found by the next pump

    def _stop_child(self) -> None:
        if self._child is not None:
            self._child.stop()
            self._child = None


class _Child:
    """One ``python -m postroom.mime.isolated`` process and its two pipes."""

    def __init__(self, process: subprocess.Popen[bytes]) -> None:
        self.process = process
        self.started = time.monotonic()
        self.ready = False
        """Its ready frame was read (`_take_answers`)."""
        assert process.stdin is not None and process.stdout is not None
        self._to = process.stdin.fileno()
        self._from = process.stdout.fileno()
        os.set_blocking(self._to, False)
        os.set_blocking(self._from, False)
        _widen(self._to)
        _widen(self._from)
        self._selector = selectors.DefaultSelector()
        self._selector.register(self._from, selectors.EVENT_READ)

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

    def pump(self, pending: deque[memoryview], inbox: bytearray, timeout: float) -> str | None:
        """Write what the pipe takes of ``pending``, then read what has come into ``inbox``
        (waiting up to ``timeout`` for something to come); a sentence if the child is gone."""
        if not self._write(pending):
            return f"the parser process died on this message ({self._exit()})"
        writing = bool(pending)
        if writing:
            self._selector.register(self._to, selectors.EVENT_WRITE)
        try:
            for key, _events in self._selector.select(timeout):
                if key.fd == self._to:
                    if not self._write(pending):
                        return f"the parser process died on this message ({self._exit()})"
                    continue
                while True:
                    try:
                        chunk = os.read(self._from, _MIB)
                    except BlockingIOError:
                        break
                    if not chunk:
                        return f"the parser process died on this message ({self._exit()})"
                    inbox += chunk
                    if len(chunk) < _MIB:
                        break
        finally:
            if writing:
                self._selector.unregister(self._to)
        return None

    def _write(self, pending: deque[memoryview]) -> bool:
        """Write what the pipe takes now; False if the child is gone. A message's length
        and bytes go in one system call (``writev``): the child, waiting for them, is
        woken once a message, not twice."""
        while pending:
            try:
                written = os.writev(self._to, list(itertools.islice(pending, _WRITEV)))
            except BlockingIOError:
                return True
            except OSError:
                return False
            while pending and written >= len(pending[0]):  # an empty piece goes too
                written -= len(pending.popleft())
            if written:
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
        self._selector.close()
        for stream in (self.process.stdin, self.process.stdout):
            if stream is not None:
                stream.close()


_EARLY: list[_Child] = []
"""A child started by `start_early`, waiting for the process's first parser to take it."""


def start_early() -> None:
    """Start a parser child now, before the command's own imports, for the process's
    first `IsolatedParser` to take: its start (an interpreter and the parser's modules,
    ~0.1 s) runs on another core meanwhile, not after them. For `postroom ingest`, one
    process per message in an MTA pipe. Stopped at exit if nothing took it. A child
    that cannot be started now (no process left, no interpreter) is not an error here:
    the parser meets the same failure when it needs one, where the command reports it
    (`postroom ingest`: exit 75, the MTA tries again)."""
    if _EARLY:
        return
    try:
        child = _Child.start()
    except OSError as exc:
        log.debug("no parser child started early: %s", exc)
        return
    _EARLY.append(child)
    atexit.register(_stop_all, _EARLY)


def _started() -> _Child:
    """The child `start_early` started (if alive), else a new one."""
    while _EARLY:
        child = _EARLY.pop()
        if child.alive:
            return child
        child.stop()
    return _Child.start()


def _widen(fd: int) -> None:
    """Let the pipe hold `PIPE_BYTES`, where the system allows it (a speed-up only)."""
    setpipe = getattr(fcntl, "F_SETPIPE_SZ", None)
    if setpipe is None:
        return
    try:
        fcntl.fcntl(fd, setpipe, PIPE_BYTES)
    except OSError as exc:
        log.debug("a parser pipe keeps its size: %s", exc)


def _stop_all(children: list[_Child]) -> None:
    for child in children:
        child.stop()


def _frame(pending: deque[memoryview], raw: bytes) -> None:
    """Queue ``raw`` for a child: its length (8 bytes), then the bytes, not copied."""
    pending.append(memoryview(_FRAME.pack(len(raw))))
    pending.append(memoryview(raw))


def _take_answers(inbox: bytearray) -> tuple[list[ParsedMail], bool]:
    """Every complete answer in ``inbox``, removed from it, and whether the child's ready
    frame (an empty one) was among them."""
    answers: list[ParsedMail] = []
    ready = False
    while len(inbox) >= _FRAME.size:
        (size,) = _FRAME.unpack_from(inbox)
        if len(inbox) < _FRAME.size + size:
            break
        if size == 0:
            del inbox[: _FRAME.size]
            ready = True
            continue
        payload = bytes(inbox[_FRAME.size : _FRAME.size + size])
        del inbox[: _FRAME.size + size]
        answer = pickle.loads(payload)  # noqa: S301 - our own child's output, not the sender's
        if not isinstance(answer, ParsedMail):
            raise TypeError(f"the parser process answered {type(answer).__name__}")
        answers.append(answer)
    return answers, ready


def _read_exact(stream: BinaryIO, size: int) -> bytes | None:
    """``size`` bytes from ``stream``, or None if it ends first (the parent went away)."""
    parts: list[bytes] = []
    missing = size
    while missing:
        chunk = stream.read(missing)
        if not chunk:
            return None
        parts.append(chunk)
        missing -= len(chunk)
    return b"".join(parts)


def main() -> None:
    """The child: parse what comes in on stdin until it closes (the parent went away)."""
    # The parent handles Ctrl-C and SIGTERM; a child ends when its stdin closes.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    from postroom.mime.parser import parse  # before the first message comes

    # Read in chunks as large as the pipe: a message's length and bytes (and whatever
    # follows them) in one system call, not two or three through an 8 KiB buffer.
    sink = sys.stdout.buffer
    sink.write(_FRAME.pack(0))  # ready: the first message's budget starts now
    sink.flush()
    with open(sys.stdin.fileno(), "rb", buffering=PIPE_BYTES, closefd=False) as source:
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
