"""Work items in the database: numbering, state changes with their cause, Cases and Actions.

`ItemRepository` is a unit of work's ``uow.items``. Every item it hands out is an
`ItemRecord` that already knows the references of its Case and of the item it is linked
to (read in the same statement, or carried over from the record it changed), so a view of
it costs no further query.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Connection,
    Result,
    Row,
    bindparam,
    func,
    insert,
    literal,
    select,
    text,
    update,
)

from postroom.domain.workitems import ItemType, Reference, State, WorkItemView
from postroom.errors import NotFoundError, UserError
from postroom.records.items import Cause, HistoryEvent, ItemRecord
from postroom.storage.columns import RemoteText, storable
from postroom.storage.deferred import INSERT_EVENT, DeferredWrites
from postroom.storage.prepared import Prepared
from postroom.storage.tables import communications, counters, item_events, work_items

FIRST_NUMBER = 100001
HISTORY_CHUNK = 500
"""Items whose histories one statement reads at most (a page of the API's largest size;
SQLite takes at most 32,766 bound values a statement)."""

_case = work_items.alias("case_item")
_linked = work_items.alias("linked_item")
_ITEMS = select(
    work_items,
    _case.c.reference.label("case_reference"),
    _linked.c.reference.label("linked_reference"),
).select_from(
    work_items.outerjoin(_case, _case.c.id == work_items.c.case_id).outerjoin(
        _linked, _linked.c.id == work_items.c.linked_to_id
    )
)
"""Items with the references of their Case and linked item, in one statement."""

# Statements built once: building Core constructs per call costs more than the query.
_NEXT = (
    update(counters)
    .where(counters.c.name == "work_item")
    .values(value=counters.c.value + 1)
    .returning(counters.c.value)
)
_NEXTVAL = text("SELECT nextval('work_item_number')")
_BY_REFERENCE = _ITEMS.where(work_items.c.reference == bindparam("ref"))
_BY_ID = _ITEMS.where(work_items.c.id == bindparam("id"))
_REFERENCE_OF = select(work_items.c.reference).where(work_items.c.id == bindparam("id"))
_BY_MESSAGE_ID = (
    _ITEMS.join(communications, communications.c.work_item_id == work_items.c.id)
    .where(communications.c.message_id == bindparam("mid"))
    .order_by(communications.c.id)
)
_ITEM_COLUMNS = tuple(c.name for c in work_items.c if c.name != "id")
_INSERT_ITEM = Prepared(
    insert(work_items)
    .values({name: bindparam(name) for name in _ITEM_COLUMNS})
    .returning(work_items.c.id)
)
"""A new item's row, every column given: the record is the values and the id (one
statement a new Ticket, ~40 us of CPU instead of ~150 for Core's execution and a row
of every column read back)."""
_REMOTE_ITEM_COLUMNS = tuple(c.name for c in work_items.c if isinstance(c.type, RemoteText))
_UPDATE_ITEM = (
    update(work_items).where(work_items.c.id == bindparam("_id")).returning(*work_items.c)
)
_HISTORY = (
    select(item_events)
    .where(item_events.c.work_item_id == bindparam("item"))
    .order_by(item_events.c.id)
)
_HISTORIES = (
    select(item_events)
    .where(item_events.c.work_item_id.in_(bindparam("items", expanding=True)))
    .order_by(item_events.c.work_item_id, item_events.c.id)
)


class ItemRepository:
    """The work items of one unit of work (`uow.items`)."""

    def __init__(self, conn: Connection, deferred: DeferredWrites | None = None) -> None:
        self._conn = conn
        self._deferred = deferred

    def next_number(self) -> int:
        """Allocate the next Ticket number (Cases reuse their Ticket's number).

        PostgreSQL takes it from a sequence, which never waits for other transactions;
        SQLite has one writer at a time anyway and uses a counter row. In a batch's unit
        (`DeferredWrites`) the numbers after the first are counted in memory and the
        row is written once, at the end: no other writer can take one meanwhile.
        """
        conn = self._conn
        if conn.dialect.name == "postgresql":
            return int(conn.execute(_NEXTVAL).scalar_one())
        numbers = self._deferred
        if numbers is not None and numbers.last_number:
            numbers.last_number += 1
            return numbers.last_number
        row = conn.execute(_NEXT).first()
        if row is None:
            conn.execute(insert(counters).values(name="work_item", value=FIRST_NUMBER))
            number = FIRST_NUMBER
        else:
            number = int(row[0])
        if numbers is not None:
            numbers.numbers_written = numbers.last_number = number
        return number

    def find(self, ref: Reference) -> ItemRecord | None:
        row = self._conn.execute(_BY_REFERENCE, {"ref": str(ref)}).first()
        return _record(row) if row is not None else None

    def get(self, ref: Reference | str) -> ItemRecord:
        """The item with this reference (text is parsed: a malformed one is a `UserError`)."""
        written = str(ref)
        if isinstance(ref, str):
            try:
                written = str(Reference.parse(ref))
            except ValueError as exc:
                raise UserError(str(exc)) from exc
        row = self._conn.execute(_BY_REFERENCE, {"ref": written}).first()
        if row is None:
            raise NotFoundError(f"no work item {written}")
        return _record(row)

    def by_id(self, item_id: int) -> ItemRecord:
        row = self._conn.execute(_BY_ID, {"id": item_id}).first()
        if row is None:
            raise NotFoundError(f"no work item with id {item_id}")
        return _record(row)

    def by_message_id(self, message_id: str) -> list[ItemRecord]:
        """The items of the communications with this Message-ID, first filed first, once each."""
        seen: set[int] = set()
        found = []
        for row in self._conn.execute(_BY_MESSAGE_ID, {"mid": message_id}):
            if row.id not in seen:
                seen.add(row.id)
                found.append(_record(row))
        return found

    def all(self, state: State | None = None, queue: str | None = None) -> list[ItemRecord]:
        """Items, oldest first; only those in ``state`` and ``queue`` when given."""
        q = _ITEMS.order_by(work_items.c.id)
        if state is not None:
            q = q.where(work_items.c.state == state.value)
        if queue is not None:
            q = q.where(work_items.c.queue == queue)
        return [_record(row) for row in self._conn.execute(q)]

    def listed(
        self,
        state: State | None = None,
        queue: str | None = None,
        type: ItemType | None = None,
        from_id: int = 0,
        limit: int | None = None,
    ) -> list[ItemRecord]:
        """Items with an id of at least ``from_id``, oldest first, at most ``limit``; only
        those in ``state`` and ``queue`` and of ``type`` when given (a page of a list)."""
        # bound as a BIGINT: a page's first id may be past PostgreSQL's INTEGER
        q = _ITEMS.where(work_items.c.id >= literal(from_id, BigInteger)).order_by(work_items.c.id)
        if state is not None:
            q = q.where(work_items.c.state == state.value)
        if queue is not None:
            q = q.where(work_items.c.queue == queue)
        if type is not None:
            q = q.where(work_items.c.type == type.value)
        if limit is not None:
            q = q.limit(limit)
        return _records(self._conn.execute(q))

    def scanned(
        self,
        state: State | None = None,
        queue: str | None = None,
        type: ItemType | None = None,
        from_id: int = 0,
        chunk: int = 500,
    ) -> Iterator[ItemRecord]:
        """`listed`'s items one chunk of ``chunk`` rows at a time, for a caller that stops
        once it has found what it looks for."""
        while True:
            rows = self.listed(state, queue, type, from_id, chunk)
            yield from rows
            if len(rows) < chunk:
                return
            from_id = rows[-1].id + 1

    def resolved_before(self, cutoff: datetime, limit: int | None = None) -> list[ItemRecord]:
        """Resolved items resolved at or before ``cutoff`` (their feedback window is over)."""
        q = _ITEMS.where(
            work_items.c.state == State.RESOLVED.value, work_items.c.resolved_at <= cutoff
        )
        if limit is not None:
            q = q.limit(limit)
        return [_record(row) for row in self._conn.execute(q)]

    def history(self, item_id: int) -> list[HistoryEvent]:
        """Every change of the item with its cause, in the order made."""
        return [
            HistoryEvent(**row._mapping) for row in self._conn.execute(_HISTORY, {"item": item_id})
        ]

    def histories(self, item_ids: Sequence[int]) -> dict[int, list[HistoryEvent]]:
        """`history` of each item of ``item_ids`` (an item without events has an empty
        list): one statement per `HISTORY_CHUNK` items."""
        found: dict[int, list[HistoryEvent]] = {item_id: [] for item_id in item_ids}
        ids = list(found)
        for start in range(0, len(ids), HISTORY_CHUNK):
            chunk = ids[start : start + HISTORY_CHUNK]
            result = self._conn.execute(_HISTORIES, {"items": chunk})
            names = tuple(result.keys())
            for row in result:
                event = HistoryEvent(**dict(zip(names, row, strict=True)))
                found[event.work_item_id].append(event)
        return found

    def view(self, item: ItemRecord) -> WorkItemView:
        """What the Email Handler sees of an item."""
        return WorkItemView(
            reference=Reference.parse(item.reference),
            state=State(item.state),
            queue=item.queue,
            context=item.context,
            category=item.category,
            owner=item.owner,
            assignee=item.assignee,
            case=Reference.parse(item.case_reference) if item.case_reference else None,
            linked_to=Reference.parse(item.linked_reference) if item.linked_reference else None,
        )

    def record(
        self,
        item_id: int,
        field: str,
        old: object,
        new: object,
        cause: Cause,
        now: datetime,
    ) -> None:
        """One change in the item's history (deferred to the end of a batch's unit)."""
        event = {
            "work_item_id": item_id,
            "at": now,
            "field": field,
            "old": None if old is None else str(old),
            "new": None if new is None else str(new),
            "cause": cause.kind,
            "actor": cause.actor,
            "communication_id": cause.communication_id,
            "note": cause.note,
        }
        if self._deferred is not None:
            self._deferred.events.append(event)
        else:
            self._conn.execute(INSERT_EVENT, event)

    def create(
        self,
        *,
        ref: Reference,
        state: State,
        now: datetime,
        cause: Cause,
        queue: str | None = None,
        context: str | None = None,
        category: str | None = None,
        requester: str | None = None,
        subject: str | None = None,
        case: ItemRecord | None = None,
        linked_to: ItemRecord | None = None,
        owner: str | None = None,
        new_info: bool = False,
    ) -> ItemRecord:
        values: dict[str, Any] = {
            "reference": str(ref),
            "number": ref.number,
            "type": ref.type.value,
            "action_no": ref.action,
            "state": state.value,
            "queue": queue,
            "context": context,
            "category": category,
            "requester": requester,
            "subject": subject,
            "case_id": case.id if case is not None else None,
            "linked_to_id": linked_to.id if linked_to is not None else None,
            "owner": owner,
            "assignee": None,
            "resolution": None,
            "new_info": new_info,
            "created_at": now,
            "updated_at": now,
            "resolved_at": None,
        }
        item_id = int(_INSERT_ITEM.execute(self._conn, values).scalar_one())
        self.record(item_id, "created", None, state.value, cause, now)
        for name in _REMOTE_ITEM_COLUMNS:  # as stored (`RemoteText`)
            if values[name] is not None:
                values[name] = storable(values[name])
        return ItemRecord(
            id=item_id,
            **values,
            case_reference=case.reference if case is not None else None,
            linked_reference=linked_to.reference if linked_to is not None else None,
        )

    def change(self, item: ItemRecord, now: datetime, cause: Cause, **values: Any) -> ItemRecord:
        """Apply ``values`` to the item, recording each field that really changes."""
        changed: dict[str, Any] = {}
        for name, new in values.items():
            old = getattr(item, name)
            if old != new:
                changed[name] = new
                if name not in ("new_info", "resolved_at", "updated_at"):
                    self.record(item.id, name, old, new, cause, now)
        if not changed:
            return item
        if changed.get("state") == State.RESOLVED.value:
            changed["resolved_at"] = now
        changed["updated_at"] = now
        row = self._conn.execute(_UPDATE_ITEM, {"_id": item.id, **changed}).one()
        case_ref = item.case_reference
        if row.case_id != item.case_id:
            case_ref = self._reference_of(row.case_id)
        linked_ref = item.linked_reference
        if row.linked_to_id != item.linked_to_id:
            linked_ref = self._reference_of(row.linked_to_id)
        return ItemRecord(**row._mapping, case_reference=case_ref, linked_reference=linked_ref)

    def set_state(self, item: ItemRecord, state: State, now: datetime, cause: Cause) -> ItemRecord:
        """Change state; a Ticket that launched a Case closes when its Case closes."""
        if state is State.RESOLVED and item.type == ItemType.ACTION.value:
            raise UserError("Actions have no Resolved state: use closed")
        resolution = item.resolution
        if state.active and item.state in (State.RESOLVED.value, State.CLOSED.value):
            resolution = None
        item = self.change(item, now, cause, state=state.value, resolution=resolution)
        if item.type == ItemType.CASE.value and state is State.CLOSED:
            tickets = self._conn.execute(
                _ITEMS.where(
                    work_items.c.case_id == item.id, work_items.c.type == ItemType.TICKET.value
                )
            ).all()
            for ticket in tickets:
                if ticket.state != State.CLOSED.value:
                    self.change(_record(ticket), now, cause, state=State.CLOSED.value)
        return item

    def next_action_number(self, case_id: int) -> int:
        top = self._conn.execute(
            select(func.max(work_items.c.action_no)).where(
                work_items.c.case_id == case_id, work_items.c.type == ItemType.ACTION.value
            )
        ).scalar()
        return int(top or 0) + 1

    def _reference_of(self, item_id: int | None) -> str | None:
        if item_id is None:
            return None
        return self._conn.execute(_REFERENCE_OF, {"id": item_id}).scalar_one_or_none()


def _record(row: Row[Any]) -> ItemRecord:
    return ItemRecord(**row._mapping)


def _records(result: Result[Any]) -> list[ItemRecord]:
    """Every row of ``result`` as a record (the column names taken once, not per row:
    a page of items costs a third less)."""
    names = tuple(result.keys())
    return [ItemRecord(**dict(zip(names, row, strict=True))) for row in result]
