"""What one attempt means for an outbox row: pure rules, no I/O.

* Each recipient keeps its own result across attempts: one that accepted
  the message is never sent to again; one refused (a 5xx reply, or an address
  the server cannot take, refused before asking) is not retried.
* Recipients deferred (4xx, lost connection, timeout, a server that cannot
  be reached) are tried again after an exponential back-off, until the
  attempts run out.
* The row is ``sent`` when no recipient is left to try and at least one
  accepted (refusals stay visible in ``last_error`` and per recipient),
  ``failed`` when none accepted, ``queued`` while some are still to be tried.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from postroom.ports.sending import Delivery, RecipientOutcome
from postroom.records.statuses import OutboxStatus, RecipientStatus


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    max_attempts: int = 8
    first_delay: timedelta = timedelta(minutes=1)
    max_delay: timedelta = timedelta(hours=2)

    def delay(self, attempts: int) -> timedelta:
        """After the ``attempts``-th failed attempt: 1, 2, 4, 8… minutes, capped."""
        delay: timedelta = self.first_delay * (1 << max(0, min(attempts - 1, 30)))
        return delay if delay < self.max_delay else self.max_delay


@dataclass(frozen=True, slots=True)
class Settled:
    """The new values of an outbox row after one attempt."""

    status: OutboxStatus
    attempts: int
    last_error: str | None
    next_attempt: datetime | None
    recipient_results: dict[str, Any]
    sent_at: datetime | None

    def values(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "attempts": self.attempts,
            "last_error": self.last_error,
            "next_attempt": self.next_attempt,
            "recipient_results": self.recipient_results,
            "sent_at": self.sent_at,
        }

    def detail(self) -> str | None:
        """The line shown on the work item's communication."""
        if self.status is OutboxStatus.QUEUED and self.next_attempt is not None:
            when = self.next_attempt.isoformat(timespec="seconds") + "Z"
            return f"attempt {self.attempts} failed: {self.last_error}; next attempt {when}"
        return self.last_error


def still_to_send(recipients: list[str], results: dict[str, Any] | None) -> list[str]:
    """Recipients that neither accepted nor refused the message yet."""
    final = (RecipientStatus.ACCEPTED, RecipientStatus.REFUSED)
    done = {a for a, r in (results or {}).items() if r.get("status") in final}
    return [r for r in recipients if r not in done]


def pending(results: dict[str, Any] | None, targets: list[str]) -> dict[str, Any]:
    """Results before DATA: the targets marked in flight."""
    merged = dict(results or {})
    for address in targets:
        merged[address] = {
            "status": RecipientStatus.PENDING.value,
            "code": None,
            "reply": "being sent",
        }
    return merged


def settle(
    previous: dict[str, Any] | None,
    delivery: Delivery,
    attempts_before: int,
    policy: RetryPolicy,
    now: datetime,
) -> Settled:
    results = dict(previous or {})
    for r in delivery.recipients:
        results[r.address] = {"status": r.outcome.value, "code": r.code, "reply": r.reply}
    return _decide(results, attempts_before + 1, policy, now)


def failed_attempt(
    previous: dict[str, Any] | None,
    targets: list[str],
    reason: str,
    attempts_before: int,
    policy: RetryPolicy,
    now: datetime,
) -> Settled:
    """No transaction took place (no server, cannot connect, unreadable blob): all deferred."""
    delivery = Delivery.everyone(targets, RecipientOutcome.DEFERRED, None, reason)
    return settle(previous, delivery, attempts_before, policy, now)


def _decide(results: dict[str, Any], attempts: int, policy: RetryPolicy, now: datetime) -> Settled:
    by = {s: [a for a, r in results.items() if r["status"] == s] for s in RecipientStatus}
    refused, deferred = by[RecipientStatus.REFUSED], by[RecipientStatus.DEFERRED]
    accepted = by[RecipientStatus.ACCEPTED]
    problems = [_line(a, results[a]) for a in refused + deferred]
    error = "; ".join(problems) or None
    if deferred and attempts < policy.max_attempts:
        when = now + policy.delay(attempts)
        return Settled(OutboxStatus.QUEUED, attempts, error, when, results, None)
    if deferred:
        error = f"gave up after {attempts} attempts: {error}"
    status = OutboxStatus.SENT if accepted else OutboxStatus.FAILED
    return Settled(status, attempts, error, None, results, now if accepted else None)


def _line(address: str, result: dict[str, Any]) -> str:
    code = f"{result['code']} " if result.get("code") is not None else ""
    return f"{address}: {code}{result.get('reply') or ''}".strip()
