"""Stored messages as storage hands them out: one row of the ledger of arrivals."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any


@dataclass(frozen=True, slots=True)
class MessageRecord:
    """One arrival (`messages` row) and what became of it: its status, the rule that
    decided it and, once decided, the decision as `quarantine list` and a re-ingest show it."""

    id: int
    raw_sha256: str
    size: int
    content_hash: str | None
    message_id: str | None
    channel_id: int | None
    source_uid: str | None
    received_at: datetime
    status: str
    """A `MessageStatus` value."""
    from_address: str | None
    subject: str | None
    rule: str | None
    path: str | None
    matched_by: str | None
    reason: str | None
    decision: dict[str, Any] | None
    """The decision's JSON (`postroom.render.mail.decision_json`), as it was stored."""
    duplicate_of: int | None
    dedupe_key: str | None
    error: str | None
    """The traceback and cause of the last failure (quarantined messages)."""
    attempts: int
