"""The outbox in the shape of docs/cli.md (`outbox list --json`, `outbox retry|cancel --json`)."""

from __future__ import annotations

from typing import Any

from postroom.records.outbox import OutboxRecord
from postroom.records.statuses import OutboxStatus
from postroom.render.stamps import iso


def outbox_json(message: OutboxRecord) -> dict[str, Any]:
    """One outbound message; its next attempt only while it is queued for one."""
    return {
        "id": message.id,
        "kind": message.kind,
        "reference": message.reference,
        "from": message.sender,
        "to": list(message.recipients),
        "subject": message.subject,
        "message_id": message.message_id,
        "status": message.status,
        "attempts": message.attempts,
        "last_error": message.last_error,
        "next_attempt": iso(message.next_attempt)
        if message.status == OutboxStatus.QUEUED
        else None,
        "recipient_results": message.recipient_results,
        "smtp_server": message.smtp_server,
        "created_at": iso(message.created_at),
        "sent_at": iso(message.sent_at),
    }
