"""CR, LF and CRLF line endings (issue 10, item 3): headers are found and the
content hash covers the content, whichever ending a message was written with."""

from __future__ import annotations

import base64

from hypothesis import given
from hypothesis import strategies as st

from postroom.mime import content_hash, parse
from postroom.mime.newlines import has_bare_cr

FIELDS = st.lists(
    st.tuples(
        st.sampled_from(["Subject", "X-Note", "Comments", "Keywords"]),
        st.text(st.characters(min_codepoint=0x21, max_codepoint=0x7E), min_size=1, max_size=20),
    ),
    min_size=1,
    max_size=5,
)
PRINTABLE = st.characters(min_codepoint=0x20, max_codepoint=0x7E)
BODY = st.lists(st.text(PRINTABLE, max_size=30), max_size=6)
TRANSIT = [
    "Return-Path: <a@example.com>",
    "Received: from mx.example.com by mx2.example.org",
    "From a@example.com Mon Mar  2 09:14:02 2026",
]


def _lines(fields: list[tuple[str, str]], body: list[str], first: str) -> list[str]:
    header = [f"{name}: {value}" for name, value in fields]
    return [first, "From: a@example.com", *header, "", *body]


def _written(lines: list[str], ending: str) -> bytes:
    return (ending.join(lines) + ending).encode()


@given(FIELDS, BODY, st.sampled_from(TRANSIT))
def test_same_message_hashes_the_same_with_any_line_ending(
    fields: list[tuple[str, str]], body: list[str], first: str
) -> None:
    lines = _lines(fields, body, first)
    hashes = {content_hash(_written(lines, ending)) for ending in ("\r\n", "\n", "\r")}
    assert len(hashes) == 1
    # Mixed endings; a bare CR before an empty line would read as one CRLF.
    endings = [("\r", "\n", "\r\n")[index % 3] for index in range(len(lines))]
    for index in range(len(lines) - 1):
        if endings[index] == "\r" and not lines[index + 1]:
            endings[index] = "\r\n"
    mixed = "".join(line + ending for line, ending in zip(lines, endings, strict=True))
    assert content_hash(mixed.encode()) in hashes


@given(FIELDS, BODY, BODY, st.sampled_from(TRANSIT))
def test_distinct_cr_only_messages_hash_differently(
    fields: list[tuple[str, str]], body: list[str], other: list[str], first: str
) -> None:
    one = _written(_lines(fields, body, first), "\r")
    two = _written(_lines(fields, other, first), "\r")
    if "\n".join(body) != "\n".join(other):
        assert content_hash(one) != content_hash(two)
    # The hash covers more than the transit field the single CR "line" starts with.
    assert content_hash(one) != content_hash(_written([first], "\r"))


@given(FIELDS, BODY, st.sampled_from(TRANSIT))
def test_cr_only_message_parses_like_its_lf_twin(
    fields: list[tuple[str, str]], body: list[str], first: str
) -> None:
    lines = _lines(fields, body, first)
    cr = parse(_written(lines, "\r"))
    lf = parse(_written(lines, "\n"))
    assert cr.from_ == lf.from_
    assert cr.subject == lf.subject
    assert dict(cr.headers) == dict(lf.headers)
    assert cr.body_text == lf.body_text
    assert cr.content_hash == lf.content_hash
    # The parser hashes its rewritten copy: the hash content_hash gives the message.
    assert cr.content_hash == content_hash(_written(lines, "\r"))
    assert parse(_written(lines, "\r\n")).content_hash == content_hash(_written(lines, "\r\n"))
    assert "bare CR line endings read as line breaks" in cr.defects


def test_bare_cr_inside_decoded_text_is_a_line_break() -> None:
    body = b"one\rtwo\r\nthree\n"
    raw = (
        b"From: a@example.com\r\nContent-Type: text/plain\r\n"
        b"Content-Transfer-Encoding: base64\r\n\r\n"
    )
    mail = parse(raw + base64.b64encode(body) + b"\r\n")
    assert mail.body_text.splitlines() == body.decode().splitlines()
    assert "\r" not in mail.body_text


@given(st.lists(st.sampled_from([b"\r", b"\n", b"\r\n", b"a", b"\r\r", b"\n\r"]), max_size=12))
def test_a_bare_cr_is_a_cr_not_followed_by_lf(pieces: list[bytes]) -> None:
    data = b"".join(pieces)
    assert has_bare_cr(data) == (data.count(b"\r") != data.count(b"\r\n"))
