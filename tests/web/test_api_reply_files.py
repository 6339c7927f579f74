"""``POST /api/v1/items/{ref}/replies`` as ``multipart/form-data``: the files are the
reply's attachments, the request may be as large as a message (here 200 000 bytes), the
files two thirds of it, their names made safe; SQLite and PostgreSQL."""

from __future__ import annotations

import email
from email.message import Message
from typing import Any

import pytest
from tests.web.conftest import Web
from tests.web.test_api_items import _ingest, _is_problem, _mail, _ref

LIMIT = 200_000


@pytest.fixture(autouse=True)
def _message_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("POSTROOM_MAX_MESSAGE_BYTES", str(LIMIT))


def _sent(web: Web, ref: str) -> Message:
    """The reply as it waits in the outbox: the item's last outbound message."""
    last = web.app.items().show(ref).communications[-1]
    assert last.direction == "out"
    raw = web.client.get(f"/api/v1/communications/{last.id}/raw", headers=web.agent())
    assert raw.status_code == 200
    return email.message_from_bytes(raw.content)


def test_a_reply_with_two_files_is_queued_with_them(web: Web) -> None:
    ref = _ref(_ingest(web, _mail(1)))
    report = bytes(range(256)) * 400  # 102 400 bytes: past the 1 MB JSON rule's scale here
    answer = web.client.post(
        f"/api/v1/items/{ref}/replies",
        data={"body": "Both files attached.", "cc": "boss@customer.test, eve@customer.test"},
        files=[
            ("attachments", ("C:\\Users\\x\\report.bin", report, "application/octet-stream")),
            ("attachments", ("../../\u202etxt.exe", b"plain", "text/plain; charset=utf-8")),
        ],
        headers=web.agent(),
    )
    assert answer.status_code == 201, answer.text
    row = answer.json()
    assert row["status"] == "queued" and row["reference"] == ref
    assert set(row["to"]) == {"carol@customer.test", "boss@customer.test", "eve@customer.test"}
    message = _sent(web, ref)
    files = [p for p in message.walk() if p.get_filename()]
    assert [p.get_filename() for p in files] == ["report.bin", "txt.exe"]
    assert files[0].get_payload(decode=True) == report
    assert files[1].get_payload(decode=True) == b"plain"
    assert files[1].get_content_type() == "text/plain"
    text = next(p for p in message.walk() if p.get_content_type() == "text/plain")
    assert "Both files attached." in str(text.get_payload(decode=True), "utf-8")
    history = [h for h in web.app.items().show(ref).history if h.field == "reply"]
    assert [h.actor for h in history] == ["bob"]


def test_too_big_or_too_many_is_refused_and_queues_nothing(web: Web) -> None:
    ref = _ref(_ingest(web, _mail(2)))
    url = f"/api/v1/items/{ref}/replies"
    before = len(web.app.outbox.list())
    big = b"x" * (LIMIT + 1)
    answer = web.client.post(
        url, data={"body": "x"}, files=[("a", ("big.bin", big))], headers=web.agent()
    )
    assert str(LIMIT) in _is_problem(answer, 413)["detail"]
    files: list[Any] = [("a", ("part.bin", b"y" * 70_000))] * 2  # the files: 2/3 at most
    answer = web.client.post(url, data={"body": "x"}, files=files, headers=web.agent())
    assert "larger than" in _is_problem(answer, 422)["detail"]
    many: list[Any] = [("a", (f"{n}.txt", b"n")) for n in range(21)]
    answer = web.client.post(url, data={"body": "x"}, files=many, headers=web.agent())
    _is_problem(answer, 422)
    one: list[Any] = [("a", ("one.txt", b"1"))]
    answer = web.client.post(url, data={"body": " "}, files=one, headers=web.agent())
    _is_problem(answer, 422)
    answer = web.client.post(
        url, data={"body": "x", "to": "nobody"}, files=one, headers=web.agent()
    )
    _is_problem(answer, 422)
    answer = web.client.post(url, data={"body": "a form without files"}, headers=web.agent())
    assert "multipart/form-data" in _is_problem(answer, 415)["detail"]  # not url-encoded
    answer = web.client.post(
        url, content=b"x", headers={**web.agent(), "Content-Type": "text/plain"}
    )
    _is_problem(answer, 415)
    # JSON keeps its 1 MB rule and its base64 attachments
    _is_problem(web.client.post(url, json={"body": ""}, headers=web.agent()), 422)
    assert len(web.app.outbox.list()) == before


def test_openapi_describes_both_bodies(web: Web) -> None:
    document = web.client.get("/api/v1/openapi.json", headers=web.admin()).json()
    body = document["paths"]["/api/v1/items/{ref}/replies"]["post"]["requestBody"]
    assert set(body["content"]) == {"application/json", "multipart/form-data"}
    json_schema = body["content"]["application/json"]["schema"]
    assert "$defs" not in str(json_schema) and json_schema["required"] == ["body"]
    assert json_schema["properties"]["attachments"]["items"]["properties"]["data"]
