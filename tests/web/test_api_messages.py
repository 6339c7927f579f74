"""``POST /api/v1/messages`` behaves as ``postroom ingest`` (stored and decided, junk
quarantined and said so, a message that cannot be stored 503 with Retry-After, never lost
silently); ``POST /api/v1/explain`` as ``explain --json``, changing nothing."""

from __future__ import annotations

from typing import Any

import pytest
from starlette.routing import Route
from tests.web.conftest import PASSWORD, Web
from tests.web.test_api_items import _is_problem, _mail

from postroom.clock import utcnow
from postroom.errors import StorageUnavailableError
from postroom.render.mail import decision_json
from postroom.web.api.messages import Decision, post_message
from postroom.web.app import OPENAPI_URL

RFC822 = {"Content-Type": "message/rfc822"}


def _post(web: Web, path: str, raw: bytes, **headers: str) -> Any:
    return web.client.post(path, content=raw, headers={**web.agent(), **RFC822, **headers})


def test_a_message_is_stored_and_answered_as_ingest_json(web: Web) -> None:
    answer = _post(web, "/api/v1/messages", _mail(1))
    assert answer.status_code == 201, answer.text
    decision = answer.json()
    assert isinstance(decision["message"], int)
    ref = decision["work_items"][0]["reference"]
    assert [d.item.reference for d in web.app.items().list(None, None)] == [ref]
    # The same shape `ingest --json` prints, from the same service.
    direct = decision_json(web.app.ingest.ingest(_mail(2)))
    assert set(direct) == set(decision)
    assert direct["outcome"] == decision["outcome"] and direct["path"] == decision["path"]


def test_the_same_message_posted_again_is_a_duplicate_filed_once(web: Web) -> None:
    first = _post(web, "/api/v1/messages", _mail(1))
    again = _post(web, "/api/v1/messages", _mail(1))
    assert (first.status_code, again.status_code) == (201, 201), again.text
    assert again.json()["rule"] == "D1" and again.json()["outcome"] == "ignored"
    assert again.json()["message"] != first.json()["message"]  # the extra arrival recorded
    assert len(web.app.items().list(None, None)) == 1


def test_a_message_is_filed_under_the_channel_the_query_names(web: Web) -> None:
    with web.app.storage.writing() as uow:
        box = uow.channels.add(name="box", url="pop3s://box@mail.example:995", now=utcnow())
    answer = _post(web, "/api/v1/messages?channel=box", _mail(1))
    assert answer.status_code == 201, answer.text
    with web.app.storage.reading() as uow:
        assert uow.messages.get(answer.json()["message"]).channel_id == box.id
    # A channel there is not: 404 naming it, nothing stored; a name no channel can have: 422.
    missing = _post(web, "/api/v1/messages?channel=nobox", _mail(2))
    assert missing.status_code == 404 and "nobox" in missing.json()["detail"]
    for bad in ("", "a/b", "a%0A", "x" * 201):
        refused = _post(web, f"/api/v1/messages?channel={bad}", _mail(3))
        assert "channel" in _is_problem(refused, 422)["detail"], bad
    assert len(web.app.items().list(None, None)) == 1


def test_junk_is_handled_as_ingest_handles_it(web: Web) -> None:
    for junk in (b"", b"\x00\xff" * 500, b"not a message at all\r\n"):
        answer = _post(web, "/api/v1/messages", junk)
        assert answer.status_code == 201, answer.text
        decision = answer.json()
        assert isinstance(decision["message"], int)  # stored: nothing lost
        direct = decision_json(web.app.ingest.ingest(junk))
        assert (decision["outcome"], decision["reason"]) == (direct["outcome"], direct["reason"])
        if decision["outcome"] == "quarantined":
            held = [m.id for m in web.app.quarantine.quarantined()]
            assert decision["message"] in held


@pytest.mark.parametrize(
    "failure", [StorageUnavailableError("database is away"), OSError("disk full")]
)
def test_a_message_that_cannot_be_stored_is_503_with_retry_after(
    web: Web, monkeypatch: pytest.MonkeyPatch, failure: Exception
) -> None:
    def refuse(raw: bytes, *args: object, **kwargs: object) -> object:
        raise failure

    monkeypatch.setattr(web.app.ingest, "ingest", refuse)
    answer = _post(web, "/api/v1/messages", _mail(1))
    problem = _is_problem(answer, 503)
    assert int(answer.headers["retry-after"]) > 0
    assert "disk full" not in problem["detail"] and "database is away" not in problem["detail"]


