"""When handling a message fails, its quarantine reason is the real cause in one line (issue
10, item 5): the database's own message, not SQLAlchemy's "Background on this error" link,
and never the values that were bound (SQLite and PostgreSQL)."""

from __future__ import annotations

import os
import random
import string
from datetime import datetime
from typing import Any

import pytest
from sqlalchemy import insert

from postroom.bootstrap import App
from postroom.domain.routes import Route
from postroom.render.mail import decision_json
from postroom.services.apply import Applier
from postroom.storage.config import ConfigRepository
from postroom.storage.tables import work_items
from support.mails import make_mail

pytestmark = pytest.mark.usefixtures("postroom_env")

NOW = datetime(2026, 11, 3, 10, 0)


def _secret() -> str:
    rnd = random.Random(int.from_bytes(os.urandom(4), "big"))
    return "secret-" + "".join(rnd.choices(string.ascii_letters, k=24))


def _app() -> App:
    app = App()
    with app.engine.begin() as conn:
        ConfigRepository(conn).add_route(Route("support@example.com", "A", "B", "q"), NOW)
    return app


def _assert_one_plain_line(reason: str, secret: str) -> None:
    assert reason.startswith("could not be handled: ")
    assert "\n" not in reason
    for noise in ("sqlalche.me", "Background on this error", "[SQL", "Traceback", secret):
        assert noise not in reason


def _failing_insert(secret: str) -> Any:
    def apply(self: Applier, *_args: Any) -> list[Any]:
        # A Ticket without a reference: NOT NULL fails on both engines, with a bound value
        # (and, on PostgreSQL, a DETAIL line quoting the row) that must not be repeated.
        self.uow.conn.execute(
            insert(work_items).values(
                reference=None,
                number=1,
                type="ticket",
                state="to-do",
                subject=secret,
                new_info=False,
                created_at=NOW,
                updated_at=NOW,
            )
        )
        return []

    return apply


def test_a_database_error_is_quarantined_with_its_own_message(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    app = _app()
    secret = _secret()
    monkeypatch.setattr(Applier, "apply", _failing_insert(secret))
    result = app.ingest.ingest(make_mail())
    assert result.outcome == "quarantined"
    reason = decision_json(result)["reason"]
    _assert_one_plain_line(reason, secret)
    assert "IntegrityError" in reason or "NotNullViolation" in reason, reason
    assert "reference" in reason, reason  # the column named by the database
    with app.storage.reading() as uow:
        row = uow.messages.get(result.message_row)
    assert row.status == "quarantined"
    assert row.decision is not None and row.decision["reason"] == reason
    assert (
        row.error is not None and "Traceback" in row.error
    )  # the whole story stays with the message


def test_another_error_is_quarantined_with_its_first_line(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    app = _app()
    secret = _secret()
    first = "".join(random.choices(string.ascii_letters, k=20))

    def apply(self: Applier, *_args: Any) -> list[Any]:
        raise ValueError(f"{first}\n{secret}")

    monkeypatch.setattr(Applier, "apply", apply)
    result = app.ingest.ingest(make_mail())
    assert decision_json(result)["reason"] == f"could not be handled: ValueError: {first}"
    # A retry that fails again says why in the same way.
    again = app.ingest.handle_stored(result.message_row)
    assert decision_json(again)["reason"] == f"could not be handled: ValueError: {first}"


def test_a_retry_failing_in_the_database_says_why(monkeypatch: pytest.MonkeyPatch) -> None:
    app = _app()
    secret = _secret()
    monkeypatch.setattr(Applier, "apply", _failing_insert(secret))
    result = app.ingest.ingest(make_mail())
    again = app.ingest.handle_stored(result.message_row)
    _assert_one_plain_line(decision_json(again)["reason"], secret)
    assert "reference" in decision_json(again)["reason"]
