"""What an attempt means for an outbox row: per-recipient results, back-off, final status."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from postroom.ports.sending import Delivery, RecipientOutcome, RecipientResult
from postroom.services.delivery import RetryPolicy, failed_attempt, settle, still_to_send

NOW = datetime(2026, 11, 2, 9, 0)
POLICY = RetryPolicy(max_attempts=3, first_delay=timedelta(minutes=1))


def result(address: str, outcome: RecipientOutcome, code: int) -> RecipientResult:
    return RecipientResult(address, outcome, code, f"reply {code}")


def test_back_off_doubles_and_is_capped() -> None:
    policy = RetryPolicy(first_delay=timedelta(minutes=1), max_delay=timedelta(minutes=10))
    assert [policy.delay(n).total_seconds() / 60 for n in range(1, 7)] == [1, 2, 4, 8, 10, 10]


@pytest.mark.parametrize(
    ("outcomes", "status", "next_in"),
    [
        ([RecipientOutcome.ACCEPTED], "sent", None),
        ([RecipientOutcome.REFUSED], "failed", None),
        ([RecipientOutcome.ACCEPTED, RecipientOutcome.REFUSED], "sent", None),
        ([RecipientOutcome.DEFERRED], "queued", timedelta(minutes=1)),
        ([RecipientOutcome.ACCEPTED, RecipientOutcome.DEFERRED], "queued", timedelta(minutes=1)),
    ],
)
def test_status_after_a_first_attempt(
    outcomes: list[RecipientOutcome], status: str, next_in: timedelta | None
) -> None:
    codes = {
        RecipientOutcome.ACCEPTED: 250,
        RecipientOutcome.DEFERRED: 451,
        RecipientOutcome.REFUSED: 550,
    }
    delivery = Delivery(tuple(result(f"r{i}@x.test", o, codes[o]) for i, o in enumerate(outcomes)))
    settled = settle(None, delivery, 0, POLICY, NOW)
    assert (settled.status, settled.attempts) == (status, 1)
    assert settled.next_attempt == (NOW + next_in if next_in else None)
    if RecipientOutcome.REFUSED in outcomes:
        assert "550 reply 550" in (settled.last_error or "")


def test_accepted_recipients_are_not_tried_again() -> None:
    first = settle(
        None,
        Delivery(
            (
                result("a@x.test", RecipientOutcome.ACCEPTED, 250),
                result("b@x.test", RecipientOutcome.DEFERRED, 451),
            )
        ),
        0,
        POLICY,
        NOW,
    )
    assert still_to_send(["a@x.test", "b@x.test"], first.recipient_results) == ["b@x.test"]
    second = settle(
        first.recipient_results,
        Delivery((result("b@x.test", RecipientOutcome.ACCEPTED, 250),)),
        first.attempts,
        POLICY,
        NOW,
    )
    assert (second.status, second.attempts, second.last_error) == ("sent", 2, None)


def test_temporary_failures_give_up_after_the_last_attempt() -> None:
    settled = failed_attempt(None, ["a@x.test"], "connection refused", 2, POLICY, NOW)
    assert (settled.status, settled.attempts) == ("failed", 3)
    assert settled.last_error == "gave up after 3 attempts: a@x.test: connection refused"
