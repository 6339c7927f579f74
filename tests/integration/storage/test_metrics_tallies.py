"""What `/metrics` reads, as stored (SQLite and PostgreSQL): poll and handling durations
as cumulative tallies written with one statement per poll and per batch, and the
overview's own narrow reads (its channel columns, messages today from an index)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from sqlalchemy import event, inspect

from postroom.bootstrap import App
from postroom.clock import utcnow
from postroom.domain.routes import Route
from postroom.net.connection import FailureClass
from postroom.services.duration_tally import poll_outcome, tally_poll
from postroom.services.ingest import Arrival
from postroom.services.poll_report import ChannelReport
from postroom.storage.config import ConfigRepository
from postroom.storage.metrics import HANDLING_BOUNDS, POLL_BOUNDS
from support.mails import make_mail

pytestmark = pytest.mark.usefixtures("postroom_env")


@contextmanager
def _statements(app: App, ran: list[tuple[str, Any]] | None = None) -> Iterator[list[str]]:
    """Every SQL statement the app's engine runs meanwhile (and in ``ran`` with its
    parameters)."""
    seen: list[str] = []

    def record(*args: Any) -> None:
        seen.append(args[2])
        if ran is not None:
            ran.append((args[2], args[3]))

    event.listen(app.engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(app.engine, "before_cursor_execute", record)


def _report(channel: str, seconds: float, **fields: Any) -> ChannelReport:
    report = ChannelReport(channel, **fields)
    report.seconds = seconds
    return report


def test_polls_add_up_by_channel_and_outcome_with_one_statement_each() -> None:
    app = App()
    now = utcnow()
    with app.storage.writing() as uow:
        uow.channels.add(name="inbox", url="pop3s://a@mail.example", now=now)
        uow.channels.add(name="gone", url="pop3s://b@mail.example", now=now)
    failed = _report("inbox", 0.5)  # on a bound: counted in that bound's bucket (le)
    failed.failed(FailureClass.AUTHENTICATION, "-ERR bad password")
    with _statements(app) as seen:
        tally_poll(app.storage, _report("inbox", 0.04, fetched=2, handled=2))
    assert sum("poll_tallies" in s for s in seen) == 1
    tally_poll(app.storage, _report("inbox", 0.2))
    tally_poll(app.storage, _report("inbox", 0.3))
    tally_poll(app.storage, failed)
    tally_poll(app.storage, _report("gone", 500.0, deleted_known=1))  # past every bound
    tally_poll(app.storage, _report("inbox", 9.0, skipped="another poller holds this channel"))
    activity = app.overview.activity()
    assert activity.polls == {
        ("gone", "ok"): 1,
        ("inbox", "authentication"): 1,
        ("inbox", "idle"): 2,
        ("inbox", "ok"): 1,
    }
    hist = activity.poll_seconds
    assert hist.bounds == POLL_BOUNDS and hist.count == 5 == hist.buckets[-1]
    assert hist.seconds == pytest.approx(0.04 + 0.2 + 0.3 + 0.5 + 500.0)
    cumulative = dict(zip((*POLL_BOUNDS, float("inf")), hist.buckets, strict=True))
    assert (cumulative[0.05], cumulative[0.25], cumulative[0.5], cumulative[120.0]) == (1, 2, 4, 4)
    # A channel removed: its counter goes (its name is no series any more), the histogram
    # of every poll keeps it (it never goes down).
    with app.storage.writing() as uow:
        uow.channels.remove("gone")
    after = app.overview.activity()
    assert ("gone", "ok") not in after.polls and after.poll_seconds == hist
    app.engine.dispose()


def test_outcomes_name_what_a_poll_did() -> None:
    assert poll_outcome(ChannelReport("a")) == "idle"
    assert poll_outcome(ChannelReport("a", fetched=1)) == "ok"
    assert poll_outcome(ChannelReport("a", left_too_large=["too large"])) == "ok"
    timeout = ChannelReport("a", fetched=3)
    timeout.failed(FailureClass.TIMEOUT, "timed out")
    assert poll_outcome(timeout) == "timeout"


def test_a_batch_writes_its_handling_times_with_its_commit_in_one_statement() -> None:
    app = App()
    with app.engine.begin() as conn:
        ConfigRepository(conn).add_route(Route("support@example.com", "A", "B", "q"), utcnow())
    mails = [Arrival(make_mail(subject=f"n{i}", message_id=f"<h{i}@c.test>")) for i in range(3)]
    with _statements(app) as seen:
        app.ingest.ingest_batch(mails)
    assert sum("handling_tallies" in s for s in seen) == 1
    # A batch with a message that fails is handled one by one: still one statement.
    broken = Arrival(b"\xff\xfe not a message at all")
    with _statements(app) as seen:
        app.ingest.ingest_batch([Arrival(make_mail(subject="n9")), broken])
    assert sum("handling_tallies" in s for s in seen) == 1
    hist = app.overview.activity().handling_seconds
    assert hist.bounds == HANDLING_BOUNDS
    assert hist.count == 5 == hist.buckets[-1] and hist.seconds > 0
    assert list(hist.buckets) == sorted(hist.buckets)
    app.engine.dispose()


def test_the_overview_reads_its_columns_and_today_from_an_index() -> None:
    app = App()
    now = utcnow()
    passed = {"ok": True, "steps": [{"name": "dns", "ok": True, "hint": None}]}
    failed = {"ok": False, "steps": [{"name": "auth", "ok": False, "hint": "check the password"}]}
    with app.storage.writing() as uow:
        good = uow.channels.add(name="good", url="pop3s://a@mail.example", now=now)
        bad = uow.channels.add(name="bad", url="imaps://b@mail.example", now=now)
        uow.channels.record_check(good.id, passed, None, now)
        uow.channels.record_check(bad.id, failed, ("authentication", "refused"), now)
    app.ingest.ingest(make_mail(subject="today"), channel="good")
    ran: list[tuple[str, Any]] = []
    with _statements(app, ran) as seen:
        overview = app.overview.overview()
    channel_reads = [s for s in seen if "FROM channels" in s]
    assert channel_reads and not any("password_enc" in s for s in channel_reads)
    with app.storage.reading() as uow:
        states = {s.name: s for s in uow.tallies.channel_states()}
    assert states["good"].failed_check is None and states["bad"].failed_check == failed
    health = {c.name: c for c in overview.channels}
    assert health["bad"].hint == "check the password" and health["good"].hint is None
    assert (health["good"].messages_today, health["good"].protocol) == (1, "pop3s")
    # messages today: a range of ix_messages_received_at, not a scan of the table
    indexes = {i["name"]: i["column_names"] for i in inspect(app.engine).get_indexes("messages")}
    assert indexes["ix_messages_received_at"] == ["received_at", "channel_id"]
    if app.engine.dialect.name == "sqlite":  # the overview's own statement, as it ran
        [(today, params)] = [(s, p) for s, p in ran if "received_at >=" in s]
        with app.engine.connect() as conn:
            plan = conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {today}", params).all()
        assert "SEARCH messages USING COVERING INDEX ix_messages_received_at" in str(plan)
    app.engine.dispose()
