"""Work items in the database: numbering, state changes with their cause, Cases and Actions."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Row, bindparam, func, insert, select, text, update

from postroom.domain.workitems import ItemType, Reference, State, WorkItemView
from postroom.errors import NotFoundError, UserError
from postroom.storage.tables import counters, item_events, work_items

FIRST_NUMBER = 100001


@dataclass(frozen=True, slots=True)
class Cause:
    """Who or what changed an item: a user, the handler (with the communication), the system."""

    kind: str
    actor: str | None = None
    communication_id: int | None = None
    note: str | None = None


SYSTEM = Cause("system")


# Statements built once: building Core constructs per call costs more than the query.
_NEXT = (
    update(counters)
    .where(counters.c.name == "work_item")
    .values(value=counters.c.value + 1)
    .returning(counters.c.value)
)
_SET_NUMBER = (
    update(counters).where(counters.c.name == "work_item").values(value=bindparam("value"))
)
_NEXTVAL = text("SELECT nextval('work_item_number')")
_BY_REFERENCE = select(work_items).where(work_items.c.reference == bindparam("ref"))
_BY_ID = select(work_items).where(work_items.c.id == bindparam("id"))
_REFERENCE_OF = select(work_items.c.reference).where(work_items.c.id == bindparam("id"))
_INSERT_EVENT = insert(item_events)
_INSERT_ITEM = insert(work_items).returning(*work_items.c)
_UPDATE_ITEM = (
    update(work_items).where(work_items.c.id == bindparam("_id")).returning(*work_items.c)
)


def next_number(conn: Connection) -> int:
    """Allocate the next Ticket number (Cases reuse their Ticket's number).

    PostgreSQL takes it from a sequence, which never waits for other transactions;
    SQLite has one writer at a time anyway and uses a counter row. Inside
    `deferred_writes` the numbers after the first are counted in memory and the
    row is written once, at the end: no other writer can take one meanwhile.
    """
    if conn.dialect.name == "postgresql":
        return int(conn.execute(_NEXTVAL).scalar_one())
    numbers: _Numbers | None = conn.info.get(_PENDING_NUMBERS)
    if numbers is not None and numbers.last:
        numbers.last += 1
        return numbers.last
    row = conn.execute(_NEXT).first()
    if row is None:
        conn.execute(insert(counters).values(name="work_item", value=FIRST_NUMBER))
        number = FIRST_NUMBER
    else:
        number = int(row[0])
    if numbers is not None:
        numbers.written = numbers.last = number
    return number


def find(conn: Connection, ref: Reference) -> Row[Any] | None:
    return conn.execute(_BY_REFERENCE, {"ref": str(ref)}).first()


def get(conn: Connection, ref: Reference | str) -> Row[Any]:
    text = str(ref)
    if isinstance(ref, str):
        try:
            text = str(Reference.parse(ref))
        except ValueError as exc:
            raise UserError(str(exc)) from exc
    row = conn.execute(_BY_REFERENCE, {"ref": text}).first()
    if row is None:
        raise NotFoundError(f"no work item {text}")
    return row


def by_id(conn: Connection, item_id: int) -> Row[Any]:
    row = conn.execute(_BY_ID, {"id": item_id}).first()
    if row is None:
        raise NotFoundError(f"no work item with id {item_id}")
    return row


def reference_of(conn: Connection, item_id: int | None) -> str | None:
    if item_id is None:
        return None
    return conn.execute(_REFERENCE_OF, {"id": item_id}).scalar_one_or_none()


def view(conn: Connection, row: Row[Any]) -> WorkItemView:
    case_ref = reference_of(conn, row.case_id)
    linked = reference_of(conn, row.linked_to_id)
    return WorkItemView(
        reference=Reference.parse(row.reference),
        state=State(row.state),
        queue=row.queue,
        context=row.context,
        category=row.category,
        owner=row.owner,
        assignee=row.assignee,
        case=Reference.parse(case_ref) if case_ref else None,
        linked_to=Reference.parse(linked) if linked else None,
    )


_PENDING_EVENTS = "postroom.pending_item_events"
_PENDING_NUMBERS = "postroom.pending_numbers"


@dataclass
class _Numbers:
    written: int = 0
    last: int = 0


@contextmanager
def deferred_writes(conn: Connection) -> Iterator[None]:
    """Writes nothing reads back before the commit, made once at the end of a batch of
    messages: the item events (one executemany) and, on SQLite, the Ticket counter (see
    `next_number`). A batch then need not pay one statement per event or Ticket."""
    events: list[dict[str, Any]] = []
    numbers = _Numbers()
    conn.info[_PENDING_EVENTS], conn.info[_PENDING_NUMBERS] = events, numbers
    try:
        yield
    finally:
        conn.info.pop(_PENDING_EVENTS, None)
        conn.info.pop(_PENDING_NUMBERS, None)
    if events:
        conn.execute(_INSERT_EVENT, events)
    if numbers.last != numbers.written:
        conn.execute(_SET_NUMBER, {"value": numbers.last})


def record(
    conn: Connection,
    item_id: int,
    field: str,
    old: object,
    new: object,
    cause: Cause,
    now: datetime,
) -> None:
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
    pending = conn.info.get(_PENDING_EVENTS)
    if pending is not None:
        pending.append(event)
    else:
        conn.execute(_INSERT_EVENT, event)


def create(
    conn: Connection,
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
    case_id: int | None = None,
    linked_to_id: int | None = None,
    owner: str | None = None,
    new_info: bool = False,
) -> Row[Any]:
    values = {
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
        "case_id": case_id,
        "linked_to_id": linked_to_id,
        "owner": owner,
        "assignee": None,
        "resolution": None,
        "new_info": new_info,
        "created_at": now,
        "updated_at": now,
        "resolved_at": None,
    }
    row = conn.execute(_INSERT_ITEM, values).one()
    record(conn, row.id, "created", None, state.value, cause, now)
    return row


def change(conn: Connection, row: Row[Any], now: datetime, cause: Cause, **values: Any) -> Row[Any]:
    """Apply ``values`` to the item, recording each field that really changes."""
    changed: dict[str, Any] = {}
    for name, new in values.items():
        old = getattr(row, name)
        if old != new:
            changed[name] = new
            if name not in ("new_info", "resolved_at", "updated_at"):
                record(conn, row.id, name, old, new, cause, now)
    if not changed:
        return row
    if changed.get("state") == State.RESOLVED.value:
        changed["resolved_at"] = now
    changed["updated_at"] = now
    return conn.execute(_UPDATE_ITEM, {"_id": row.id, **changed}).one()


def set_state(
    conn: Connection, row: Row[Any], state: State, now: datetime, cause: Cause
) -> Row[Any]:
    """Change state; a Ticket that launched a Case closes when its Case closes."""
    if state is State.RESOLVED and row.type == ItemType.ACTION.value:
        raise UserError("Actions have no Resolved state: use closed")
    resolution = row.resolution
    if state.active and row.state in (State.RESOLVED.value, State.CLOSED.value):
        resolution = None
    row = change(conn, row, now, cause, state=state.value, resolution=resolution)
    if row.type == ItemType.CASE.value and state is State.CLOSED:
        tickets = conn.execute(
            select(work_items).where(
                work_items.c.case_id == row.id, work_items.c.type == ItemType.TICKET.value
            )
        ).all()
        for ticket in tickets:
            if ticket.state != State.CLOSED.value:
                change(conn, ticket, now, cause, state=State.CLOSED.value)
    return row


def next_action_number(conn: Connection, case_id: int) -> int:
    top = conn.execute(
        select(func.max(work_items.c.action_no)).where(
            work_items.c.case_id == case_id, work_items.c.type == ItemType.ACTION.value
        )
    ).scalar()
    return int(top or 0) + 1
