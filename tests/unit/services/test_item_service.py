"""Agents' changes to work items as use cases: typed records back, every change in the
history with its cause, the Case rules; on SQLite in memory."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from postroom.domain.workitems import State
from postroom.errors import NotFoundError, UserError
from postroom.services.ingest import IngestService
from postroom.services.items import ItemService
from postroom.storage.unit import Storage
from support.mails import make_mail
from unit.services.mail_fakes import NOW, ingest_service, routed_storage


@pytest.fixture
def storage(tmp_path: Path) -> Storage:
    return routed_storage(tmp_path)


@pytest.fixture
def ingest(storage: Storage) -> IngestService:
    return ingest_service(storage)


def _ticket(ingest: IngestService) -> str:
    return ingest.ingest(make_mail()).items[0].reference


def test_a_ticket_starts_a_case_and_waits_for_it(storage: Storage, ingest: IngestService) -> None:
    items = ItemService(storage, actor="alice")
    ref = _ticket(ingest)
    case = items.start_case(ref, NOW)
    assert (case.reference, case.type, case.state, case.queue) == (
        "100001-C",
        "case",
        "to-do",
        "billing",
    )
    detail = items.show(ref)
    assert (detail.item.state, detail.item.resolution) == ("waiting", "Case Launched")
    assert detail.item.case_reference == "100001-C"
    assert [(e.field, e.new, e.actor) for e in detail.history][-3:] == [
        ("state", "waiting", "alice"),
        ("resolution", "Case Launched", "alice"),
        ("case_id", str(case.id), "alice"),
    ]
    assert detail.communications is not None and len(detail.communications) == 1
    with pytest.raises(UserError, match="has started a Case already"):
        items.start_case(ref, NOW)
    with pytest.raises(UserError, match="closes when the Case does"):
        items.set_state(ref, State.IN_PROGRESS, NOW)


def test_an_action_belongs_to_its_case_and_closing_the_case_closes_the_ticket(
    storage: Storage, ingest: IngestService
) -> None:
    items = ItemService(storage)
    ref = _ticket(ingest)
    case = items.start_case(ref, NOW)
    action = items.add_action(case.reference, None, NOW)
    assert (action.reference, action.case_reference, action.queue) == (
        "100001-C-A1",
        "100001-C",
        "billing",
    )
    assert items.add_action(case.reference, "field", NOW).reference == "100001-C-A2"
    with pytest.raises(UserError, match="not a Case"):
        items.add_action(ref, None, NOW)
    items.set_state(case.reference, State.CLOSED, NOW)
    assert items.show(ref).item.state == "closed"


def test_owner_must_be_a_user_and_resolved_items_close_after_feedback(
    storage: Storage, ingest: IngestService
) -> None:
    items = ItemService(storage)
    ref = _ticket(ingest)
    with pytest.raises(NotFoundError):
        items.set_owner(ref, "nobody", NOW)
    with storage.writing() as uow:
        uow.config.add_user("bob", None, "agent", NOW)
    assert items.set_owner(ref, "bob", NOW).owner == "bob"
    assert items.set_state(ref, State.RESOLVED, NOW).resolved_at == NOW
    assert items.close_after_feedback(NOW + timedelta(days=1), timedelta(days=2)) == 0
    assert items.close_after_feedback(NOW + timedelta(days=3), timedelta(days=2)) == 1
    [listed] = items.list(State.CLOSED, None)
    assert listed.item.reference == ref and listed.communications is None
    assert listed.history[-1].cause == "system"
