"""docs/cli.md's JSON of mail and work items: decisions, items with their history and
communications, parsed mail, stored messages, queued replies.

A decision is shown as the ledger records it (`postroom.services.ledger`, whose document
is docs/cli.md's decision object): what `ingest --json` prints is what a message stored again
shows later.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from postroom.domain.mail import ParsedMail
from postroom.domain.workitems import ItemType, State
from postroom.records.items import CommunicationRecord, HistoryEvent, ItemRecord
from postroom.records.mail import MessageRecord
from postroom.render.stamps import iso
from postroom.services.explain import Explanation, Preview
from postroom.services.ingest import IngestResult
from postroom.services.ledger import decision_document, item_document, quarantine_document

if TYPE_CHECKING:
    # Annotations only: `postroom ingest` (one process per message) need not import the
    # reply and item services (their MIME composer, the sending storage) to print a decision.
    from postroom.services.items import ItemDetail
    from postroom.services.messages import StoredMail
    from postroom.services.reply import QueuedReply


def item_json(item: ItemRecord) -> dict[str, Any]:
    """A work item as `item show` and a decision's ``work_items`` show it."""
    return item_document(item)


def history_json(events: list[HistoryEvent]) -> list[dict[str, Any]]:
    """Every change of the item with its cause: who (a user, the email handler with the
    communication that triggered it, the system) changed what, from what to what."""
    return [
        {
            "at": iso(e.at),
            "field": e.field,
            "old": e.old,
            "new": e.new,
            "cause": e.cause,
            "actor": e.actor,
            "communication": e.communication_id,
            "note": e.note,
        }
        for e in events
    ]


def communications_json(communications: list[CommunicationRecord]) -> list[dict[str, Any]]:
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
            "at": iso(c.created_at),
        }
        for c in communications
    ]


def item_detail_json(detail: ItemDetail) -> dict[str, Any]:
    """`item show --json`: the item, its communications (when read) and its history;
    `item list --json` shows each item so, without the communications."""
    data = item_json(detail.item)
    if detail.communications is not None:
        data["communications"] = communications_json(detail.communications)
    data["history"] = history_json(detail.history)
    return data


def decision_json(result: IngestResult) -> dict[str, Any]:
    """What became of an ingested message: the decision as the ledger recorded it (for a
    message stored before: as it was recorded then), or as it would have."""
    if result.recorded is not None:
        return result.recorded
    if result.decision is None:
        return quarantine_document(result.message_row, result.error or "")
    items = [item_json(item) for item in result.items]
    return decision_document(result.decision, items, result.message_row)


def preview_json(preview: Preview) -> dict[str, Any]:
    """An item a dry run would update (as it is, to-do when requeued) or create (no
    reference yet)."""
    if preview.item is not None:
        data = item_json(preview.item)
        if preview.requeue:
            data["state"] = State.TODO.value
        return data
    ticket = preview.ticket
    assert ticket is not None
    route = ticket.route
    return {
        "reference": None,
        "type": ItemType.TICKET.value,
        "state": (State.RESOLVED if ticket.resolve else State.TODO).value,
        "queue": route.queue if route else None,
        "context": route.context if route else None,
        "category": route.category if route else None,
        "owner": None,
        "assignee": None,
        "case": None,
        "linked_to": str(ticket.linked_to) if ticket.linked_to else None,
    }


def mail_json(mail: ParsedMail, automatic: str | None) -> dict[str, Any]:
    return {
        "from": mail.from_.address if mail.from_ else None,
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


def explanation_json(explained: Explanation) -> dict[str, Any]:
    """`explain --json`: the parsed mail and the decision it would get, with its trace."""
    items = [preview_json(p) for p in explained.preview]
    decision = decision_document(explained.decision, items, None)
    decision["trace"] = list(explained.decision.trace)
    return {"mail": mail_json(explained.mail, explained.automatic), "decision": decision}


def message_json(row: MessageRecord) -> dict[str, Any]:
    """A stored message as `quarantine list` and `unhandled list` show it."""
    error = row.error or ""
    return {
        "id": row.id,
        "received_at": iso(row.received_at),
        "from": row.from_address,
        "subject": row.subject,
        "message_id": row.message_id,
        "size": row.size,
        "sha256": row.raw_sha256,
        "status": row.status,
        "rule": row.rule,
        "reason": row.reason,
        "error": error.strip().splitlines()[-1] if error.strip() else None,
        "attempts": row.attempts,
        "channel_id": row.channel_id,
    }


def reply_json(queued: QueuedReply) -> dict[str, Any]:
    """`item reply --json`: the queued reply."""
    return {
        "outbox_id": queued.outbox_id,
        "reference": queued.reference,
        "message_id": queued.message_id,
        "sender": queued.sender,
        "to": list(queued.to),
        "cc": list(queued.cc),
        "subject": queued.subject,
    }


def stored_mail_json(stored: StoredMail) -> dict[str, Any]:
    """`message show --json`: the communication (or the arrival), the stored bytes' size and
    SHA-256, every header (first value of each, decoded), the parsed mail (`explain`'s
    ``mail``: addresses, text, attachments), and for received mail its ledger row and the
    decision with its trace."""
    communication = stored.communication
    mail = stored.mail
    return {
        "id": communication.id if communication is not None else None,
        "direction": communication.direction if communication is not None else "in",
        "work_item_id": communication.work_item_id if communication is not None else None,
        "arrival": message_json(stored.arrival) if stored.arrival is not None else None,
        "outbox_id": stored.outbox.id if stored.outbox is not None else None,
        "size": stored.size,
        "sha256": stored.sha256,
        "headers": dict(mail.headers) if mail is not None else None,
        "mail": mail_json(mail, None) if mail is not None else None,
        "unparsed": stored.unparsed,
        "decision": stored.decision,
    }
