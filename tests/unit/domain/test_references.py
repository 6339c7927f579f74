"""Finding references in text and plus addresses: examples, then properties."""

from __future__ import annotations

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from postroom.domain.references import (
    _FIND,
    _HINT,
    base_address,
    find_references,
    plus_reference,
    split_plus_address,
)
from postroom.domain.workitems import ItemType, Reference

T = Reference(101203, ItemType.TICKET)
C = Reference(101203, ItemType.CASE)
A2 = Reference(101203, ItemType.ACTION, 2)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("[101203-T]", (T,)),
        ("Ref-101203-T", (T,)),
        ("see 101203-T.", (T,)),
        ("101203-t", (T,)),
        ("(101203-c)", (C,)),
        ("101203-C-A2", (A2,)),
        ("101203-c-a2: done", (A2,)),
        ("x101203-Ty", ()),
        ("x101203-T", ()),
        ("101203-Ty", ()),
        ("101203-C-A2x", ()),
        ("101203-C-A0", ()),
        ("101203-C-A", (C,)),
        ("é101203-T", ()),
        ("101203-Tü", ()),
        ("_101203-T_", (T,)),
        ("101203-X", ()),
        ("101203T", ()),
        ("-T", ()),
        ("101203-C-A2 then 101203-T and 101203-C", (A2, T, C)),
        ("101203-T 101203-T", (T, T)),
        ("", ()),
    ],
)
def test_find_references(text: str, expected: tuple[Reference, ...]) -> None:
    assert find_references(text) == expected


def test_limit_counts_references_that_end_within_it() -> None:
    text = "abc 101203-T"
    assert find_references(text, limit=len(text)) == (T,)
    assert find_references(text, limit=len(text) - 1) == ()


def test_limit_does_not_cut_a_longer_form_into_a_shorter_one() -> None:
    text = "abc 101203-C-A2"
    # The Case part ends inside the limit, but the reference is the Action.
    assert find_references(text, limit=len("abc 101203-C")) == ()


def test_limit_does_not_hide_a_trailing_letter() -> None:
    text = "abc 101203-Tx"
    assert find_references(text, limit=len("abc 101203-T")) == ()


@pytest.mark.parametrize(
    ("address", "expected"),
    [
        ("support+101203-T@example.com", ("support@example.com", T)),
        ("Support+101203-c-a2@Example.COM", ("support@example.com", A2)),
        ("support+urgent@example.com", None),
        ("support+101203-T-x@example.com", None),
        ("support@example.com", None),
        ("support+@example.com", None),
        ("no-at-sign", None),
    ],
)
def test_plus_reference(address: str, expected: tuple[str, Reference] | None) -> None:
    assert plus_reference(address) == expected


def test_split_plus_address() -> None:
    assert split_plus_address(" Support+A+b@Example.com ") == ("support@example.com", "A+b")
    assert split_plus_address("support@example.com") == ("support@example.com", None)
    assert base_address("support+x@example.com") == "support@example.com"


# -- properties --------------------------------------------------------------

references = st.one_of(
    st.builds(lambda n: Reference(n, ItemType.TICKET), st.integers(0, 10**12)),
    st.builds(lambda n: Reference(n, ItemType.CASE), st.integers(0, 10**12)),
    st.builds(
        lambda n, a: Reference(n, ItemType.ACTION, a),
        st.integers(0, 10**12),
        st.integers(1, 10**4),
    ),
)
separators = st.text(alphabet=" \t\n[]().,;:!?-_/<>'\"#", max_size=4)
letters_or_digits = st.characters(categories=("L", "Nd"))


@given(st.lists(references, max_size=6), st.lists(separators, min_size=7, max_size=7))
def test_formatting_then_finding_round_trips(refs: list[Reference], seps: list[str]) -> None:
    # Separators must keep references apart: a '-' right after a Case would
    # read as the start of an Action, so every gap holds at least one space.
    text = seps[0] + "".join(f"{ref}{' ' + seps[i + 1]} " for i, ref in enumerate(refs))
    assert find_references(text) == tuple(refs)


@given(references, st.booleans())
def test_any_case_is_found(ref: Reference, upper: bool) -> None:
    text = str(ref).upper() if upper else str(ref).lower()
    assert find_references(text) == (ref,)


@given(references, letters_or_digits, st.sampled_from(["before", "after"]))
def test_a_letter_or_digit_beside_it_hides_it(ref: Reference, ch: str, side: str) -> None:
    # An ASCII digit next to the number part only makes it a longer number.
    extends_number = ch in "0123456789" and (side == "before" or ref.type is ItemType.ACTION)
    assume(not extends_number)
    text = ch + str(ref) if side == "before" else str(ref) + ch
    assert find_references(text) == ()


@given(st.text(max_size=200), st.integers(0, 250))
def test_limited_is_a_prefix_of_unlimited(text: str, limit: int) -> None:
    everything = find_references(text)
    limited = find_references(text, limit)
    assert everything[: len(limited)] == limited


@given(references, st.text(alphabet="abc 123-", max_size=20))
def test_plus_address_round_trips(ref: Reference, _noise: str) -> None:
    assert plus_reference(f"desk+{ref}@example.com") == ("desk@example.com", ref)


# -- remote text: long digit runs (issue 10) ------------------------------------


@given(st.integers(1, 18), st.sampled_from(["-T", "-C", "-C-A7"]))
def test_numbers_of_up_to_18_digits_are_found(digits: int, suffix: str) -> None:
    number = "9" * digits
    (found,) = find_references(f"see {number}{suffix}.")
    assert found.number == int(number)


@given(
    st.integers(19, 6000),
    st.sampled_from(["-T", "-C", "-C-A7"]),
    st.sampled_from(["number", "action"]),
)
def test_a_longer_digit_run_is_no_reference_and_never_raises(
    digits: int, suffix: str, where: str
) -> None:
    # Python refuses int() of more than 4,300 digits; a reference cannot need one.
    run = "1" * digits
    text = f"{run}{suffix}" if where == "number" else f"101203-C-A{run}"
    assert find_references(text) == ()
    assert find_references(f"{text} 101203-T") == (T,)
    assert plus_reference(f"desk+{text}@example.com") is None


def test_long_digit_runs_before_a_reference_are_skipped() -> None:
    text = ("7" * 4000 + "-T ") * 150 + "101203-T"
    assert find_references(text) == (T,)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("101203-T", T),
        (" 101203-c-a2 ", A2),
        ("1-C", Reference(1, ItemType.CASE)),
        ("123456789012345678-T", Reference(123456789012345678, ItemType.TICKET)),
        ("101203-C-A0", None),
        ("x101203-T", None),
        ("101203-C-A2x", None),
        ("1234567890123456789-T", None),
        ("\u0661\u0662\u0663-T", None),
        ("101203-T 101203-C", None),
        ("", None),
    ],
)
def test_parsing_follows_the_form_references_are_found_by(
    text: str, expected: Reference | None
) -> None:
    """One written form: what parses as a reference is the one reference found in it."""
    if expected is None:
        with pytest.raises(ValueError):
            Reference.parse(text)
        return
    assert Reference.parse(text) == expected
    assert find_references(text) == (expected,)


@given(st.text(alphabet="0123456789-TtCcAa x\u0660", max_size=40))
def test_the_first_look_misses_no_reference(text: str) -> None:
    # find_references returns nothing when the hint finds nothing: it must see every form.
    if _FIND.search(text):
        assert _HINT.search(text)