def test_only_a_message_body_is_taken(web: Web) -> None:
    wrong = web.client.post("/api/v1/messages", json={"raw": "x"}, headers=web.agent())
    _is_problem(wrong, 415)
    big = web.app.settings.max_message_bytes + 1
    declared = _post(web, "/api/v1/messages", b"x", **{"Content-Length": str(big)})
    _is_problem(declared, 413)

    def chunks() -> Any:
        block = b"x" * 65536
        for _ in range(big // len(block) + 2):
            yield block

    streamed = web.client.post(
        "/api/v1/messages", content=chunks(), headers={**web.agent(), **RFC822}
    )
    _is_problem(streamed, 413)
    assert web.app.items().list(None, None) == []


def test_a_message_is_served_ahead_of_every_router_by_a_plain_endpoint(web: Web) -> None:
    # FastAPI's route matching and dependency solving cost more than the rest of a
    # request (bench/README.md, bench/api.py): the path a mail system calls is matched first.
    routes = web.client.app.router.routes
    first = next(r for r in routes if getattr(r, "path", "") != OPENAPI_URL)
    assert isinstance(first, Route) and first.endpoint is post_message
    assert (first.path, first.methods) == ("/api/v1/messages", {"POST"})
    # The same bytes FastAPI's response_model wrote: its declared fields first.
    keys = list(_post(web, "/api/v1/messages", _mail(1)).json())
    assert keys[:8] == list(Decision.model_fields)
    allow = _is_problem(web.client.get("/api/v1/messages", headers=web.agent()), 405)
    assert allow and web.client.put("/api/v1/messages", headers=web.agent()).status_code == 405


def test_a_message_is_taken_from_whom_every_change_is_taken(web: Web) -> None:
    """The plain endpoint asks who is asking as the `SignedIn` dependency does."""
    answer = web.client.post("/api/v1/messages", content=_mail(1), headers=RFC822)
    _is_problem(answer, 401)
    assert answer.headers["www-authenticate"].startswith("Bearer")
    for authorization in ("Bearer not-a-token", "Basic YWRhOnB3"):
        refused = _post(web, "/api/v1/messages", _mail(1), Authorization=authorization)
        _is_problem(refused, 401)
    signed = web.client.post("/api/v1/session", json={"username": "bob", "password": PASSWORD})
    csrf = signed.json()["csrf"]
    for sent in ({}, {"X-CSRF-Token": "x" * 64}):
        answer = web.client.post("/api/v1/messages", content=_mail(1), headers={**RFC822, **sent})
        assert "X-CSRF-Token" in _is_problem(answer, 403)["detail"]
    assert web.app.items().list(None, None) == []
    answer = web.client.post(
        "/api/v1/messages", content=_mail(1), headers={**RFC822, "X-CSRF-Token": csrf}
    )
    assert answer.status_code == 201, answer.text
    assert len(web.app.items().list(None, None)) == 1


def test_the_document_describes_the_message_path(web: Web) -> None:
    document = web.client.get("/api/v1/openapi.json").json()
    operation = document["paths"]["/api/v1/messages"]["post"]
    assert set(operation["requestBody"]["content"]) == {
        "message/rfc822",
        "application/octet-stream",
    }
    assert operation["security"] == [{"HTTPBearer": []}]
    schema = operation["responses"]["201"]["content"]["application/json"]["schema"]
    assert schema == {"$ref": "#/components/schemas/Decision"}
    assert "200" not in operation["responses"]  # a resend is a D1 duplicate: 201 too
    for status in ("401", "403", "409", "413", "415", "503"):
        assert "application/problem+json" in operation["responses"][status]["content"]


def test_explain_answers_as_explain_json_and_changes_nothing(web: Web) -> None:
    answer = _post(web, "/api/v1/explain", _mail(1))
    assert answer.status_code == 200, answer.text
    data = answer.json()
    assert data["mail"]["subject"] == "Printer 1 is on fire"
    assert data["mail"]["from"] == "carol@customer.test"
    assert data["decision"]["trace"]
    assert data["decision"]["message"] is None
    assert web.app.items().list(None, None) == []
    assert web.app.outbox.list() == []
