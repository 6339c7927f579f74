"""`for_terminal`: no control character a terminal obeys gets through; nothing else changes."""

from __future__ import annotations

import sys
import time
import unicodedata

import pytest
from hypothesis import given
from hypothesis import strategies as st

from postroom.domain.display import for_terminal

BIDI = {0x061C, 0x200E, 0x200F, *range(0x202A, 0x202F), *range(0x2066, 0x206A)}


def dangerous(code: int) -> bool:
    """What the module docstring promises to escape, by Unicode's own categories."""
    category = unicodedata.category(chr(code))
    return category in ("Cc", "Cs", "Zl", "Zp") or code in BIDI


DANGEROUS = [c for c in range(sys.maxunicode + 1) if dangerous(c)]
SAFE = "".join(chr(c) for c in range(sys.maxunicode + 1) if not dangerous(c))


def expected(text: str) -> str:
    """The specification, from the standard library's own escapes (``unicode_escape``)."""
    return "".join(
        ch.encode("unicode_escape").decode("ascii") if dangerous(ord(ch)) else ch for ch in text
    )


ATTACKS = {
    "osc-0-window-title": "\x1b]0;pwned\x07Invoice",
    "osc-8-hyperlink": "\x1b]8;;https://evil.example\x1b\\click\x1b]8;;\x1b\\",
    "csi-clear-screen": "\x1b[2J\x1b[H",
    "bare-cr-overwrites": "refund denied\rrefund granted",
    "bel": "ding\x07",
    "c1-csi": "\x9b2J",
    "del-and-nul": "a\x7fb\x00c",
    "right-to-left-override": "invoice\u202efdp.exe",
    "isolates-and-marks": "\u2066a\u2069\u200f\u061c",
    "line-separators": "a\u2028b\u2029c",
    "lone-surrogate": "caf\udce9",
    "tab-and-newline-in-a-field": "a\tb\nPOSTROOM: a fake line",
    "plain": "Question about invoice 101203-T",
    "letters-and-emoji": "Grüße, Ωμέγα, 請求書 👨\u200d👩\u200d👧",
    "backslash-kept": "C:\\temp\\x1b",
}


@pytest.mark.parametrize("text", ATTACKS.values(), ids=ATTACKS.keys())
def test_attacks_are_shown_escaped(text: str) -> None:
    out = for_terminal(text)
    assert out == expected(text)
    assert not any(dangerous(ord(ch)) for ch in out)


def test_every_dangerous_code_point_is_escaped_in_both_modes() -> None:
    assert len(DANGEROUS) > 2000  # C0, DEL, C1, bidi, separators, surrogates
    for layout in (False, True):
        kept = {"\t", "\n"} if layout else set()
        out = for_terminal("".join(chr(c) for c in DANGEROUS), layout=layout)
        assert {ch for ch in out if dangerous(ord(ch))} == kept
        assert out.isascii()


def test_every_other_code_point_is_left_alone() -> None:
    assert for_terminal(SAFE) == SAFE
    assert for_terminal(SAFE, layout=True) == SAFE


@given(st.text())
def test_layout_keeps_tab_and_newline_only(text: str) -> None:
    lines = ["\t".join(expected(cell) for cell in line.split("\t")) for line in text.split("\n")]
    assert for_terminal(text, layout=True) == "\n".join(lines)


@given(st.text())
def test_idempotent_and_never_emits_a_control(text: str) -> None:
    once = for_terminal(text)
    assert once == expected(text)
    assert for_terminal(once) == once
    assert for_terminal(once, layout=True) == once
    assert not any(dangerous(ord(ch)) for ch in once)


def test_not_a_string_is_printed_as_its_text() -> None:
    assert for_terminal(None) == "None"
    assert for_terminal(42) == "42"


@pytest.mark.parametrize("unit", ["\x1b[2J", "\u202e", "\udcff", "é\x9b"])
def test_linear_in_the_text(unit: str) -> None:
    text = unit * 100_000
    started = time.perf_counter()
    out = for_terminal(text)
    assert time.perf_counter() - started < 2.0
    assert len(out) >= len(text)
