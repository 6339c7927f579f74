"""What configuration takes as an address: the rules of the addresses Postroom writes to,
a display name refused with the bare address to give, internationalised addresses taken
where the product carries them (SMTPUTF8) and a route's non-ASCII domain refused saying
which form to give."""

from __future__ import annotations

import time

import pytest

from postroom.errors import UserError
from postroom.services.addresses import checked_address, route_address


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Help@Example.Test", "help@example.test"),
        ("  help@example.test ", "help@example.test"),
        ("chloé.garcia@example.test", "chloé.garcia@example.test"),
        ("张伟@例子.test", "张伟@例子.test"),
        ("help@bücher.test", "help@bücher.test"),
    ],
)
def test_what_an_address_may_be(text: str, expected: str) -> None:
    assert checked_address(text) == expected


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("help@-example-.test", "domain label '-example-' starts or ends with a hyphen"),
        ("help@example-.test", "starts or ends with a hyphen"),
        (
            "Support <help@example.test>",
            "give the bare address without a display name: 'help@example.test'",
        ),
        ("<help@example.test>", "give the bare address"),
        ("help@@example.test", "more than one @"),
        ("help", "not of the form local@domain"),
        ("he lp@example.test", "white space"),
        ("help\u202e@example.test", "invisible format character"),
        ("help@exa_mple.test", "invalid domain label"),
        ("a" * 2000, "longer than 1000 characters"),
    ],
)
def test_what_an_address_may_not_be(text: str, reason: str) -> None:
    with pytest.raises(UserError) as refused:
        checked_address(text)
    assert reason in str(refused.value)
    assert len(str(refused.value)) < 1200  # a long value is not quoted whole


def test_a_routes_domain_is_ascii_and_the_form_to_give_is_named() -> None:
    assert route_address("jörg@example.test") == "jörg@example.test"
    with pytest.raises(UserError, match=r"give help@xn--bcher-kva\.test"):
        route_address("help@bücher.test")


def test_hostile_lengths_are_judged_in_milliseconds() -> None:
    started = time.perf_counter()
    for text in ("<" * 100_000 + ">", "a@" + "-" * 100_000, "x <" * 30_000 + "a@b.test>"):
        with pytest.raises(UserError):
            checked_address(text)
    assert time.perf_counter() - started < 0.5
