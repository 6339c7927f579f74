"""The response reader's size bound: a multi-line body past the limit stops the read.

A server may stream a RETR answer forever (issue 10, item 10); the reader must stop at
the limit, holding at most the limit plus one chunk, whatever the chunking.
"""

from __future__ import annotations

import itertools
import random

import pytest

from postroom.mailboxes.pop3_wire import ResponseReader, TooLong


class Feed:
    """A ``recv_into`` over ``head`` followed by ``tail`` repeated forever (or not at all)."""

    def __init__(self, head: bytes, tail: bytes = b"", step: int | None = None) -> None:
        self._data = itertools.chain(head, itertools.cycle(tail) if tail else ())
        self.step = step
        self.given = 0

    def __call__(self, view: memoryview) -> int:
        want = min(len(view), self.step or len(view))
        got = bytes(itertools.islice(self._data, want))
        view[: len(got)] = got
        self.given += len(got)
        return len(got)


def _body(size: int, seed: int) -> bytes:
    """A dot-stuffed wire body of exactly ``size`` octets (``size`` > 45), last line CRLF-ended."""
    rng = random.Random(seed)
    out = bytearray()
    while size - len(out) > 45:
        stuffed = b".." if rng.random() < 0.2 else b""
        out += stuffed + b"x" * rng.randint(0, 40) + b"\r\n"
    out += b"z" * (size - len(out) - 2) + b"\r\n"
    return bytes(out)


@pytest.mark.parametrize("seed", range(5))
@pytest.mark.parametrize("step", [1, 7, 64, None])
def test_a_body_of_exactly_the_limit_is_read(seed: int, step: int | None) -> None:
    limit = random.Random(seed).randint(100, 3000)
    body = _body(limit, seed)
    assert len(body) == limit
    feed = Feed(b"+OK\r\n" + body + b".\r\n+OK next\r\n", step=step)
    r = ResponseReader(feed, chunk=64)
    assert r.status_line() == b"+OK"
    assert len(r.multiline(limit)) <= limit
    assert r.status_line() == b"+OK next"


@pytest.mark.parametrize("seed", range(5))
@pytest.mark.parametrize("step", [1, 7, 64, None])
def test_a_body_one_octet_over_the_limit_is_refused(seed: int, step: int | None) -> None:
    limit = random.Random(seed).randint(100, 3000)
    body = _body(limit + 1, seed)
    feed = Feed(b"+OK\r\n" + body + b".\r\n", step=step)
    r = ResponseReader(feed, chunk=64)
    r.status_line()
    with pytest.raises(TooLong) as info:
        r.multiline(limit)
    assert info.value.limit == limit


@pytest.mark.parametrize("chunk", [64, 1000, 4096])
@pytest.mark.parametrize("step", [1, 100, None])
def test_an_endless_body_stops_at_the_limit_plus_one_chunk(chunk: int, step: int | None) -> None:
    limit = 20_000
    feed = Feed(b"+OK\r\n", b"X-Filler: " + b"a" * 50 + b"\r\n", step=step)
    r = ResponseReader(feed, chunk=chunk)
    r.status_line()
    with pytest.raises(TooLong) as info:
        r.multiline(limit)
    assert feed.given <= len(b"+OK\r\n") + limit + 2 + chunk
    assert info.value.received <= limit + 2 + chunk
    assert r.buffered <= limit + 2 + chunk


def test_an_endless_stream_in_big_chunks_is_refused_quickly() -> None:
    """100 MB would be read in full by an unbounded reader; this one reads ~1 MB."""
    limit = 1024 * 1024
    line = b"." * 998 + b"\r\n"
    pos = 0

    def recv_into(view: memoryview) -> int:
        nonlocal pos
        if pos >= 100 * 1024 * 1024:
            return 0
        n = len(view) - len(view) % len(line)
        view[:n] = line * (n // len(line))
        pos += n
        return n

    r = ResponseReader(recv_into, chunk=64 * 1024)
    with pytest.raises(TooLong):
        r.multiline(limit)
    assert pos <= limit + 2 + 64 * 1024
