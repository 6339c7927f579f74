"""A dashboard worth looking at: channels that work, one failing on its password, one
switched off on a bad certificate, one never checked; SMTP servers; a few messages today.
Set up through the App's storage, as tests and benchmarks do (docs/architecture.md)."""

from __future__ import annotations

from datetime import timedelta

from tests.support.mails import make_mail

from postroom.bootstrap import App
from postroom.clock import utcnow


def _report(url: str, failed: str | None = None, error: str = "", hint: str = "") -> dict:
    steps = []
    for name in ("dns", "tcp", "tls", "certificate", "greeting", "auth", "mailbox"):
        if failed and steps and steps[-1]["ok"] is False:
            steps.append({"name": name, "ok": None, "detail": {}, "error": None, "hint": None})
        elif name == failed:
            steps.append({"name": name, "ok": False, "detail": {}, "error": error, "hint": hint})
        else:
            steps.append({"name": name, "ok": True, "detail": {}, "error": None, "hint": None})
    return {"url": url, "ok": failed is None, "steps": steps}


def fill_dashboard(app: App) -> None:
    now = utcnow()
    later = now + timedelta(minutes=1)
    with app.storage.writing() as uow:
        good = uow.channels.add(
            name="support-eu", url="pop3s://support@mail.example.com", now=now, enabled=True
        )
        uow.channels.record_check(good.id, _report(good.url), None, now - timedelta(days=3))
        uow.polls.record_success(good.id, now - timedelta(minutes=2), later)

        sales = uow.channels.add(
            name="sales", url="imaps://sales@mail.example.com", now=now, enabled=True
        )
        uow.channels.record_check(sales.id, _report(sales.url), None, now - timedelta(days=9))
        uow.polls.record_success(sales.id, now - timedelta(seconds=40), later)

        billing = uow.channels.add(
            name="billing", url="imaps://billing@mail.example.com", now=now, enabled=True
        )
        uow.channels.record_check(billing.id, _report(billing.url), None, now - timedelta(days=30))
        uow.polls.record_success(billing.id, now - timedelta(hours=3), later)
        for minutes in (50, 30, 10):
            uow.polls.record_failure(
                billing.id,
                "authentication",
                "AUTHENTICATE PLAIN refused: [AUTHENTICATIONFAILED] Authentication failed.",
                now - timedelta(minutes=minutes),
                later,
            )

        hr = uow.channels.add(
            name="hr-shared",
            url="pop3s://hr@legacy.example.com",
            now=now,
            enabled=True,
            max_failures=3,
        )
        uow.polls.record_success(hr.id, now - timedelta(days=2), later)
        for hours in (5, 4, 3):
            uow.polls.record_failure(
                hr.id,
                "tls",
                "certificate expired: certificate has expired",
                now - timedelta(hours=hours),
                later,
            )
        uow.channels.record_check(
            hr.id,
            _report(
                hr.url,
                "certificate",
                "not trusted: expired on 2026-11-28 (3 days ago)",
                "the server's certificate has expired: ask its administrator to renew it",
            ),
            ("tls", "certificate expired: certificate has expired"),
            now - timedelta(hours=2),
        )

        uow.channels.add(name="projects", url="imap://projects@mail.example.com", now=now)

        relay = uow.servers.add(
            name="relay", url="smtp://relay.example.com:587", now=now, is_default=True, enabled=True
        )
        uow.servers.record_check(relay.name, _report(relay.url), True)
        uow.servers.add(name="sales-send-as", url="smtps://smtp.example.com:465", now=now)
        uow.servers.record_check(
            "sales-send-as",
            _report(
                "smtps://smtp.example.com:465",
                "auth",
                "535 5.7.8 Authentication credentials invalid",
                "check the SMTP user name and password; Send As needs the account's permission",
            ),
            False,
        )
    for n in range(3):
        app.ingest.ingest(make_mail(subject=f"Order {n} is late"), channel="support-eu")
    app.ingest.ingest(make_mail(subject="Quote request"), channel="sales")
