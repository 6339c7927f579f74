"""Ingest as a use case: typed results, the ledger's record of them, the batch's unit of
work (messages seen earlier in it, deferred item events) and quarantine, on SQLite in
memory."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from postroom.domain.decision import Outcome, Rule
from postroom.records.statuses import MessageStatus
from postroom.services.apply import Applier
from postroom.services.ingest import Arrival, IngestService
from postroom.services.ledger import decision_document, item_document
from postroom.storage.unit import Storage
from support.mails import make_mail
from unit.services.mail_fakes import NOW, ingest_service, routed_storage


@pytest.fixture
def storage(tmp_path: Path) -> Storage:
    return routed_storage(tmp_path)


@pytest.fixture
def service(storage: Storage) -> IngestService:
    return ingest_service(storage)


def test_a_new_mail_opens_a_ticket_and_the_ledger_records_the_decision(
    storage: Storage, service: IngestService
) -> None:
    result = service.ingest(make_mail(subject="invoice"))
    assert result.outcome is Outcome.NEW_TICKET and not result.already_stored
    assert result.decision is not None and result.decision.rule is Rule.N1
    [ticket] = result.items
    assert (ticket.state, ticket.queue, ticket.subject) == ("to-do", "billing", "invoice")
    expected = decision_document(result.decision, [item_document(ticket)], result.message_row)
    expected["trace"] = list(result.decision.trace)  # how it was decided, for message show
    assert result.recorded == expected
    with storage.reading() as uow:
        row = uow.messages.get(result.message_row)
        history = uow.items.history(ticket.id)
        [comm] = uow.communications.of_item(ticket.id)
    assert (row.status, row.rule, row.decision) == (MessageStatus.HANDLED, "N1", expected)
    assert [e.field for e in history] == ["created"]
    assert (comm.direction, comm.message_row_id, comm.status) == ("in", row.id, "received")


def test_a_batch_sees_its_earlier_messages_and_writes_their_events(
    storage: Storage, service: IngestService
) -> None:
    first = make_mail(subject="twice", message_id="<twice@customer.test>")
    other = make_mail(subject="once")
    results = service.ingest_batch([Arrival(first), Arrival(other), Arrival(first)])
    assert [r.outcome for r in results] == [Outcome.NEW_TICKET, Outcome.NEW_TICKET, "ignored"]
    copy = results[2].decision
    assert copy is not None and (copy.rule, copy.duplicate_of) == (Rule.D1, results[0].message_row)
    references = [r.items[0].reference for r in results[:2]]
    assert references == ["100001-T", "100002-T"]
    with storage.reading() as uow:
        events = [uow.items.history(r.items[0].id) for r in results[:2]]
        statuses = [uow.messages.get(r.message_row).status for r in results]
    assert [[e.field for e in h] for h in events] == [["created"], ["created"]]
    assert statuses == ["handled", "handled", "duplicate"]
    # The counter written once at the end of the batch goes on from there.
    assert service.ingest(make_mail(subject="later")).items[0].reference == "100003-T"


def test_a_channel_arrival_stored_again_is_known_with_its_recorded_decision(
    storage: Storage, service: IngestService
) -> None:
    with storage.writing() as uow:
        channel = uow.channels.add(now=NOW, name="box", url="pop3://127.0.0.1", enabled=True).id
    raw = make_mail()
    [first] = service.ingest_batch([Arrival(raw, channel, "uid-1")])
    [again] = service.ingest_batch([Arrival(raw, channel, "uid-1")])
    assert again.already_stored and again.message_row == first.message_row
    assert again.recorded == first.recorded
    assert again.outcome is Outcome.NEW_TICKET
    by_name = service.ingest(make_mail(subject="piped"), channel="box")
    with storage.reading() as uow:
        assert uow.messages.get(by_name.message_row).channel_id == channel


def test_a_failing_message_is_quarantined_and_its_batch_goes_on(
    storage: Storage, service: IngestService, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = Applier.apply

    def fragile(self: Applier, decision: Any, mail: Any, row: int) -> Any:
        if mail.subject == "poison":
            raise ValueError("cannot digest\nsecond line")
        return real(self, decision, mail, row)

    monkeypatch.setattr(Applier, "apply", fragile)
    results = service.ingest_batch(
        [Arrival(make_mail(subject="a")), Arrival(make_mail(subject="poison"))]
    )
    assert [r.outcome for r in results] == [Outcome.NEW_TICKET, Outcome.QUARANTINED]
    quarantined = results[1]
    assert quarantined.error is not None and "Traceback" in quarantined.error
    assert quarantined.recorded is not None
    assert quarantined.recorded["reason"] == "could not be handled: ValueError: cannot digest"
    with storage.reading() as uow:
        assert uow.messages.get(quarantined.message_row).status == "quarantined"
        assert uow.messages.get(results[0].message_row).status == "handled"


def test_explain_decides_and_writes_nothing(storage: Storage, service: IngestService) -> None:
    explained = service.explain(make_mail(subject="dry run"))
    assert explained.decision.outcome is Outcome.NEW_TICKET
    [preview] = explained.preview
    assert preview.item is None and preview.ticket is not None
    with storage.reading() as uow:
        assert uow.items.all() == []
        assert uow.messages.by_status(MessageStatus.HANDLED) == []
