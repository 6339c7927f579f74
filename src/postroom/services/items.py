"""Agents' changes to work items: state, owner, starting a Case, adding an Action."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from postroom.domain.workitems import ItemType, Reference, State
from postroom.errors import UserError
from postroom.records.items import Cause, CommunicationRecord, HistoryEvent, ItemRecord
from postroom.storage.unit import Storage


@dataclass(frozen=True, slots=True)
class ItemDetail:
    """An item with its history and, where asked for, its communications."""

    item: ItemRecord
    history: list[HistoryEvent]
    communications: list[CommunicationRecord] | None = None


class ItemService:
    def __init__(self, storage: Storage, actor: str = "cli") -> None:
        self.storage = storage
        self.cause = Cause("user", actor=actor)

    def list(self, state: State | None, queue: str | None) -> list[ItemDetail]:
        """Items oldest first, each with its history (docs/cli.md: `item show` but the
        communications)."""
        with self.storage.reading() as uow:
            items = uow.items.all(state, queue)
            histories = uow.items.histories([item.id for item in items])
        return [ItemDetail(item, histories[item.id]) for item in items]

    def show(self, ref: str) -> ItemDetail:
        with self.storage.reading() as uow:
            item = uow.items.get(ref)
            return ItemDetail(item, uow.items.history(item.id), uow.communications.of_item(item.id))

    def set_state(self, ref: str, state: State, now: datetime) -> ItemRecord:
        with self.storage.writing() as uow:
            item = uow.items.get(ref)
            if item.type == ItemType.TICKET.value and item.case_id is not None and state.running:
                case = uow.items.by_id(item.case_id)
                if case.state != State.CLOSED.value:
                    raise UserError(
                        f"{item.reference} launched {case.reference}: it closes when the Case does"
                    )
            return uow.items.set_state(item, state, now, self.cause)

    def set_owner(self, ref: str, user: str, now: datetime) -> ItemRecord:
        with self.storage.writing() as uow:
            uow.config.user(user)  # NotFoundError: no such user
            item = uow.items.get(ref)
            return uow.items.change(item, now, self.cause, owner=user)

    def start_case(self, ref: str, now: datetime) -> ItemRecord:
        """The Ticket launches a Case with its number and waits for it; returns the Case."""
        with self.storage.writing() as uow:
            ticket = uow.items.get(ref)
            if ticket.type != ItemType.TICKET.value:
                raise UserError(f"{ticket.reference} is not a Ticket")
            if ticket.case_id is not None:
                raise UserError(f"{ticket.reference} has started a Case already")
            if ticket.state == State.CLOSED.value:
                raise UserError(f"{ticket.reference} is closed")
            case = uow.items.create(
                ref=Reference(ticket.number, ItemType.CASE),
                state=State.TODO,
                now=now,
                cause=self.cause,
                queue=ticket.queue,
                context=ticket.context,
                category=ticket.category,
                requester=ticket.requester,
                subject=ticket.subject,
            )
            uow.items.change(
                ticket,
                now,
                self.cause,
                state=State.WAITING.value,
                resolution="Case Launched",
                case_id=case.id,
            )
            return case

    def add_action(self, case_ref: str, queue: str | None, now: datetime) -> ItemRecord:
        """A new Action in the Case (in ``queue``, else the Case's); returns it."""
        with self.storage.writing() as uow:
            case = uow.items.get(case_ref)
            if case.type != ItemType.CASE.value:
                raise UserError(f"{case.reference} is not a Case")
            if case.state == State.CLOSED.value:
                raise UserError(f"{case.reference} is closed")
            number = uow.items.next_action_number(case.id)
            return uow.items.create(
                ref=Reference(case.number, ItemType.ACTION, number),
                state=State.TODO,
                now=now,
                cause=self.cause,
                queue=queue or case.queue,
                context=case.context,
                category=case.category,
                requester=case.requester,
                subject=case.subject,
                case=case,
            )

    def close_after_feedback(self, now: datetime, feedback: timedelta) -> int:
        """Resolved items whose feedback window has passed become Closed."""
        cutoff = now - feedback
        with self.storage.reading() as uow:
            if not uow.items.resolved_before(cutoff, limit=1):
                return 0  # the common case: no write lock taken
        cause = Cause("system", note="feedback window over")
        with self.storage.writing() as uow:
            due = uow.items.resolved_before(cutoff)
            for item in due:
                uow.items.set_state(item, State.CLOSED, now, cause)
            return len(due)
