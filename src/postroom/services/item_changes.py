"""A person's changes to a work item made through the web door, each all or nothing in
one unit of work and each in the item's history with the user who made it.

- `change`: any of state, owner, queue and assignee at once (a PATCH): the rules of
  `ItemService.set_state` and `set_owner` (a Ticket that launched a Case stays with it;
  owner and assignee are users), one history event per field that really changes.
- `reply`: the reply queued as `ReplyService` queues it, and a ``reply`` event (its
  Message-ID, the outbox row in the note) in the same transaction: the history never
  misses a reply that went out, nor names one that did not.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from datetime import datetime

from postroom.domain.workitems import ItemType, State
from postroom.errors import UserError
from postroom.mime.compose import Attachment
from postroom.records.items import Cause, ItemRecord
from postroom.records.outbox import OutboxRecord
from postroom.services.items import ItemDetail
from postroom.services.reply import ReplyService
from postroom.storage.unit import Storage, UnitOfWork

CHANGEABLE = frozenset({"owner", "queue", "assignee"})
"""Fields a change may set besides ``state`` (None clears one)."""
_USERS = frozenset({"owner", "assignee"})


class ItemChanges:
    def __init__(self, storage: Storage, replies: ReplyService, actor: str) -> None:
        self.storage = storage
        self.replies = replies
        self.cause = Cause("user", actor=actor)

    def change(
        self,
        ref: str,
        now: datetime,
        state: State | None = None,
        fields: Mapping[str, str | None] | None = None,
    ) -> ItemDetail:
        """Set ``state`` and ``fields`` (owner, queue, assignee) together; the item as it
        is then, with its history and communications."""
        values = dict(fields or {})
        unknown = sorted(set(values) - CHANGEABLE)
        if unknown:
            raise UserError(
                f"cannot change {', '.join(unknown)}: only state, owner, queue, assignee"
            )
        if state is None and not values:
            raise UserError("nothing to change: give state, owner, queue or assignee")
        with self.storage.writing() as uow:
            item = uow.items.get(ref)
            for name in _USERS & values.keys():
                user = values[name]
                if user is not None:
                    uow.config.user(user)  # NotFoundError: no such user
            if state is not None:
                _check_state(uow, item, state)
                item = uow.items.set_state(item, state, now, self.cause)
            if values:
                item = uow.items.change(item, now, self.cause, **values)
            return ItemDetail(item, uow.items.history(item.id), uow.communications.of_item(item.id))

    def reply(
        self,
        ref: str,
        now: datetime,
        body: str,
        to: list[str] | None = None,
        cc: list[str] | None = None,
        attachments: tuple[Attachment, ...] = (),
    ) -> OutboxRecord:
        """Queue a reply on the item and record it in the item's history; the outbox row."""
        with self.storage.writing() as uow:
            queued = self.replies._queue(uow, ref, body, now, to, cc, attachments, None)
            item = uow.items.get(queued.reference)
            cause = Cause(self.cause.kind, self.cause.actor, note=f"outbox {queued.outbox_id}")
            uow.items.record(item.id, "reply", None, queued.message_id, cause, now)
            return replace(uow.outbox.get(queued.outbox_id), reference=item.reference)


def _check_state(uow: UnitOfWork, item: ItemRecord, state: State) -> None:
    """A Ticket that launched a Case closes when the Case does (`ItemService.set_state`)."""
    if item.type == ItemType.TICKET.value and item.case_id is not None and state.running:
        case = uow.items.by_id(item.case_id)
        if case.state != State.CLOSED.value:
            raise UserError(
                f"{item.reference} launched {case.reference}: it closes when the Case does"
            )
