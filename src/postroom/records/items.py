"""Work items as storage hands them out: the item, its history and its communications.

Field names are the column names (``item.state``, ``item.case_id``), so code that read a
row reads a record the same way. Datetimes are naive UTC, as stored. An item also carries
the references of its Case and of the item it is linked to, which every view of it shows:
storage reads them with the item, so nobody asks for them one query at a time.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True, slots=True)
class ItemRecord:
    """A Ticket, a Case or an Action (`work_items` row)."""

    id: int
    reference: str
    number: int
    type: str
    """An `ItemType` value."""
    action_no: int | None
    state: str
    """A `State` value."""
    resolution: str | None
    queue: str | None
    context: str | None
    category: str | None
    owner: str | None
    assignee: str | None
    case_id: int | None
    linked_to_id: int | None
    requester: str | None
    subject: str | None
    new_info: bool
    created_at: datetime
    updated_at: datetime
    resolved_at: datetime | None
    case_reference: str | None = None
    """The reference of ``case_id`` (None when it is None)."""
    linked_reference: str | None = None
    """The reference of ``linked_to_id`` (None when it is None)."""


@dataclass(frozen=True, slots=True)
class HistoryEvent:
    """One change of an item with its cause (`item_events` row): who changed what, from
    what to what; the handler's changes name the communication that triggered them."""

    id: int
    work_item_id: int
    at: datetime
    field: str
    old: str | None
    new: str | None
    cause: str
    """``user``, ``email-handler`` or ``system``."""
    actor: str | None
    communication_id: int | None
    note: str | None


@dataclass(frozen=True, slots=True)
class CommunicationRecord:
    """One email on an item's timeline (`communications` row): received (``in``, with the
    ledger row) or sent (``out``, with its outbox row), and what became of it."""

    id: int
    work_item_id: int
    direction: str
    """``in`` or ``out``."""
    message_row_id: int | None
    outbox_id: int | None
    message_id: str | None
    from_address: str | None
    subject: str | None
    rule: str | None
    matched_by: str | None
    status: str | None
    """A `CommunicationStatus` value."""
    status_detail: str | None
    created_at: datetime


@dataclass(frozen=True, slots=True)
class Cause:
    """Who or what changed an item: a user, the handler (with the communication), the system."""

    kind: str
    actor: str | None = None
    communication_id: int | None = None
    note: str | None = None
