"""The Guard lets a reply's files through as ``multipart/form-data`` up to the message
limit, on the API's ``…/replies`` and the item page's ``…/reply`` only; a form elsewhere,
or another type there, keeps the 1 MB rule."""

from __future__ import annotations

from typing import Any

import pytest
from starlette.testclient import TestClient

from postroom.web.security import JSON_LIMIT, Guard

LIMIT = 3 * JSON_LIMIT


async def _reader(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """An app that reads the whole body and answers its length."""
    size, more = 0, True
    while more:
        message = await receive()
        size += len(message.get("body", b""))
        more = message.get("more_body", False)
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": str(size).encode()})


@pytest.fixture
def client() -> TestClient:
    return TestClient(Guard(_reader, max_message_bytes=LIMIT), raise_server_exceptions=False)


def _files(size: int) -> list[Any]:
    return [("files", ("big.bin", b"z" * size, "application/octet-stream"))]


@pytest.mark.parametrize("path", ["/api/v1/items/1-T/replies", "/items/1-T/reply"])
def test_a_reply_form_may_be_as_large_as_a_message(client: TestClient, path: str) -> None:
    answer = client.post(path, data={"body": "x"}, files=_files(2 * JSON_LIMIT))
    assert answer.status_code == 200 and int(answer.text) > 2 * JSON_LIMIT
    answer = client.post(path, data={"body": "x"}, files=_files(LIMIT))
    assert answer.status_code == 413 and str(LIMIT) in answer.json()["detail"]


@pytest.mark.parametrize(
    "path", ["/items/1-T", "/items/1-T/reply/x", "/api/v1/items/1-T/replies/x", "/channels/new"]
)
def test_other_forms_keep_the_1_mb_rule(client: TestClient, path: str) -> None:
    answer = client.post(path, data={"body": "x"}, files=_files(2 * JSON_LIMIT))
    assert answer.status_code in (413, 415)
    assert answer.headers["content-type"] == "application/problem+json"


def test_json_on_the_replies_path_keeps_1_mb(client: TestClient) -> None:
    big = b'{"body": "' + b"x" * (2 * JSON_LIMIT) + b'"}'
    answer = client.post(
        "/api/v1/items/1-T/replies", content=big, headers={"Content-Type": "application/json"}
    )
    assert answer.status_code == 413
