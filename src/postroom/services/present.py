"""Plain JSON-ready views of stored things, shared by the CLI (and later the web API)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, Row, select

from postroom.domain.decision import Decision
from postroom.domain.mail import Address, ParsedMail
from postroom.storage import workitems
from postroom.storage.tables import communications, item_events


def item_json(conn: Connection, row: Row[Any]) -> dict[str, Any]:
    return {
        "reference": row.reference,
        "type": row.type,
        "state": row.state,
        "queue": row.queue,
        "context": row.context,
        "category": row.category,
        "owner": row.owner,
        "assignee": row.assignee,
        "case": workitems.reference_of(conn, row.case_id) if row.type != "case" else None,
        "linked_to": workitems.reference_of(conn, row.linked_to_id),
        "requester": row.requester,
        "subject": row.subject,
        "resolution": row.resolution,
        "new_information": bool(row.new_info),
    }


def communications_json(conn: Connection, item_id: int) -> list[dict[str, Any]]:
    q = (
        select(communications)
        .where(communications.c.work_item_id == item_id)
        .order_by(communications.c.id)
    )
    return [
        {
            "id": c.id,
            "direction": c.direction,
            "from": c.from_address,
            "subject": c.subject,
            "message_id": c.message_id,
            "rule": c.rule,
            "matched_by": c.matched_by,
            "status": c.status,
            "status_detail": c.status_detail,
            "at": c.created_at.isoformat() + "Z",
        }
        for c in conn.execute(q)
    ]


def history_json(conn: Connection, item_id: int) -> list[dict[str, Any]]:
    """Every change of the item with its cause: who (a user, the email handler with the
    communication that triggered it, the system) changed what, from what to what."""
    q = select(item_events).where(item_events.c.work_item_id == item_id).order_by(item_events.c.id)
    return [
        {
            "at": e.at.isoformat() + "Z",
            "field": e.field,
            "old": e.old,
            "new": e.new,
            "cause": e.cause,
            "actor": e.actor,
            "communication": e.communication_id,
            "note": e.note,
        }
        for e in conn.execute(q)
    ]


def decision_json(
    decision: Decision, items: list[dict[str, Any]], message_row: int | None
) -> dict[str, Any]:
    """The decision object of handler.md §6, plus the reason and the stored message's id."""
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


def _addr(a: Address | None) -> str | None:
    return a.address if a else None


def mail_json(mail: ParsedMail, automatic: str | None) -> dict[str, Any]:
    return {
        "from": _addr(mail.from_),
        "from_name": mail.from_.name if mail.from_ else None,
        "to": [a.address for a in mail.to],
        "cc": [a.address for a in mail.cc],
        "reply_to": mail.reply_to[0].address if mail.reply_to else None,
        "reply_to_all": [a.address for a in mail.reply_to],
        "delivered_to": [a.address for a in mail.delivered_to + mail.x_original_to],
        "subject": mail.subject,
        "date": mail.date.isoformat() if mail.date else None,
        "message_id": mail.message_id,
        "in_reply_to": mail.in_reply_to,
        "references": list(mail.references),
        "body_text": mail.body_text,
        "has_html": mail.has_html,
        "attachments": [
            {
                "filename": a.filename,
                "content_type": a.content_type,
                "size": a.size,
                "content_id": a.content_id,
                "inline": a.inline,
            }
            for a in mail.attachments
        ],
        "automatic": automatic,
        "defects": list(mail.defects),
        "content_type": mail.content_type,
        "content_hash": mail.content_hash,
    }


def preview_items(conn: Connection, decision: Decision) -> list[dict[str, Any]]:
    """The items a decision would create or update, for a dry run (new Tickets: no reference)."""
    items: list[dict[str, Any]] = []
    for upd in decision.updates:
        row = workitems.find(conn, upd.reference)
        if row is not None:
            data = item_json(conn, row)
            if upd.requeue:
                data["state"] = "to-do"
            items.append(data)
    for ticket in decision.new_tickets:
        route = ticket.route
        items.append(
            {
                "reference": None,
                "type": "ticket",
                "state": "resolved" if ticket.resolve else "to-do",
                "queue": route.queue if route else None,
                "context": route.context if route else None,
                "category": route.category if route else None,
                "owner": None,
                "assignee": None,
                "case": None,
                "linked_to": str(ticket.linked_to) if ticket.linked_to else None,
            }
        )
    return items
