"""Agents' changes to work items: state, owner, starting a Case, adding an Action."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine, select

from postroom.domain.workitems import ItemType, Reference, State
from postroom.errors import UserError
from postroom.services.present import communications_json, history_json, item_json
from postroom.storage import config, workitems
from postroom.storage.database import reading
from postroom.storage.tables import work_items
from postroom.storage.workitems import Cause


class ItemService:
    def __init__(self, engine: Engine, actor: str = "cli") -> None:
        self.engine = engine
        self.cause = Cause("user", actor=actor)

    def list(self, state: State | None, queue: str | None) -> list[dict[str, Any]]:
        q = select(work_items).order_by(work_items.c.id)
        if state is not None:
            q = q.where(work_items.c.state == state.value)
        if queue is not None:
            q = q.where(work_items.c.queue == queue)
        with reading(self.engine) as conn:
            # cli.md: the keys of `item show` but communications (so the history too).
            return [
                {**item_json(conn, r), "history": history_json(conn, r.id)} for r in conn.execute(q)
            ]

    def show(self, ref: str) -> dict[str, Any]:
        with reading(self.engine) as conn:
            row = workitems.get(conn, ref)
            data = item_json(conn, row)
            data["communications"] = communications_json(conn, row.id)
            data["history"] = history_json(conn, row.id)
            return data

    def set_state(self, ref: str, state: State, now: datetime) -> dict[str, Any]:
        with self.engine.begin() as conn:
            row = workitems.get(conn, ref)
            if row.type == ItemType.TICKET.value and row.case_id is not None and state.running:
                case = workitems.by_id(conn, row.case_id)
                if case.state != State.CLOSED.value:
                    raise UserError(
                        f"{row.reference} launched {case.reference}: it closes when the Case does"
                    )
            row = workitems.set_state(conn, row, state, now, self.cause)
            return item_json(conn, row)

    def set_owner(self, ref: str, user: str, now: datetime) -> dict[str, Any]:
        with self.engine.begin() as conn:
            config.get_user(conn, user)
            row = workitems.get(conn, ref)
            row = workitems.change(conn, row, now, self.cause, owner=user)
            return item_json(conn, row)

    def start_case(self, ref: str, now: datetime) -> str:
        with self.engine.begin() as conn:
            ticket = workitems.get(conn, ref)
            if ticket.type != ItemType.TICKET.value:
                raise UserError(f"{ticket.reference} is not a Ticket")
            if ticket.case_id is not None:
                raise UserError(f"{ticket.reference} has started a Case already")
            if ticket.state == State.CLOSED.value:
                raise UserError(f"{ticket.reference} is closed")
            case_ref = Reference(ticket.number, ItemType.CASE)
            case_id = workitems.create(
                conn,
                ref=case_ref,
                state=State.TODO,
                now=now,
                cause=self.cause,
                queue=ticket.queue,
                context=ticket.context,
                category=ticket.category,
                requester=ticket.requester,
                subject=ticket.subject,
            ).id
            ticket = workitems.change(
                conn,
                ticket,
                now,
                self.cause,
                state=State.WAITING.value,
                resolution="Case Launched",
                case_id=case_id,
            )
            return str(case_ref)

    def add_action(self, case_ref: str, queue: str | None, now: datetime) -> str:
        with self.engine.begin() as conn:
            case = workitems.get(conn, case_ref)
            if case.type != ItemType.CASE.value:
                raise UserError(f"{case.reference} is not a Case")
            if case.state == State.CLOSED.value:
                raise UserError(f"{case.reference} is closed")
            number = workitems.next_action_number(conn, case.id)
            ref = Reference(case.number, ItemType.ACTION, number)
            workitems.create(
                conn,
                ref=ref,
                state=State.TODO,
                now=now,
                cause=self.cause,
                queue=queue or case.queue,
                context=case.context,
                category=case.category,
                requester=case.requester,
                subject=case.subject,
                case_id=case.id,
            )
            return str(ref)

    def close_after_feedback(self, now: datetime, feedback: timedelta) -> int:
        """Resolved items whose feedback window has passed become Closed."""
        cutoff = now - feedback
        query = select(work_items).where(
            work_items.c.state == State.RESOLVED.value, work_items.c.resolved_at <= cutoff
        )
        with reading(self.engine) as conn:
            if conn.execute(query.limit(1)).first() is None:
                return 0  # the common case: no write lock taken
        with self.engine.begin() as conn:
            due = list(conn.execute(query))
            for row in due:
                workitems.set_state(
                    conn, row, State.CLOSED, now, Cause("system", note="feedback window over")
                )
            return len(due)
