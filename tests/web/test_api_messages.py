"""``POST /api/v1/messages`` behaves as ``postroom ingest`` (stored and decided, junk
quarantined and said so, a message that cannot be stored 503 with Retry-After, never lost
silently); ``POST /api/v1/explain`` as ``explain --json``, changing nothing."""

from __future__ import annotations

from typing import Any

import pytest
from tests.web.conftest import Web
from tests.web.test_api_items import _is_problem, _mail

from postroom.errors import StorageUnavailableError
from postroom.render.mail import decision_json

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
