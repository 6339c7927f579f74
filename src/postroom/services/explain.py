"""`explain`, a dry run: what a message would get, with the items it would touch.

Nothing is written: the decision is the handler's (`IngestService.explain`), and the
items are read as they are now.
"""

from __future__ import annotations

from dataclasses import dataclass

from postroom.domain.decision import Decision, NewTicket
from postroom.domain.mail import ParsedMail
from postroom.records.items import ItemRecord
from postroom.storage.unit import UnitOfWork


@dataclass(frozen=True, slots=True)
class Preview:
    """An item a dry run's decision would update (``item``; shown to-do when it would be
    requeued) or create (``ticket``)."""

    item: ItemRecord | None = None
    requeue: bool = False
    ticket: NewTicket | None = None


@dataclass(frozen=True, slots=True)
class Explanation:
    """`explain`: the parsed mail, why it counts as automatic mail (if it does), and the
    decision it would get with the items it would touch; nothing written."""

    mail: ParsedMail
    automatic: str | None
    decision: Decision
    preview: tuple[Preview, ...]


def preview(uow: UnitOfWork, decision: Decision) -> tuple[Preview, ...]:
    """The items a decision would update or create (a dry run)."""
    found: list[Preview] = []
    for upd in decision.updates:
        item = uow.items.find(upd.reference)
        if item is not None:
            found.append(Preview(item=item, requeue=upd.requeue))
    found.extend(Preview(ticket=ticket) for ticket in decision.new_tickets)
    return tuple(found)
