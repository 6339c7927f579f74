"""Applying an Email Handler decision.

One unit of work changes the items, files the mail and queues the replies.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from postroom.domain.automatic import reply_address
from postroom.domain.decision import AutoReply, Decision, NewTicket, Outcome, Rule
from postroom.domain.mail import ParsedMail
from postroom.domain.workitems import ItemType, Reference, State
from postroom.records.items import Cause, ItemRecord
from postroom.records.statuses import CommunicationStatus, MessageStatus
from postroom.storage.unit import UnitOfWork

_STATUS = {
    Outcome.UPDATED: MessageStatus.HANDLED,
    Outcome.NEW_TICKET: MessageStatus.HANDLED,
    Outcome.UNHANDLED: MessageStatus.UNHANDLED,
    Outcome.IGNORED: MessageStatus.IGNORED,
    Outcome.QUARANTINED: MessageStatus.QUARANTINED,
}


def message_status(decision: Decision) -> MessageStatus:
    if decision.rule is Rule.D1:
        return MessageStatus.DUPLICATE
    return _STATUS[decision.outcome]


@dataclass
class Applier:
    """Carries out decisions in one unit of work; automated replies go to its staged blobs
    (made durable once, before its commit)."""

    uow: UnitOfWork
    default_sender: str
    templates_dir: Path | None
    now: datetime

    def apply(self, decision: Decision, mail: ParsedMail, message_row: int) -> list[ItemRecord]:
        """Carry out ``decision``; returns the items created or updated (as they are now)."""
        items = self.uow.items
        touched: list[ItemRecord] = []
        if decision.rule is Rule.D3 and decision.bounced_outbound is not None:
            touched.append(items.by_id(self._bounce(decision, mail, message_row)))
            return touched
        for upd in decision.updates:
            item = items.get(upd.reference)
            comm = self._file(item.id, mail, message_row, decision)
            cause = Cause("email-handler", communication_id=comm)
            values: dict[str, Any] = {}
            if upd.requeue:
                values.update(state=State.TODO.value, new_info=True, resolution=None)
            if upd.assign_to_owner and item.owner:
                values["assignee"] = item.owner
            if upd.reopen:
                items.record(item.id, "reopened", item.state, State.TODO.value, cause, self.now)
            touched.append(items.change(item, self.now, cause, **values))
        created: list[ItemRecord] = []
        requester: str | None = None
        if decision.new_tickets:
            # The address an agent's reply goes to by default: qualified like an automated
            # reply's; judged once for all the message's Tickets.
            chosen = reply_address(mail).address or mail.from_
            requester = chosen.address if chosen is not None else None
        for ticket in decision.new_tickets:
            created.append(self._new_ticket(ticket, mail, message_row, decision, requester))
        touched.extend(created)
        for reply in decision.auto_replies:
            if reply.ticket_index < len(created):
                self._auto_reply(reply, created[reply.ticket_index], mail, decision)
        return touched

    def _file(self, item_id: int, mail: ParsedMail, message_row: int, decision: Decision) -> int:
        return self.uow.communications.file_received(
            work_item_id=item_id,
            message_row_id=message_row,
            message_id=mail.message_id,
            from_address=mail.from_.address if mail.from_ else None,
            subject=mail.subject,
            rule=decision.rule.value,
            matched_by=decision.matched_by.value if decision.matched_by else None,
            now=self.now,
        )

    def _new_ticket(
        self,
        ticket: NewTicket,
        mail: ParsedMail,
        message_row: int,
        decision: Decision,
        requester: str | None,
    ) -> ItemRecord:
        items = self.uow.items
        ref = Reference(items.next_number(), ItemType.TICKET)
        linked = None
        if ticket.linked_to is not None:
            linked = items.find(ticket.linked_to)
        route = ticket.route
        cause = Cause("email-handler", note=f"rule {decision.rule.value}")
        row = items.create(
            ref=ref,
            state=State.TODO,
            now=self.now,
            cause=cause,
            queue=route.queue if route else None,
            context=route.context if route else None,
            category=route.category if route else None,
            requester=requester,
            subject=mail.subject,
            linked_to=linked,
            new_info=True,
        )
        comm = self._file(row.id, mail, message_row, decision)
        if ticket.resolve:
            note = "address not configured"
            row = items.change(
                row,
                self.now,
                Cause("email-handler", communication_id=comm, note=note),
                state=State.RESOLVED.value,
                resolution="Address not configured",
            )
        return row

    def _auto_reply(
        self, reply: AutoReply, row: ItemRecord, mail: ParsedMail, decision: Decision
    ) -> None:
        # Imported when a reply is written: `postroom ingest` (one process a message)
        # loads them only for mail that is answered.
        from postroom.mime.autoreply import compose_automated
        from postroom.mime.header_text import subject_with_reference
        from postroom.mime.outgoing import sender_problem
        from postroom.mime.templates import load_template

        item_id = row.id
        sender = reply.sender or self.default_sender
        if sender_problem(sender) is not None:
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
        template = load_template(reply.kind.value, self.templates_dir)
        subject, body = template.render(values)
        subject = subject_with_reference(subject or original, row.reference)
        composed = compose_automated(
            sender=sender,
            to=(reply.to,),
            subject=subject,
            body=body,
            now=self.now,
            in_reply_to=mail.message_id,
            references=mail.references,
        )
        if not composed.recipients:
            # The handler chose a fully qualified address; one that still cannot be
            # written is not sent to, and the Ticket says why.
            note = f"{reply.kind.value} not sent: {composed.why_left_out()}"
            cause = Cause("email-handler", note=note)
            self.uow.items.record(item_id, "auto_reply", None, None, cause, self.now)
            return
        sha, inline = self.uow.keep_outbound(composed.raw)
        self.uow.outbox.queue_for_item(
            kind=reply.kind.value,
            work_item_id=item_id,
            sender=sender,
            recipients=list(composed.recipients),
            subject=composed.subject,
            message_id=composed.message_id,
            raw_sha256=sha,
            raw=inline,
            rule=decision.rule.value,
            now=self.now,
        )

    def _bounce(self, decision: Decision, mail: ParsedMail, message_row: int) -> int:
        assert decision.bounced_outbound is not None
        comm = self.uow.communications.get(decision.bounced_outbound)
        report = mail.report
        detail = decision.reason
        if report is not None:
            parts = [p for p in (report.status, report.diagnostic) if p]
            if report.failed_recipients:
                parts.insert(0, ", ".join(report.failed_recipients))
            if report.kind:
                parts.insert(0, f"{report.kind} bounce")
            detail = "; ".join(parts) or detail
        self.uow.communications.set_status(comm.id, CommunicationStatus.BOUNCED, detail)
        if comm.outbox_id is not None:
            self.uow.outbox.mark_bounced(comm.outbox_id, detail)
        self._file(comm.work_item_id, mail, message_row, decision)
        return comm.work_item_id
