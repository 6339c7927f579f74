"""The quarantine as use cases: listing, and a retry only of what is in it; on SQLite in
memory."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from postroom.domain.decision import Outcome
from postroom.errors import UserError
from postroom.services.apply import Applier
from postroom.services.quarantine import QuarantineService
from postroom.storage.unit import Storage
from support.mails import make_mail
from unit.services.mail_fakes import ingest_service, routed_storage


@pytest.fixture
def storage(tmp_path: Path) -> Storage:
    return routed_storage(tmp_path)


def test_a_quarantined_message_is_listed_and_handled_again(
    storage: Storage, monkeypatch: pytest.MonkeyPatch
) -> None:
    ingest = ingest_service(storage)
    quarantine = QuarantineService(storage, ingest)
    real = Applier.apply

    def broken(*_args: Any) -> Any:
        raise RuntimeError("handler exploded")

    monkeypatch.setattr(Applier, "apply", broken)
    failed = ingest.ingest(make_mail())
    [listed] = quarantine.quarantined()
    assert listed.id == failed.message_row and listed.attempts == 1
    assert listed.error is not None and listed.error.endswith("RuntimeError: handler exploded")
    assert quarantine.unhandled() == []
    again = quarantine.retry(failed.message_row)
    assert again.outcome is Outcome.QUARANTINED
    assert quarantine.quarantined()[0].attempts == 2
    monkeypatch.setattr(Applier, "apply", real)
    handled = quarantine.retry(failed.message_row)
    assert handled.outcome is Outcome.NEW_TICKET and handled.message_row == failed.message_row
    assert quarantine.quarantined() == []
    with pytest.raises(UserError, match="is not in quarantine"):
        quarantine.retry(failed.message_row)


def test_a_retry_of_a_message_another_retry_handled_files_it_no_more(
    storage: Storage, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two retries of one message (two operators at once): the one that comes second finds
    it handled, and neither opens a second Ticket nor puts the message back in quarantine."""
    ingest = ingest_service(storage)
    real = Applier.apply

    def broken(*_args: Any) -> Any:
        raise RuntimeError("handler exploded")

    monkeypatch.setattr(Applier, "apply", broken)
    failed = ingest.ingest(make_mail())
    monkeypatch.setattr(Applier, "apply", real)
    first = ingest.handle_stored(failed.message_row)
    second = ingest.handle_stored(failed.message_row)
    assert first.outcome is Outcome.NEW_TICKET
    assert second.already_stored and second.recorded == first.recorded
    with storage.reading() as uow:
        assert len(uow.items.all()) == 1
        assert uow.messages.get(failed.message_row).status == "handled"


def test_unhandled_mail_is_handled_again_once_a_route_covers_its_address(
    storage: Storage,
) -> None:
    """Policy ``unhandled``: mail to an address without a route waits (rule N3); once an
    admin adds the route, a retry opens the Ticket that address's route says, recorded as
    asked by the person; a second retry finds nothing to do."""
    from dataclasses import replace

    from postroom.domain.ports import HandlerSettings, UnroutedPolicy
    from postroom.domain.routes import Route
    from postroom.services.ingest import IngestService
    from unit.services.mail_fakes import NOW, SENDER

    settings = replace(HandlerSettings(), unrouted_policy=UnroutedPolicy.UNHANDLED)
    ingest = IngestService(storage, settings, SENDER, clock=lambda: NOW)
    quarantine = QuarantineService(storage, ingest)
    waiting = ingest.ingest(make_mail(to="sales@example.com"))
    assert waiting.outcome is Outcome.UNHANDLED
    [listed] = quarantine.unhandled()
    still = quarantine.retry_unhandled(listed.id, actor="ada")
    assert still.outcome is Outcome.UNHANDLED and not still.items  # no route yet
    with storage.writing() as uow:
        uow.config.add_route(Route("sales@example.com", "Acme", "Sales", "sales"), NOW)
    handled = quarantine.retry_unhandled(listed.id, actor="ada")
    assert handled.outcome is Outcome.NEW_TICKET and handled.message_row == listed.id
    assert quarantine.unhandled() == []
    with storage.reading() as uow:
        [item] = uow.items.all()
        assert item.queue == "sales"
        history = uow.items.history(item.id)
    assert any(e.actor == "ada" and "unhandled" in (e.note or "") for e in history)
    with pytest.raises(UserError, match="is not unhandled"):
        quarantine.retry_unhandled(listed.id)
    with pytest.raises(UserError, match="is not in quarantine"):
        quarantine.retry(listed.id)
