"""A batch is handled as if its messages came one after the other (SQLite and PostgreSQL): a
copy later in the batch is a duplicate of the first, a reply later in the batch is filed on
the Ticket the first one opened, and the ledger rows end up complete."""

from __future__ import annotations

import logging

import pytest

from postroom.bootstrap import App
from postroom.clock import utcnow
from postroom.domain.routes import Route
from postroom.render.mail import decision_json
from postroom.services.ingest import Arrival
from postroom.storage.config import ConfigRepository
from support.mails import make_mail

pytestmark = pytest.mark.usefixtures("postroom_env")


def _app(caplog: pytest.LogCaptureFixture | None = None) -> App:
    if caplog is not None:  # a failed batch says "handling one by one" at INFO
        caplog.set_level(logging.INFO, logger="postroom.services.ingest")
    app = App()
    with app.engine.begin() as conn:
        ConfigRepository(conn).add_route(Route("support@example.com", "A", "B", "q"), utcnow())
    return app


def _without_message_id(raw: bytes) -> bytes:
    return b"".join(line for line in raw.splitlines(keepends=True) if b"Message-ID" not in line)


def test_a_copy_later_in_the_batch_is_a_duplicate_of_the_first(
    caplog: pytest.LogCaptureFixture,
) -> None:
    app = _app(caplog)
    first = make_mail(subject="one", message_id="<batch-a@customer.test>")
    other = make_mail(subject="two")
    no_id = _without_message_id(make_mail(subject="three", body="no id\n"))
    results = app.ingest.ingest_batch(
        [Arrival(first), Arrival(other), Arrival(first), Arrival(no_id), Arrival(no_id)]
    )
    rules = [decision_json(r)["rule"] for r in results]
    assert rules == ["N1", "N1", "D1", "N1", "D1"]
    # ... seen in the batch itself, not by a failed commit and a retry one by one
    assert "one by one" not in caplog.text
    assert decision_json(results[2])["duplicate_of"] == results[0].message_row
    assert decision_json(results[4])["duplicate_of"] == results[3].message_row
    # A copy in a later batch points at the same first row (read from the database now).
    [again] = app.ingest.ingest_batch([Arrival(first)])
    assert decision_json(again)["duplicate_of"] == results[0].message_row


def test_a_reply_later_in_the_batch_is_filed_on_the_ticket_the_first_opened(
    caplog: pytest.LogCaptureFixture,
) -> None:
    app = _app(caplog)
    question = make_mail(subject="printer", message_id="<q1@customer.test>")
    follow_up = make_mail(
        subject="Re: printer", in_reply_to="<q1@customer.test>", body="also the scanner\n"
    )
    opened, filed = app.ingest.ingest_batch([Arrival(question), Arrival(follow_up)])
    [ticket] = decision_json(opened)["work_items"]
    assert decision_json(filed)["outcome"] != "new_ticket", decision_json(filed)
    assert [w["reference"] for w in decision_json(filed)["work_items"]] == [ticket["reference"]]
    assert "one by one" not in caplog.text


def test_the_ledger_rows_of_a_batch_carry_their_message_id_and_content_hash() -> None:
    app = _app()
    raws = [make_mail(subject=f"s{i}", message_id=f"<ledger{i}@customer.test>") for i in range(3)]
    results = app.ingest.ingest_batch([Arrival(r, None, None) for r in raws])
    with app.storage.reading() as uow:
        rows = [uow.messages.get(r.message_row) for r in results]
    assert [row.message_id for row in rows] == [f"<ledger{i}@customer.test>" for i in range(3)]
    assert all(row.content_hash for row in rows)
    assert [row.status for row in rows] == ["handled"] * 3


def test_ticket_numbers_of_a_batch_follow_on_and_the_next_one_follows_them() -> None:
    app = _app()
    batch = [Arrival(make_mail(subject=f"n{i}")) for i in range(3)]
    refs = [decision_json(r)["work_items"][0]["reference"] for r in app.ingest.ingest_batch(batch)]
    later = app.ingest.ingest(make_mail(subject="alone"))
    refs.append(decision_json(later)["work_items"][0]["reference"])
    numbers = [int("".join(ch for ch in ref if ch.isdigit())) for ref in refs]
    assert numbers == list(range(numbers[0], numbers[0] + 4)), refs
