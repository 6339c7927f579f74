"""Applying an Email Handler decision.

One transaction changes the items, files the mail and queues the replies.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

from sqlalchemy import Connection, Row, insert, select, update

from postroom.domain.automatic import address_problem, reply_address
from postroom.domain.decision import AutoReply, Decision, NewTicket, Outcome, Rule
from postroom.domain.mail import ParsedMail
from postroom.domain.workitems import ItemType, Reference, State
from postroom.mime.compose import compose, load_template, render, subject_with_reference
from postroom.storage import outbox, workitems
from postroom.storage.tables import communications
from postroom.storage.tables import outbox as outbox_table
from postroom.storage.workitems import Cause

_INSERT_COMMUNICATION = insert(communications).returning(communications.c.id)

_STATUS = {
    Outcome.UPDATED: "handled",
    Outcome.NEW_TICKET: "handled",
    Outcome.UNHANDLED: "unhandled",
    Outcome.IGNORED: "ignored",
    Outcome.QUARANTINED: "quarantined",
}


def message_status(decision: Decision) -> str:
    if decision.rule is Rule.D1:
        return "duplicate"
    return _STATUS[decision.outcome]


class BlobWriter(Protocol):
    """Where the raw bytes of queued outbound messages go (the blob store, or a staged batch
    of it that the caller makes durable before its commit)."""

    def put(self, data: bytes) -> str: ...


@dataclass
class Applier:
    conn: Connection
    blobs: BlobWriter
    default_sender: str
    templates_dir: Path | None
    now: datetime

    def apply(self, decision: Decision, mail: ParsedMail, message_row: int) -> list[Row[Any]]:
        """Carry out ``decision``; returns the items created or updated (as they are now)."""
        touched: list[Row[Any]] = []
        if decision.rule is Rule.D3 and decision.bounced_outbound is not None:
            touched.append(workitems.by_id(self.conn, self._bounce(decision, mail, message_row)))
            return touched
        for upd in decision.updates:
            row = workitems.get(self.conn, upd.reference)
            comm = self._file(row.id, mail, message_row, decision)
            cause = Cause("email-handler", communication_id=comm)
            values: dict[str, Any] = {}
            if upd.requeue:
                values.update(state=State.TODO.value, new_info=True, resolution=None)
            if upd.assign_to_owner and row.owner:
                values["assignee"] = row.owner
            if upd.reopen:
                workitems.record(self.conn, row.id, "reopened", row.state, "to-do", cause, self.now)
            touched.append(workitems.change(self.conn, row, self.now, cause, **values))
        created: list[Row[Any]] = []
        for ticket in decision.new_tickets:
            created.append(self._new_ticket(ticket, mail, message_row, decision))
        touched.extend(created)
        for reply in decision.auto_replies:
            if reply.ticket_index < len(created):
                self._auto_reply(reply, created[reply.ticket_index], mail, decision)
        return touched

    def _file(self, item_id: int, mail: ParsedMail, message_row: int, decision: Decision) -> int:
        values = {
            "work_item_id": item_id,
            "direction": "in",
            "message_row_id": message_row,
            "outbox_id": None,
            "message_id": mail.message_id,
            "from_address": mail.from_.address if mail.from_ else None,
            "subject": mail.subject,
            "rule": decision.rule.value,
            "matched_by": decision.matched_by.value if decision.matched_by else None,
            "status": "received",
            "status_detail": None,
            "created_at": self.now,
        }
        return int(self.conn.execute(_INSERT_COMMUNICATION, values).scalar_one())

    def _new_ticket(
        self, ticket: NewTicket, mail: ParsedMail, message_row: int, decision: Decision
    ) -> Row[Any]:
        ref = Reference(workitems.next_number(self.conn), ItemType.TICKET)
        linked_id = None
        if ticket.linked_to is not None:
            linked = workitems.find(self.conn, ticket.linked_to)
            linked_id = linked.id if linked is not None else None
        # The address an agent's reply goes to by default: qualified like an automated reply's.
        requester = reply_address(mail).address or mail.from_
        route = ticket.route
        cause = Cause("email-handler", note=f"rule {decision.rule.value}")
        row = workitems.create(
            self.conn,
            ref=ref,
            state=State.TODO,
            now=self.now,
            cause=cause,
            queue=route.queue if route else None,
            context=route.context if route else None,
            category=route.category if route else None,
            requester=requester.address if requester else None,
            subject=mail.subject,
            linked_to_id=linked_id,
            new_info=True,
        )
        comm = self._file(row.id, mail, message_row, decision)
        if ticket.resolve:
            note = "address not configured"
            row = workitems.change(
                self.conn,
                row,
                self.now,
                Cause("email-handler", communication_id=comm, note=note),
                state=State.RESOLVED.value,
                resolution="Address not configured",
            )
        return row

    def _auto_reply(
        self, reply: AutoReply, row: Row[Any], mail: ParsedMail, decision: Decision
    ) -> None:
        item_id = row.id
        sender = reply.sender or self.default_sender
        if address_problem(sender, qualified=False) is not None:
            # N2 answers from the address written to, which the customer chose.
            sender = self.default_sender
        original = mail.subject or "(no subject)"
        values = {
            "reference": row.reference,
            "subject": original,
            "sender": mail.from_.address if mail.from_ else "",
            "sender_name": (mail.from_.name or mail.from_.address) if mail.from_ else "",
            "recipient": reply.sender or "",
            "context": row.context or "",
            "category": row.category or "",
            "queue": row.queue or "",
        }
        subject, body = render(load_template(reply.kind.value, self.templates_dir), values)
        subject = subject_with_reference(subject or original, row.reference)
        composed = compose(
            sender=sender,
            to=[reply.to],
            subject=subject,
            body=body,
            now=self.now,
            in_reply_to=mail.message_id,
            references=mail.references,
            automated=True,
        )
        if not composed.recipients:
            # The handler chose a fully qualified address; one that still cannot be
            # written is not sent to, and the Ticket says why.
            note = f"{reply.kind.value} not sent: {composed.why_left_out()}"
            cause = Cause("email-handler", note=note)
            workitems.record(self.conn, item_id, "auto_reply", None, None, cause, self.now)
            return
        sha = self.blobs.put(composed.raw)
        out_id = outbox.enqueue(
            self.conn,
            kind=reply.kind.value,
            work_item_id=item_id,
            sender=sender,
            recipients=list(composed.recipients),
            subject=composed.subject,
            message_id=composed.message_id,
            raw_sha256=sha,
            now=self.now,
        )
        self.conn.execute(
            insert(communications).values(
                work_item_id=item_id,
                direction="out",
                outbox_id=out_id,
                message_id=composed.message_id,
                from_address=sender,
                subject=composed.subject,
                rule=decision.rule.value,
                status="queued",
                created_at=self.now,
            )
        )

    def _bounce(self, decision: Decision, mail: ParsedMail, message_row: int) -> int:
        comm = self.conn.execute(
            select(communications).where(communications.c.id == decision.bounced_outbound)
        ).one()
        report = mail.report
        detail = decision.reason
        if report is not None:
            parts = [p for p in (report.status, report.diagnostic) if p]
            if report.failed_recipients:
                parts.insert(0, ", ".join(report.failed_recipients))
            detail = "; ".join(parts) or detail
        self.conn.execute(
            update(communications)
            .where(communications.c.id == comm.id)
            .values(status="bounced", status_detail=detail)
        )
        if comm.outbox_id is not None:
            self.conn.execute(
                update(outbox_table)
                .where(outbox_table.c.id == comm.outbox_id)
                .values(status="bounced", last_error=detail)
            )
        self._file(comm.work_item_id, mail, message_row, decision)
        return int(comm.work_item_id)
