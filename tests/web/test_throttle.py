"""The sign-in throttle on a clock the test moves, and the --listen parser."""

from __future__ import annotations

import pytest

from postroom.web.listen import ListenAddress, parse_listen
from postroom.web.throttle import FAILURES, KEYS, WINDOW, SignInThrottle


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_failures_hold_back_until_the_oldest_leaves_the_window() -> None:
    clock = Clock()
    throttle = SignInThrottle(clock)
    for _ in range(FAILURES - 1):
        throttle.failed("user:ada")
        clock.now += 1
    assert throttle.wait_for("user:ada") == 0
    throttle.failed("user:ada")
    wait = throttle.wait_for("user:ada", "address:10.0.0.1")
    assert WINDOW - FAILURES <= wait <= WINDOW
    clock.now = 1000.0 + WINDOW + 0.5  # the first failure left the window
    assert throttle.wait_for("user:ada") == 0


def test_a_success_forgets_the_user_not_the_address() -> None:
    throttle = SignInThrottle(Clock())
    for _ in range(FAILURES):
        throttle.failed("user:ada", "address:10.0.0.1")
    throttle.succeeded("user:ada")
    assert throttle.wait_for("user:ada") == 0
    assert throttle.wait_for("address:10.0.0.1") > 0


def test_made_up_names_cannot_grow_the_memory() -> None:
    throttle = SignInThrottle(Clock())
    for n in range(KEYS + 500):
        throttle.failed(f"user:{n}")
    assert len(throttle._failures) == KEYS


@pytest.mark.parametrize(
    ("text", "address"),
    [
        ("127.0.0.1:8025", ListenAddress("127.0.0.1", 8025)),
        ("localhost:80", ListenAddress("localhost", 80)),
        ("[::1]:8025", ListenAddress("::1", 8025)),
        ("0.0.0.0:65535", ListenAddress("0.0.0.0", 65535)),
    ],
)
def test_listen_addresses(text: str, address: ListenAddress) -> None:
    assert parse_listen(text) == address
    assert str(address) == text


@pytest.mark.parametrize(
    "text", ["", "8025", ":8025", "host:", "host:0", "host:65536", "host:8o25", "a/b:80", "::1:80"]
)
def test_bad_listen_addresses(text: str) -> None:
    with pytest.raises(ValueError):
        parse_listen(text)
