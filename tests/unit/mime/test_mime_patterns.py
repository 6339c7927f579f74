"""The linear rewrites of issue 10 read what the old patterns read.

Each old pattern (super-linear on hostile input) is kept here as the oracle;
generated small inputs, where it is fast, must give the same results from
the new code.
"""

from __future__ import annotations

import re

from hypothesis import given, settings
from hypothesis import strategies as st

from postroom.mime import fields, replies, report

OLD_SIMPLE_ENTRY = re.compile(r"\s*(?:([^<>@]*?)\s*<([^<>\s]+@[^<>\s]+)>|([^<>\s]+@[^<>\s]+))\s*")
OLD_ADDR_SPEC = re.compile(r'[^\s<>"(),;:]+@[^\s<>"(),;:]+')
OLD_FAILED_LIST = re.compile(
    r"(?:following (?:address(?:\(es\))?|recipients?)[^\n]*failed|"
    r"delivery has failed to these recipients[^\n]*|could not be delivered to)[^\n]*\n"
    r"((?:[ \t]*\n)*(?:[ \t]+\S+@\S+[^\n]*\n|[^\s@]+@[^\s@]+\s*\n)+)",
    re.I,
)
OLD_ADDRESS = re.compile(r"[\w.!#$%&'*+/=?^`{|}~-]+@[\w-]+(?:\.[\w-]+)+")

MANY = settings(max_examples=400, deadline=None)


def _old_fast_pairs(values: list[str]) -> list[tuple[str, str]] | None:
    pairs: list[tuple[str, str]] = []
    for value in values:
        if not fields._SPECIALS.isdisjoint(value):
            return None
        for entry in value.split(","):
            if not entry.strip():
                continue
            match = OLD_SIMPLE_ENTRY.fullmatch(entry)
            if match is None:
                return None
            name, angle, bare = match.groups()
            pairs.append((name or "", angle or bare))
    return pairs


address_text = st.lists(
    st.sampled_from(
        [
            *("a@x.example", "Bo Li <b@x.example>", "<c@y.example>", "a@b@c", "@a@b", "a"),
            *("bo", "@", "<", ">", " ", "\t", ",", ", ", ".", "é", '"'),
        ]
    ),
    max_size=8,
).map("".join)


@MANY
@given(st.lists(address_text, min_size=1, max_size=3))
def test_address_fast_path_reads_what_the_old_pattern_read(values: list[str]) -> None:
    new = fields._fast_pairs(values)
    old = _old_fast_pairs(values)
    if new is not None:  # the new path hands "@" in a local part to the full parser
        assert new == old
    if old is None:
        assert new is None


@MANY
@given(address_text)
def test_addr_spec_salvage_is_unchanged(text: str) -> None:
    new = fields._ADDR_SPEC.search(text)
    old = OLD_ADDR_SPEC.search(text)
    assert (new and new.group()) == (old and old.group())


bounce_text = st.lists(
    st.sampled_from(
        [
            *("following address failed:", "The following recipients have FAILED", "x"),
            *("could not be delivered to:", "Delivery has failed to these recipients"),
            *("following address(es) ok", "  a@b.example", "\tbob@x.example (unknown)", "a@b"),
            *("bob@x.example", "bob@x.example  ", " @x", "x@", "a@b@c", "", " ", "\r", "@"),
        ]
    ),
    max_size=12,
).map("\n".join)


@MANY
@given(bounce_text)
def test_failed_listings_are_the_ones_the_old_pattern_found(text: str) -> None:
    old = [a for m in OLD_FAILED_LIST.finditer(text) for a in OLD_ADDRESS.findall(m.group(1))]
    new = [a for line in report._failed_listings(text) for a in OLD_ADDRESS.findall(line)]
    assert new == old


words = st.lists(
    st.sampled_from(["a", "b.c", "@", ".", "-", "x.example", "!", "_", "(", "é"]),
    min_size=1,
    max_size=5,
).map("".join)


@MANY
@given(st.lists(words, max_size=6))
def test_addresses_in_a_listing_are_unchanged(found: list[str]) -> None:
    # An address may now start only where a word starts: the same, unless it
    # is glued to the end of another address (words here have one "@" at most).
    text = " ".join(word for word in found if word.count("@") <= 1)
    assert report._ADDRESS.findall(text) == OLD_ADDRESS.findall(text)


OLD_CANDIDATE = re.compile(
    r"^(?:>|[ \t>]*-{2}|_{10}|\*?(?:from|von|de|da|van)\*?[ \t]?:)", re.M | re.I
)
OLD_SIGNATURE = re.compile(r"^--[ ]?\r?$", re.MULTILINE)
OLD_MOBILE = re.compile(
    r"^(?:sent from my|von meinem|envoyé de mon|enviado desde mi)[ \t]", re.M | re.I
)


def _old_quote(text: str) -> int | None:
    """`replies._quote` as it was, with its line starts found by ``^``."""
    first = replies._FIRST_TEXT.search(text)
    if first is None:
        return None
    floor = text.find("\n", first.start())
    if floor < 0:
        return None
    floor += 1
    best: int | None = None
    for match in replies._COLON_END.finditer(text, floor):
        start = text.rfind("\n", 0, match.start()) + 1
        if start < floor:
            continue
        line = text[start : match.end()]
        if replies._attribution(line):
            best = replies._attribution_start(text, start, line, floor)
            break
    stop = len(text) if best is None else best
    for match in OLD_CANDIDATE.finditer(text, floor, stop):
        if replies._opens_quote(text, match.start()):
            return match.start()
    return best


def _old_markers(text: str) -> tuple[int | None, int | None]:
    quote = _old_quote(text)
    end = len(text) if quote is None else quote
    signature = None
    for match in OLD_SIGNATURE.finditer(text, 1, end):
        signature = match.start()
    if signature is None:
        mobile = OLD_MOBILE.search(text, 1, end)
        signature = mobile.start() if mobile is not None else None
    return quote, signature


reply_text = st.lists(
    st.sampled_from(
        [
            *("", " ", "Yes.", "text", "> q", ">", " > -- x", "--", "-- ", "--\r", "---", "- -"),
            *("On Mon, Bob <b@x> wrote:", "wrote:", "Am 1.2. schrieb Bob:", "x:", "\r"),
            *("-----Original Message-----", "__________", "_" * 12, "From: a", "*From:* a"),
            *("Sent: Monday", "Date: x", "Sent from my iPhone", "sent from my\tphone", "é"),
        ]
    ),
    max_size=10,
).map("\n".join)


@MANY
@given(reply_text)
def test_reply_markers_are_the_ones_the_line_start_patterns_found(text: str) -> None:
    # The patterns now start at the newline before a line, not at ``^``: the same lines.
    assert replies.markers(text) == _old_markers(text)
