"""`storable`: remote text as both engines can keep it (storage/columns.py, rules 1 to 3)."""

from __future__ import annotations

import time
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from postroom.storage.columns import storable, storable_json

# Any code point, lone surrogates and NUL included (what surrogateescape decoding leaves).
ANY_TEXT = st.text(st.characters(min_codepoint=0, max_codepoint=0x10FFFF, codec=None))


def _unstorable(c: str) -> bool:
    return c == "\0" or 0xD800 <= ord(c) <= 0xDFFF


@given(ANY_TEXT)
def test_nul_and_lone_surrogates_become_u_fffd_and_nothing_else_changes(text: str) -> None:
    kept = storable(text)
    kept.encode("utf-8")  # what both drivers do with it
    assert "\0" not in kept
    assert len(kept) == len(text)
    for before, after in zip(text, kept, strict=True):
        assert after == ("\ufffd" if _unstorable(before) else before)


@given(st.recursive(ANY_TEXT | st.integers() | st.none(), lambda inner: (
    st.lists(inner, max_size=4) | st.dictionaries(ANY_TEXT, inner, max_size=4)
)))  # fmt: skip
def test_every_string_in_json_is_made_storable_keys_included(value: Any) -> None:
    def strings(v: Any) -> list[str]:
        if isinstance(v, str):
            return [v]
        if isinstance(v, list):
            return [s for item in v for s in strings(item)]
        if isinstance(v, dict):
            return [s for k, item in v.items() for s in [k, *strings(item)]]
        return []

    assert all(s == storable(s) for s in strings(storable_json(value)))


def test_the_worst_case_takes_linear_time() -> None:
    for worst in ("\0", "\udcff", "é\0", "a"):
        started = time.perf_counter()
        storable(worst * 100_000)
        assert time.perf_counter() - started < 2.0


def test_only_values_with_a_nul_or_a_lone_surrogate_are_rewritten() -> None:
    # Written as JSON first: astral characters (a surrogate pair once escaped) are kept,
    # text that only looks like an escaped NUL is walked and kept as it is.
    plain = {"reason": "no NUL", "trace": ["é", "\U0001f642", ("x",)], "n": 1}
    assert storable_json(plain) is plain
    assert storable_json({"reason": "a\\u0000b"}) == {"reason": "a\\u0000b"}
    assert storable_json({"k": ("a\0", "\udc80"), "k\0": None}) == {
        "k": ["a\ufffd", "\ufffd"],
        "k\ufffd": None,
    }
    assert storable_json({1: "x\0"}) == {1: "x\ufffd"}
