"""What an SMTP server said about one message, recipient by recipient.

RFC 5321 §4.2.1: a reply code 2yz is success, 4yz a transient failure (try
again later, the same command may succeed), 5yz a permanent one (do not
repeat it unchanged).  The sender decides retries from these outcomes only.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Outcome(StrEnum):
    ACCEPTED = "accepted"
    """The server took responsibility for this recipient (250 after DATA)."""
    DEFERRED = "deferred"
    """A 4xx reply, a lost connection or a timeout: worth trying again."""
    REFUSED = "refused"
    """A 5xx reply: trying again unchanged will not help."""


def outcome_of(code: int) -> Outcome:
    if 200 <= code < 300:
        return Outcome.ACCEPTED
    if 400 <= code < 500:
        return Outcome.DEFERRED
    return Outcome.REFUSED


@dataclass(frozen=True, slots=True)
class RecipientResult:
    address: str
    outcome: Outcome
    code: int | None
    """The server's reply code, or None when no reply came (connection lost)."""
    reply: str

    def describe(self) -> str:
        code = f"{self.code} " if self.code is not None else ""
        return f"{self.address}: {code}{self.reply}".strip()


@dataclass(frozen=True, slots=True)
class Delivery:
    """The result of one transaction (MAIL, RCPT…, DATA) for one message."""

    recipients: tuple[RecipientResult, ...]
    connection_lost: bool = False
    """The connection cannot be used for the next message."""

    def by_outcome(self, outcome: Outcome) -> list[RecipientResult]:
        return [r for r in self.recipients if r.outcome is outcome]

    @property
    def accepted(self) -> list[RecipientResult]:
        return self.by_outcome(Outcome.ACCEPTED)

    @property
    def deferred(self) -> list[RecipientResult]:
        return self.by_outcome(Outcome.DEFERRED)

    @property
    def refused(self) -> list[RecipientResult]:
        return self.by_outcome(Outcome.REFUSED)

    @classmethod
    def everyone(
        cls,
        recipients: list[str],
        outcome: Outcome,
        code: int | None,
        reply: str,
        *,
        connection_lost: bool = False,
    ) -> Delivery:
        """The same answer for every recipient (a refused MAIL FROM or DATA, a lost link)."""
        results = tuple(RecipientResult(r, outcome, code, reply) for r in recipients)
        return cls(results, connection_lost)
