"""The sender decides how many ids and references a message names: the handler looks up at
most `MAX_LOOKUPS` of each kind in storage, the newest thread ids first."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime

import pytest

from postroom.domain.handler import decide
from postroom.domain.mail import Address, ParsedMail
from postroom.domain.matching import MAX_LOOKUPS
from postroom.domain.ports import HandlerSettings
from postroom.domain.routes import Route
from postroom.domain.workitems import Reference, WorkItemView
from unit.domain.fakes import InMemoryHandlerContext

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
SUPPORT = Route("support@example.com", "Acme", "Query", "support")
MAIL = ParsedMail(
    from_=Address("alice@customer.example"),
    to=(Address("support@example.com"),),
    message_id="<m1@customer.example>",
    content_hash="h1",
)


class CountingContext(InMemoryHandlerContext):
    def __init__(self) -> None:
        super().__init__()
        self.lookups = 0

    def items_by_message_id(self, message_id: str) -> Sequence[WorkItemView]:
        self.lookups += 1
        return super().items_by_message_id(message_id)

    def item(self, reference: Reference) -> WorkItemView | None:
        self.lookups += 1
        return super().item(reference)


@pytest.mark.parametrize(
    "mail",
    [
        replace(MAIL, references=tuple(f"<r{i}@x.example>" for i in range(100_000))),
        replace(MAIL, subject=" ".join(f"{100001 + i}-T" for i in range(20_000))),
        replace(
            MAIL, to=tuple(Address(f"support+{100001 + i}-T@example.com") for i in range(20_000))
        ),
    ],
    ids=["references", "subject", "plus-addresses"],
)
def test_each_strategy_looks_up_at_most_max_lookups(mail: ParsedMail) -> None:
    ctx = CountingContext().with_route(SUPPORT)
    assert isinstance(ctx, CountingContext)
    decide(mail, ctx, HandlerSettings(), NOW)
    assert 0 < ctx.lookups <= 4 * MAX_LOOKUPS


def test_the_newest_thread_ids_are_the_ones_looked_up() -> None:
    ids = tuple(f"<r{i}@x.example>" for i in range(5_000))
    ctx = CountingContext().with_route(SUPPORT)
    seen: list[str] = []
    original = ctx.items_by_message_id

    def spy(message_id: str) -> Sequence[WorkItemView]:
        seen.append(message_id)
        return original(message_id)

    ctx.items_by_message_id = spy  # type: ignore[method-assign]
    decide(
        replace(MAIL, references=ids, in_reply_to="<parent@x.example>"), ctx, HandlerSettings(), NOW
    )
    assert seen[0] == "<parent@x.example>"
    assert seen[1] == "<r4999@x.example>"
    assert len(seen) == MAX_LOOKUPS


@pytest.mark.parametrize(
    "mail",
    [
        replace(MAIL, references=tuple(f"<r{i}@x.example>" for i in range(100_000))),
        replace(MAIL, subject=" ".join(f"{100001 + i}-T" for i in range(20_000))),
        replace(
            MAIL, to=tuple(Address(f"support+{100001 + i}-T@example.com") for i in range(20_000))
        ),
        replace(
            MAIL, to=tuple(Address(f"desk+{100001 + i}-T@other.example") for i in range(20_000))
        ),
    ],
    ids=["references", "subject", "plus-addresses", "foreign-plus-addresses"],
)
def test_the_stored_trace_stays_short(mail: ParsedMail) -> None:
    d = decide(mail, InMemoryHandlerContext().with_route(SUPPORT), HandlerSettings(), NOW)
    assert len(d.trace) <= 4 * MAX_LOOKUPS
