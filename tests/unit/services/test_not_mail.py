"""Bytes that are not mail (empty, random, a program) are quarantined with that reason,
alone or in a batch beside real mail, and a quarantine retry keeps them there: never a
Ticket."""

from __future__ import annotations

import random
import sys
from pathlib import Path

import pytest

from postroom.domain.decision import Outcome
from postroom.mime import parse
from postroom.records.statuses import MessageStatus
from postroom.services.ingest import Arrival, IngestService
from postroom.services.not_mail import REASON, not_mail
from postroom.storage.unit import Storage
from support.mails import make_mail
from unit.services.mail_fakes import ingest_service, routed_storage

NOT_MAIL = {
    "empty": b"",
    "random": random.Random(13).randbytes(4096),
    "binary": Path(sys.executable).read_bytes()[:65536],
    "text": b"just a line of text\nand another\n",
}


@pytest.fixture
def storage(tmp_path: Path) -> Storage:
    return routed_storage(tmp_path)


@pytest.fixture
def service(storage: Storage) -> IngestService:
    return ingest_service(storage)


@pytest.mark.parametrize("name", sorted(NOT_MAIL))
def test_bytes_that_are_not_mail_are_quarantined_with_the_reason(
    storage: Storage, service: IngestService, name: str
) -> None:
    result = service.ingest(NOT_MAIL[name])
    assert result.outcome is Outcome.QUARANTINED and result.items == ()
    assert result.error == REASON  # classified: no traceback
    assert result.recorded is not None
    assert result.recorded["reason"] == f"could not be handled: {REASON}"
    with storage.reading() as uow:
        row = uow.messages.get(result.message_row)
        assert uow.items.all() == []
    assert (row.status, row.error) == (MessageStatus.QUARANTINED.value, REASON)


def test_in_a_batch_only_the_bytes_that_are_not_mail_are_quarantined(
    storage: Storage, service: IngestService
) -> None:
    mail = make_mail(subject="a real one")
    results = service.ingest_batch([Arrival(NOT_MAIL["random"]), Arrival(mail)])
    assert [r.outcome for r in results] == [Outcome.QUARANTINED, Outcome.NEW_TICKET]
    assert results[0].error == REASON


def test_a_retry_keeps_them_in_quarantine(storage: Storage, service: IngestService) -> None:
    row = service.ingest(NOT_MAIL["empty"]).message_row
    again = service.handle_stored(row)
    assert again.outcome is Outcome.QUARANTINED and again.error == REASON
    with storage.reading() as uow:
        assert uow.messages.get(row).status == MessageStatus.QUARANTINED
        assert uow.items.all() == []


def test_a_header_alone_is_mail() -> None:
    assert not_mail(parse(b"")) and not_mail(parse(NOT_MAIL["random"]))
    assert not not_mail(parse(b"Subject: hello\n\nbody\n"))
    assert not not_mail(parse(b"To: help@example.test\n\nbody\n"))


def test_explain_says_they_would_be_quarantined(service: IngestService) -> None:
    explained = service.explain(NOT_MAIL["random"])
    assert explained.decision.outcome is Outcome.QUARANTINED
    assert explained.decision.reason == REASON and explained.preview == ()
