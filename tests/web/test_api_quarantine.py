"""``/api/v1/quarantine`` and ``/api/v1/unhandled`` in-process, on SQLite and PostgreSQL:
agents may read and retry; the CLI's shapes, paged; a retry answers with the decision,
and one of a message no longer in quarantine is a 409."""

from __future__ import annotations

from typing import Any

import pytest
from tests.web.conftest import Web
from tests.web.test_auth import _is_problem

from postroom.bootstrap import App
from postroom.render.mail import message_json
from postroom.services.apply import Applier


def _mail(n: int, to: str = "help@example.org") -> bytes:
    return (
        f"From: Carol <carol{n}@customer.example>\r\nTo: {to}\r\n"
        f"Subject: question {n}\r\nMessage-ID: <q{n}@customer.example>\r\n\r\nHelp.\r\n"
    ).encode()


def _broken(*_args: Any) -> Any:
    raise RuntimeError("handler exploded")


def test_an_agent_lists_and_retries_the_quarantine(
    web: Web, monkeypatch: pytest.MonkeyPatch
) -> None:
    web.app.routes.add("help@example.org", "C", "K", "Q")
    real = Applier.apply
    monkeypatch.setattr(Applier, "apply", _broken)
    rows = [web.app.ingest.ingest(_mail(n)).message_row for n in range(3)]
    _is_problem(web.client.get("/api/v1/quarantine"), 401)
    first = web.client.get("/api/v1/quarantine?limit=2", headers=web.agent())
    assert first.status_code == 200
    assert first.json() == [message_json(m) for m in web.app.quarantine.quarantined()[:2]]
    assert first.json()[0]["error"] == "RuntimeError: handler exploded"
    assert 'rel="next"' in first.headers["link"]
    failed = web.client.post(f"/api/v1/quarantine/{rows[0]}/retry", headers=web.agent())
    assert failed.status_code == 200 and failed.json()["outcome"] == "quarantined"
    monkeypatch.setattr(Applier, "apply", real)
    handled = web.client.post(f"/api/v1/quarantine/{rows[0]}/retry", headers=web.agent())
    assert handled.status_code == 200
    assert handled.json()["outcome"] == "new_ticket", handled.json()
    assert [m.id for m in web.app.quarantine.quarantined()] == rows[1:]
    [ticket] = handled.json()["work_items"]
    history = web.app.items().show(ticket["reference"]).history
    assert [(e.field, e.cause, e.actor) for e in history if e.field == "quarantine"] == [
        ("quarantine", "user", "bob")
    ]
    again = web.client.post(f"/api/v1/quarantine/{rows[0]}/retry", headers=web.agent())
    assert "not in quarantine" in str(_is_problem(again, 409)["detail"])
    _is_problem(web.client.post("/api/v1/quarantine/999/retry", headers=web.agent()), 404)
    _is_problem(web.client.post("/api/v1/quarantine/0/retry", headers=web.agent()), 422)


@pytest.fixture
def postroom_app(postroom_app: App, monkeypatch: pytest.MonkeyPatch) -> App:
    """The suite's App, with mail to an address no route covers left Unhandled."""
    monkeypatch.setenv("POSTROOM_UNROUTED_POLICY", "unhandled")
    app = App()
    app.__dict__["accounts"] = postroom_app.accounts
    return app


def test_an_agent_lists_the_unhandled(web: Web) -> None:
    rows = [web.app.ingest.ingest(_mail(n, "nobody@example.org")).message_row for n in range(2)]
    _is_problem(web.client.get("/api/v1/unhandled"), 401)
    listed = web.client.get("/api/v1/unhandled", headers=web.agent())
    assert listed.status_code == 200
    assert listed.json() == [message_json(m) for m in web.app.quarantine.unhandled()]
    assert [m["id"] for m in listed.json()] == rows
    assert all(m["status"] == "unhandled" for m in listed.json())
    assert web.client.get("/api/v1/quarantine", headers=web.agent()).json() == []


def test_an_agent_retries_unhandled_mail_once_its_route_exists(web: Web) -> None:
    [row] = [web.app.ingest.ingest(_mail(7, "sales@example.org")).message_row]
    _is_problem(web.client.post(f"/api/v1/unhandled/{row}/retry"), 401)
    still = web.client.post(f"/api/v1/unhandled/{row}/retry", headers=web.agent())
    assert still.status_code == 200 and still.json()["outcome"] == "unhandled"
    web.app.routes.add("sales@example.org", "C", "K", "sales")
    handled = web.client.post(f"/api/v1/unhandled/{row}/retry", headers=web.agent())
    assert handled.status_code == 200 and handled.json()["outcome"] == "new_ticket"
    assert web.app.quarantine.unhandled() == []
    [ticket] = handled.json()["work_items"]
    history = web.app.items().show(ticket["reference"]).history
    assert [(e.cause, e.actor) for e in history if e.field == "unhandled"] == [("user", "bob")]
    again = web.client.post(f"/api/v1/unhandled/{row}/retry", headers=web.agent())
    assert "not unhandled" in str(_is_problem(again, 409)["detail"])
    _is_problem(web.client.post("/api/v1/unhandled/999/retry", headers=web.agent()), 404)
