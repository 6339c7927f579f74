"""Finding work items: by state, queue and type, and by words (``q``) in the reference,
the subject or the requester's address, oldest first.

``q`` is matched as a plain substring, case-folded (no pattern: it comes from a request):
at most `MAX_QUERY` characters. Histories are read for the page asked for only.
"""

from __future__ import annotations

from collections.abc import Sequence

from postroom.domain.workitems import ItemType, State
from postroom.errors import UserError
from postroom.records.items import ItemRecord
from postroom.services.items import ItemDetail
from postroom.storage.unit import Storage

MAX_QUERY = 200


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

    def details(self, items: Sequence[ItemRecord]) -> list[ItemDetail]:
        """Each item with its history (`item list --json`), in one reading unit."""
        with self.storage.reading() as uow:
            return [ItemDetail(item, uow.items.history(item.id)) for item in items]


def _haystack(item: ItemRecord) -> str:
    return "\n".join((item.reference, item.subject or "", item.requester or "")).casefold()
