"""How the ledger records a decision (``messages.decision``): the decision JSON of docs/cli.md.

Ingest writes it in the transaction that applies the decision, and everything that shows
a decision later shows this document as it was written: a message stored again,
`quarantine list`'s source, `ingest --json` itself. Its shape is the doors' (the render
floor builds its JSON of decisions and items with these functions), but it lives here,
where the ledger is written: services sit below the doors and cannot call up to them.
"""

from __future__ import annotations

from typing import Any

from postroom.domain.decision import Decision, Outcome, Rule
from postroom.domain.workitems import ItemType
from postroom.records.items import ItemRecord


def item_document(item: ItemRecord) -> dict[str, Any]:
    """A work item as a decision's ``work_items`` (and `item show`) show it."""
    return {
        "reference": item.reference,
        "type": item.type,
        "state": item.state,
        "queue": item.queue,
        "context": item.context,
        "category": item.category,
        "owner": item.owner,
        "assignee": item.assignee,
        "case": item.case_reference if item.type != ItemType.CASE.value else None,
        "linked_to": item.linked_reference,
        "requester": item.requester,
        "subject": item.subject,
        "resolution": item.resolution,
        "new_information": bool(item.new_info),
    }


def decision_document(
    decision: Decision, items: list[dict[str, Any]], message_row: int | None
) -> dict[str, Any]:
    """The decision object of docs/handler.md §6, plus the reason and the stored message's id."""
    return {
        "outcome": decision.outcome.value,
        "rule": decision.rule.value,
        "path": [r.value for r in decision.path],
        "matched_by": decision.matched_by.value if decision.matched_by else None,
        "work_items": items,
        "auto_reply": decision.auto_reply_kind.value if decision.auto_reply_kind else None,
        "reason": decision.reason,
        "auto_reply_suppressed": decision.suppressed_auto_reply,
        "duplicate_of": decision.duplicate_of,
        "message": message_row,
    }


def quarantine_document(message_row: int, error: str) -> dict[str, Any]:
    """The decision of a message that could not be handled: its reason is the last line of
    ``error``, which ingest makes the real cause."""
    last = error.strip().splitlines()[-1] if error.strip() else "unknown error"
    return {
        "outcome": Outcome.QUARANTINED.value,
        "rule": Rule.Q1.value,
        "path": [Rule.Q1.value],
        "matched_by": None,
        "work_items": [],
        "auto_reply": None,
        "reason": f"could not be handled: {last}",
        "message": message_row,
    }
