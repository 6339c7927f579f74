"""The ledger's totals the overview reads at every dashboard load and `/metrics` scrape:
by status and rule, and by channel from an index alone (SQLite and PostgreSQL)."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import event, update

from postroom.bootstrap import App
from postroom.clock import utcnow
from postroom.storage.tables import messages
from support.mails import make_mail

pytestmark = pytest.mark.usefixtures("postroom_env")


def test_totals_by_status_rule_and_channel_read_no_row_by_channel() -> None:
    app = App()
    now = utcnow()
    with app.storage.writing() as uow:
        uow.channels.add(name="one", url="pop3s://a@mail.example", now=now)
        uow.channels.add(name="two", url="imaps://b@mail.example", now=now)
    for n in range(3):
        app.ingest.ingest(make_mail(subject=f"one {n}"), channel="one")
    app.ingest.ingest(make_mail(subject="two"), channel="two")
    app.ingest.ingest(make_mail(subject="no channel"))
    with app.engine.begin() as conn:  # one of channel one's is handled by R2, one quarantined
        ids = [row[0] for row in conn.execute(messages.select().order_by(messages.c.id))]
        conn.execute(update(messages).values(status="stored", rule=None))
        conn.execute(
            update(messages).where(messages.c.id == ids[0]).values(status="handled", rule="R2")
        )
        conn.execute(update(messages).where(messages.c.id == ids[1]).values(status="quarantined"))
    ran: list[tuple[str, Any]] = []

    def record(*args: Any) -> None:
        ran.append((args[2], args[3]))

    event.listen(app.engine, "before_cursor_execute", record)
    try:
        overview = app.overview.overview()
    finally:
        event.remove(app.engine, "before_cursor_execute", record)
    totals = {c.name: c.messages_total for c in overview.channels}
    assert totals == {"one": 3, "two": 1}
    assert sum(overview.messages.values()) == 5
    assert (overview.messages["handled"], overview.quarantined) == (1, 1)
    assert (overview.messages["stored"], overview.handled_by_rule) == (3, {"R2": 1})
    if app.engine.dialect.name == "sqlite":  # by channel: an index's entries, not the rows
        grouped = [(s, p) for s, p in ran if "FROM messages GROUP BY messages.channel_id" in s]
        assert grouped, [s for s, _ in ran if "FROM messages" in s]
        for statement, params in grouped:
            with app.engine.connect() as conn:
                plan = str(conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", params).all())
            assert "COVERING INDEX" in plan, plan
    app.engine.dispose()
