"""The statuses a stored message, an outbound message and a communication go through.

Each value is what the database column holds and what `docs/cli.md` prints (StrEnum: a
member compares equal to its text), so these names change only with a migration.
"""

from __future__ import annotations

from enum import StrEnum


class MessageStatus(StrEnum):
    """A message in the ledger (`messages.status`)."""

    STORED = "stored"
    """Recorded, not handled yet (the moment between the arrival and its decision)."""
    HANDLED = "handled"
    UNHANDLED = "unhandled"
    IGNORED = "ignored"
    DUPLICATE = "duplicate"
    QUARANTINED = "quarantined"


class OutboxStatus(StrEnum):
    """A message in the outbox (`outbox.status`)."""

    QUEUED = "queued"
    SENDING = "sending"
    """Claimed by a sender for this round (a lease)."""
    DELIVERING = "delivering"
    """The final dot of DATA is on its way: the server may have it (see `UNKNOWN`)."""
    SENT = "sent"
    FAILED = "failed"
    UNKNOWN = "unknown"
    """The connection dropped after the final dot: sent or not, nobody knows."""
    CANCELLED = "cancelled"
    BOUNCED = "bounced"

    @property
    def retryable(self) -> bool:
        return self in (
            OutboxStatus.QUEUED,
            OutboxStatus.FAILED,
            OutboxStatus.UNKNOWN,
            OutboxStatus.CANCELLED,
        )

    @property
    def cancellable(self) -> bool:
        return self in (OutboxStatus.QUEUED, OutboxStatus.FAILED, OutboxStatus.UNKNOWN)


class CommunicationStatus(StrEnum):
    """A communication in an item's timeline (`communications.status`)."""

    RECEIVED = "received"
    QUEUED = "queued"
    SENT = "sent"
    FAILED = "failed"
    UNKNOWN = "unknown"
    CANCELLED = "cancelled"
    BOUNCED = "bounced"


class RecipientStatus(StrEnum):
    """One recipient of an outbound message (`outbox.recipient_results`)."""

    ACCEPTED = "accepted"
    REFUSED = "refused"
    DEFERRED = "deferred"
    PENDING = "pending"
