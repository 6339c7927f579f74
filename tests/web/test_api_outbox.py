"""``/api/v1/outbox`` in-process, on SQLite and PostgreSQL: agents may read, retry and
cancel, each in the work item's history with their name; the ``outbox list --json``
shape, paged; 404 for an unknown row and 409 when the message's status does not allow a
retry or a cancel."""

from __future__ import annotations

import re
from datetime import timedelta

from tests.web.conftest import Web
from tests.web.test_auth import _is_problem

from postroom.clock import utcnow
from postroom.render.outbox import outbox_json


def _mail(n: int) -> bytes:
    return (
        f"From: Carol <carol{n}@customer.example>\r\nTo: help@example.org\r\n"
        f"Subject: question {n}\r\nMessage-ID: <q{n}@customer.example>\r\n\r\nHelp.\r\n"
    ).encode()


def _queued(web: Web, n: int) -> list[int]:
    """``n`` acknowledgements in the outbox (a route that acknowledges, ``n`` new mails)."""
    web.app.routes.add("help@example.org", "C", "K", "Q", True)
    for i in range(n):
        web.app.ingest.ingest(_mail(i))
    ids = [m.id for m in web.app.outbox.list()]
    assert len(ids) == n
    return ids


def test_an_agent_lists_the_outbox_as_the_cli_paged(web: Web) -> None:
    ids = _queued(web, 3)
    _is_problem(web.client.get("/api/v1/outbox"), 401)
    seen: list[dict[str, object]] = []
    url: str | None = "/api/v1/outbox?limit=2"
    while url:
        response = web.client.get(url, headers=web.agent())
        assert response.status_code == 200
        seen += response.json()
        link = response.headers.get("link")
        url = re.fullmatch(r'<([^>]*)>; rel="next"', link).group(1) if link else None  # type: ignore[union-attr]
    assert seen == [outbox_json(m) for m in web.app.outbox.list()]
    assert [m["id"] for m in seen] == ids
    first = seen[0]
    assert first["kind"] == "acknowledgement" and first["status"] == "queued"
    assert first["to"] == ["carol0@customer.example"] and "from" in first


def test_cancel_and_retry_as_the_status_allows(web: Web) -> None:
    first, second = _queued(web, 2)
    cancelled = web.client.post(f"/api/v1/outbox/{first}/cancel", headers=web.agent())
    assert cancelled.status_code == 200
    assert cancelled.json() == outbox_json(web.app.outbox.list()[0])
    assert cancelled.json()["status"] == "cancelled"
    again = _is_problem(web.client.post(f"/api/v1/outbox/{first}/cancel", headers=web.agent()), 409)
    assert "is cancelled" in str(again["detail"])
    retried = web.client.post(f"/api/v1/outbox/{first}/retry", headers=web.agent())
    assert retried.status_code == 200
    assert (retried.json()["status"], retried.json()["attempts"]) == ("queued", 0)
    history = web.app.items().show(str(retried.json()["reference"])).history
    assert [(e.field, e.old, e.new, e.cause, e.actor) for e in history if e.field == "outbox"] == [
        ("outbox", "queued", "cancelled", "user", "bob"),
        ("outbox", "cancelled", "queued", "user", "bob"),
    ]
    with web.app.storage.writing() as uow:  # a sender claims both: they are on their way
        now = utcnow()
        claimed = uow.sending.claim_due(now, uow.sending.lease_token(now, timedelta(minutes=5)))
    assert {m.id for m in claimed} == {first, second}
    for action in ("retry", "cancel"):
        refused = web.client.post(f"/api/v1/outbox/{second}/{action}", headers=web.admin())
        assert "is sending" in str(_is_problem(refused, 409)["detail"])
    assert web.app.outbox.list()[1].status == "sending"


def test_unknown_and_invalid_rows_are_problems(web: Web) -> None:
    for action in ("retry", "cancel"):
        _is_problem(web.client.post(f"/api/v1/outbox/999/{action}", headers=web.agent()), 404)
        for bad in ("0", "x", str(2**31), str(2**64)):
            _is_problem(web.client.post(f"/api/v1/outbox/{bad}/{action}", headers=web.agent()), 422)
