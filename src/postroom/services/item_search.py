"""Finding work items: by state, queue and type, and by words (``q``) in the reference,
the subject or the requester's address, oldest first.

``q`` is matched as a plain substring, case-folded (no pattern: it comes from a request):
at most `MAX_QUERY` characters. A page (`ItemSearch.page`) is read from the database as
a page: the items from an id on, at most as many as asked for and one more (to tell
whether another page follows), and their histories in one statement.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from itertools import islice

from postroom.domain.workitems import ItemType, State
from postroom.errors import UserError
from postroom.records.items import ItemRecord
from postroom.services.items import ItemDetail
from postroom.storage.unit import Storage

MAX_QUERY = 200


@dataclass(frozen=True, slots=True)
class ItemPage:
    """Up to the number of items asked for, oldest first, each with its history; ``more``:
    another item matches after the last of them."""

    details: list[ItemDetail]
    more: bool


class ItemSearch:
    def __init__(self, storage: Storage) -> None:
        self.storage = storage

    def find(
        self,
        state: State | None = None,
        queue: str | None = None,
        type: ItemType | None = None,
        q: str | None = None,
    ) -> list[ItemRecord]:
        """The items that match every filter given, oldest first."""
        if q is not None and len(q) > MAX_QUERY:
            raise UserError(f"q is longer than {MAX_QUERY} characters")
        with self.storage.reading() as uow:
            items = uow.items.all(state, queue)
        if type is not None:
            items = [i for i in items if i.type == type.value]
        words = (q or "").strip().casefold()
        if words:
            items = [i for i in items if words in _haystack(i)]
        return items

    def page(
        self,
        state: State | None = None,
        queue: str | None = None,
        type: ItemType | None = None,
        q: str | None = None,
        *,
        from_id: int = 0,
        limit: int,
    ) -> ItemPage:
        """The first ``limit`` items with an id of at least ``from_id`` that `find` would
        give, with their histories, in one reading unit. Without ``q`` the database
        chooses them (one statement for the items, one for their histories); with it,
        items are read in chunks until ``limit`` + 1 have matched."""
        if q is not None and len(q) > MAX_QUERY:
            raise UserError(f"q is longer than {MAX_QUERY} characters")
        words = (q or "").strip().casefold()
        with self.storage.reading() as uow:
            if words:
                found = uow.items.scanned(state, queue, type, from_id)
                items = list(islice((i for i in found if words in _haystack(i)), limit + 1))
            else:
                items = uow.items.listed(state, queue, type, from_id, limit + 1)
            chosen = items[:limit]
            histories = uow.items.histories([i.id for i in chosen])
        return ItemPage([ItemDetail(i, histories[i.id]) for i in chosen], len(items) > limit)

    def details(self, items: Sequence[ItemRecord]) -> list[ItemDetail]:
        """Each item with its history (`item list --json`), in one reading unit."""
        with self.storage.reading() as uow:
            histories = uow.items.histories([item.id for item in items])
        return [ItemDetail(item, histories[item.id]) for item in items]


def _haystack(item: ItemRecord) -> str:
    return "\n".join((item.reference, item.subject or "", item.requester or "")).casefold()
