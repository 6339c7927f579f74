"""The POP3 response reader, fed the same bytes in every possible chunking."""

from __future__ import annotations

import pytest

from postroom.mailboxes.pop3_wire import (
    MAX_STATUS_LINE,
    ResponseReader,
    ServerClosed,
    WireError,
    parse_listing,
    unstuff,
)


def reader(data: bytes, *, step: int | None = None, chunk: int = 64) -> ResponseReader:
    """A reader over ``data`` that receives at most ``step`` bytes per call."""
    pos = 0

    def recv_into(view: memoryview) -> int:
        nonlocal pos
        n = min(len(view), len(data) - pos, step or len(view))
        view[:n] = data[pos : pos + n]
        pos += n
        return n

    return ResponseReader(recv_into, chunk=chunk)


# (wire body including the terminator, message as the caller must get it)
BODIES = [
    pytest.param(b".\r\n", b"", id="empty"),
    pytest.param(b"\r\n.\r\n", b"\r\n", id="one-empty-line"),
    pytest.param(b"a\r\nb\r\n.\r\n", b"a\r\nb\r\n", id="plain"),
    pytest.param(b"..\r\n.\r\n", b".\r\n", id="first-line-a-dot"),
    pytest.param(b"..hidden\r\nx\r\n.\r\n", b".hidden\r\nx\r\n", id="first-line-dot-text"),
    pytest.param(b"x\r\n..\r\n...\r\n.\r\n", b"x\r\n.\r\n..\r\n", id="stuffed-lines"),
    pytest.param(b"x\r\n..\r\n..\r\n.\r\n", b"x\r\n.\r\n.\r\n", id="adjacent-stuffed"),
    pytest.param(b"a.b\r\n .\r\n.\r\n", b"a.b\r\n .\r\n", id="dots-not-at-line-start"),
    pytest.param(b"x" * 5000 + b"\r\n.\r\n", b"x" * 5000 + b"\r\n", id="line-over-2048"),
    pytest.param(b"bare\nlf\r\n.\r\n", b"bare\nlf\r\n", id="bare-lf-kept"),
]


@pytest.mark.parametrize(("wire", "expected"), BODIES)
@pytest.mark.parametrize("step", [1, 2, 3, 4, 5, 7, None])
def test_multiline_in_any_chunking(wire: bytes, expected: bytes, step: int | None) -> None:
    r = reader(b"+OK here\r\n" + wire + b"+OK next\r\n", step=step)
    assert r.status_line() == b"+OK here"
    assert r.multiline() == expected
    assert r.status_line() == b"+OK next"  # nothing of the body was left behind


def test_terminator_straddling_every_chunk_boundary() -> None:
    wire = b"line one\r\n..two\r\n" + b"z" * 100 + b"\r\n.\r\n"
    for chunk in range(5, 60):
        r = reader(wire, chunk=chunk)
        assert r.multiline() == b"line one\r\n.two\r\n" + b"z" * 100 + b"\r\n"


def test_eof_inside_a_body_is_server_closed() -> None:
    r = reader(b"half a message\r\n")
    with pytest.raises(ServerClosed):
        r.multiline()


def test_eof_before_status_line_is_server_closed() -> None:
    with pytest.raises(ServerClosed):
        reader(b"+OK no end").status_line()


def test_status_line_has_a_bound() -> None:
    with pytest.raises(WireError, match="longer than"):
        reader(b"+OK " + b"x" * (MAX_STATUS_LINE + 10), chunk=1024).status_line()


def test_buffered_counts_unread_bytes() -> None:
    r = reader(b"+OK\r\nextra")
    assert r.status_line() == b"+OK"
    assert r.buffered == 5


def test_unstuff_empties_its_input() -> None:
    body = bytearray(b"..a\r\n..b\r\n")
    assert unstuff(body) == b".a\r\n.b\r\n"
    assert body == bytearray()


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (b"", {}),
        (b"1 100\r\n2 250\r\n", {1: b"100", 2: b"250"}),
        (b"1 000000016b08d3b3\r\n", {1: b"000000016b08d3b3"}),
    ],
)
def test_parse_listing(body: bytes, expected: dict[int, bytes]) -> None:
    assert parse_listing(body) == expected


@pytest.mark.parametrize("body", [b"x 100\r\n", b"1\r\n", b"one two\r\n"])
def test_parse_listing_rejects_malformed_lines(body: bytes) -> None:
    with pytest.raises(WireError):
        parse_listing(body)


def test_a_malformed_line_is_quoted_escaped_by_for_terminal() -> None:
    with pytest.raises(WireError) as caught:
        parse_listing(b"1 a\r\nx\x1b]0;owned\x07\rb\\c\xc3\xa9\r\n")
    assert str(caught.value) == "malformed listing line 'x\\x1b]0;owned\\x07\\rb\\c\u00e9'"
