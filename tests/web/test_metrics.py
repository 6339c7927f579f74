"""``/metrics`` and ``postroom status``: the overview counted in the database at each
scrape (no counter in memory: a second app over the same database answers the same)."""

from __future__ import annotations

from datetime import datetime, timedelta

from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families
from tests.e2e.cli import Shell
from tests.web.conftest import Web
from tests.web.test_auth import _is_problem

from postroom.bootstrap import App
from postroom.clock import utcnow
from postroom.settings import Settings
from postroom.web.app import create_app

MAIL = (
    b"From: Carol <carol@example.com>\r\nTo: help@example.org\r\n"
    b"Subject: printer on fire\r\nMessage-ID: <m1@example.com>\r\n\r\nHelp.\r\n"
)


def _with_mail(app: App) -> None:
    now = utcnow()
    with app.storage.writing() as uow:
        inbox = uow.channels.add(name="inbox", url="pop3s://help@mail.example:995", now=now)
        uow.channels.add(name="sales", url="pop3s://sales@mail.example:995", now=now)
        uow.polls.record_failure(
            inbox.id, "auth", "-ERR [AUTH] bad password", now, now + timedelta(minutes=1)
        )
    app.routes.add("help@example.org", "C", "K", "Q")
    app.ingest.ingest(MAIL, channel="inbox")
    app.ingest.ingest(MAIL.replace(b"m1@", b"m2@"), channel="sales")
    app.ingest.ingest(b"\xff\xfe not a message at all")


def _samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def test_metrics_need_a_token_unless_public(web: Web) -> None:
    _is_problem(web.client.get("/metrics"), 401)
    assert web.client.get("/metrics", headers=web.agent()).status_code == 200
    public = App(Settings(**{**_settings(web.app), "metrics_public": True}))
    public.__dict__["accounts"] = web.app.accounts
    with TestClient(create_app(public)) as client:
        response = client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")


def _settings(app: App) -> dict[str, object]:
    return {"home": app.settings.home, "database_url": app.settings.database_url}


def test_metrics_are_counted_in_the_database(web: Web) -> None:
    _with_mail(web.app)
    text = web.client.get("/metrics", headers=web.admin()).text
    samples = _samples(text)
    assert samples[("postroom_messages_fetched_total", (("channel", "inbox"),))] == 1
    assert samples[("postroom_messages_fetched_total", (("channel", "sales"),))] == 1
    assert samples[("postroom_messages_stored_total", ())] == 3
    handled = sum(v for (n, _), v in samples.items() if n == "postroom_messages_handled_total")
    assert handled == samples[("postroom_messages", (("status", "handled"),))] >= 2
    assert samples[("postroom_channel_failures", (("channel", "inbox"),))] == 1
    assert samples[("postroom_channel_failures", (("channel", "sales"),))] == 0
    assert samples[("postroom_outbox_messages", (("status", "queued"),))] >= 0
    assert ("postroom_send_attempts_total", (("outcome", "sent"),)) in samples
    for name, _ in samples:
        assert name.startswith("postroom_")
    # another process over the same database (a forked worker, a second web) says the same
    other = App(Settings(**_settings(web.app)))
    other.__dict__["accounts"] = web.app.accounts
    with TestClient(create_app(other)) as client:
        again = _samples(client.get("/metrics", headers=web.admin()).text)
    assert again == samples
    other.engine.dispose()


def test_status_is_the_same_overview(web: Web, capsys: object) -> None:
    _with_mail(web.app)
    shell = Shell(capsys)  # type: ignore[arg-type]
    status = shell.json("status")
    assert [c["name"] for c in status["channels"]] == ["inbox", "sales"]
    inbox = status["channels"][0]
    assert inbox["failure_count"] == 1 and inbox["last_error_class"] == "auth"
    assert inbox["messages_today"] == 1 and inbox["protocol"] == "pop3s"
    assert inbox["checked"] is False and inbox["enabled"] is False
    assert status["quarantine"] + status["unhandled"] >= 0
    assert set(status["outbox"]) >= {"queued", "sent", "failed"}
    text = shell.ok("status")
    assert "inbox\tpop3s\toff" in text and "auth: -ERR [AUTH] bad password" in text
    assert text.endswith(f"last poll: {status['last_poll']}")
    assert isinstance(datetime.fromisoformat(status["at"].rstrip("Z")), datetime)
