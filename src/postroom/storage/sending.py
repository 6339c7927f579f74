"""The outbox as the sender works through it: claims, deliveries and outcomes under a lease.

A row moves queued -> sending (claimed, lease taken; MAIL, RCPT and the content go out
under it) -> delivering (just before DATA's final dot) -> sent | queued (retry later) |
failed; services/send.py says why ``delivering`` exists and why it starts only there.
``lease_until`` doubles as the claimant's token: every later update names it, so a
process whose lease was taken over changes nothing.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection

from postroom.records.outbox import OutboxRecord
from postroom.records.statuses import OutboxStatus
from postroom.storage import outbox


class SendingRepository:
    """The sender's side of the outbox in one unit of work (`uow.sending`)."""

    UNKNOWN_OUTCOME = outbox.UNKNOWN_OUTCOME
    """What a row found half-delivered says (it is never sent again automatically)."""

    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    @staticmethod
    def lease_token(now: datetime, lease: timedelta) -> datetime:
        """A lease end unique to its claimant (a random microsecond offset on top): the
        token every later update of a claimed row names."""
        return outbox.lease_token(now, lease)

    def anything_to_do(self, now: datetime) -> bool:
        """A due row or a delivery left by a stopped process (a read: a tick with nothing
        to send does not queue for the write lock)."""
        return outbox.anything_to_do(self._conn, now)

    def abandon_stale_deliveries(self, now: datetime) -> list[int]:
        """Rows left ``delivering`` by a process that stopped: outcome unknown, never resent."""
        return outbox.abandon_stale_deliveries(self._conn, now)

    def claim_due(self, now: datetime, token: datetime, limit: int) -> list[OutboxRecord]:
        """Lease up to ``limit`` due rows with ``token``; each is claimed by one process."""
        return [
            OutboxRecord(**row._mapping) for row in outbox.claim_due(self._conn, now, token, limit)
        ]

    def start_delivery(
        self, outbox_id: int, token: datetime, new_token: datetime, pending: dict[str, Any]
    ) -> bool:
        """``sending`` -> ``delivering`` under our lease, renewed to ``new_token``; False
        when another process took the row over."""
        return outbox.start_delivery(self._conn, outbox_id, token, new_token, pending)

    def finish(self, outbox_id: int, token: datetime, **values: Any) -> bool:
        """Record an attempt's outcome and release the lease, only if it is still ours."""
        return outbox.finish(self._conn, outbox_id, token, **values)

    def put_back(self, outbox_id: int, token: datetime) -> bool:
        """A claimed row not tried: queued again, due at once (only if still ours)."""
        return outbox.finish(self._conn, outbox_id, token, status=OutboxStatus.QUEUED.value)
