"""What each SMTP server sent today (the UTC day), from the outbox's stored outcomes: the
overview, `postroom status --json` and its text (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import event, update

from e2e.cli import Shell
from postroom.bootstrap import App
from postroom.clock import utcnow
from postroom.services.overview import OverviewService
from postroom.storage.tables import outbox

pytestmark = pytest.mark.usefixtures("postroom_env")


def _outcome(app: App, n: int, status: str, server: str | None, sent_at: datetime | None) -> None:
    """One outbox row as the sender leaves it: its status, the server that took it."""
    with app.storage.writing() as uow:
        row = uow.outbox.enqueue(
            kind="reply",
            work_item_id=None,
            sender="support@example.test",
            recipients=["carol@customer.test"],
            subject=f"message {n}",
            message_id=f"<m{n}@example.test>",
            raw_sha256=f"{n:064x}",
            now=utcnow(),
        )
    with app.engine.begin() as conn:
        conn.execute(
            update(outbox)
            .where(outbox.c.id == row)
            .values(status=status, smtp_server=server, sent_at=sent_at, attempts=1)
        )


def test_each_server_counts_the_mail_it_sent_today() -> None:
    app = App()
    now = datetime(2026, 12, 2, 15, 30)
    midnight = datetime(2026, 12, 2)
    with app.storage.writing() as uow:
        for name in ("relay", "backup", "idle"):
            uow.servers.add(name=name, url=f"smtp://{name}.example.test:587", now=now)
    _outcome(app, 1, "sent", "smtp:relay", midnight)  # the day's first instant counts
    _outcome(app, 2, "sent", "smtp:relay", now)
    _outcome(app, 3, "sent", "smtp:relay", midnight - timedelta(microseconds=1))  # yesterday
    _outcome(app, 4, "failed", "smtp:relay", None)  # tried, not sent
    _outcome(app, 5, "sent", "smtp:backup", now - timedelta(hours=1))
    _outcome(app, 6, "sent", "channel:inbox", now)  # a channel's own SMTP: no server of these
    _outcome(app, 7, "queued", None, None)
    service = OverviewService(app.storage, clock=lambda: now)
    sent = {s.name: s.sent_today for s in service.overview(sends_today=True).servers}
    assert sent == {"backup": 1, "idle": 0, "relay": 2}
    # the dashboard and /metrics do not show it: their overview does not scan the outbox
    seen: list[str] = []
    event.listen(app.engine, "before_cursor_execute", lambda *args: seen.append(args[2]))
    assert all(s.sent_today is None for s in service.overview().servers)
    assert seen and not any("sent_at" in s for s in seen)
    app.engine.dispose()


def test_status_shows_each_servers_sends_today(capsys: pytest.CaptureFixture[str]) -> None:
    sh = Shell(capsys)
    app = App()
    with app.storage.writing() as uow:
        uow.servers.add(name="relay", url="smtp://relay.example.test:587", now=utcnow())
    _outcome(app, 1, "sent", "smtp:relay", utcnow())
    _outcome(app, 2, "sent", "smtp:relay", utcnow())
    app.engine.dispose()
    [server] = sh.json("status")["smtp_servers"]
    assert (server["name"], server["sent_today"]) == ("relay", 2)
    [line] = [line for line in sh.ok("status").splitlines() if line.startswith("  relay")]
    assert "\tsent today 2" in line
