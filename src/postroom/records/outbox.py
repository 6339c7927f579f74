"""The outbox as storage hands it out: one outbound message and where it stands."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any


@dataclass(frozen=True, slots=True)
class OutboxRecord:
    """One queued, sent or given-up outbound message (`outbox` row, docs/cli.md `outbox list`)."""

    id: int
    kind: str
    work_item_id: int | None
    sender: str
    recipients: list[str]
    first_recipient: str | None
    subject: str
    message_id: str
    raw_sha256: str
    status: str
    """An `OutboxStatus` value."""
    attempts: int
    last_error: str | None
    next_attempt: datetime | None
    recipient_results: dict[str, Any] | None
    """Per recipient: what the server answered (``{"status": "accepted", …}``)."""
    smtp_server: str | None
    lease_until: datetime | None
    created_at: datetime
    sent_at: datetime | None
    reference: str | None = None
    """The work item's reference, where the listing joined it (None otherwise)."""
    raw: bytes | None = None
    """The message's bytes where its row holds them (a small one); None: they are the blob
    named by ``raw_sha256``, or the listing left them out (`Storage.outbound_bytes`)."""
