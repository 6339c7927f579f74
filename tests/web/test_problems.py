"""Every error is an RFC 9457 problem; no trace and no exception text ever leaves; every
response carries the security headers; bodies are limited while they stream in."""

from __future__ import annotations

import threading
from typing import Any

import anyio
from fastapi.testclient import TestClient
from tests.web.conftest import Web
from tests.web.test_auth import ROUTE, _is_problem

from postroom.bootstrap import App
from postroom.settings import Settings
from postroom.web.app import create_app


def test_security_headers_on_every_response(web: Web) -> None:
    for response in (
        web.client.get("/healthz"),
        web.client.get("/api/v1/routes"),
        web.client.get("/nowhere"),
        web.client.get("/signup?token=x"),
    ):
        csp = response.headers["content-security-policy"]
        assert "default-src 'none'" in csp and "frame-ancestors 'none'" in csp
        assert "unsafe-inline" not in csp
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["referrer-policy"] == "no-referrer"
        assert "access-control-allow-origin" not in response.headers


def test_cors_is_off(web: Web) -> None:
    response = web.client.options(
        "/api/v1/routes",
        headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "GET"},
    )
    assert "access-control-allow-origin" not in response.headers


def test_404_405_409_422_415(web: Web) -> None:
    _is_problem(web.client.get("/api/v1/routes/nobody@example.org", headers=web.admin()), 404)
    _is_problem(web.client.get("/api/v1/nothing-here", headers=web.admin()), 404)
    _is_problem(web.client.put("/api/v1/routes", headers=web.admin()), 405)
    assert web.client.post("/api/v1/routes", json=ROUTE, headers=web.admin()).status_code == 201
    _is_problem(web.client.post("/api/v1/routes", json=ROUTE, headers=web.admin()), 409)
    bad = web.client.post(
        "/api/v1/routes", json={**ROUTE, "address": "not an address"}, headers=web.admin()
    )
    _is_problem(bad, 422)
    missing = web.client.post("/api/v1/routes", json={"address": "a@b.c"}, headers=web.admin())
    assert "context" in str(_is_problem(missing, 422)["detail"])
    nul = web.client.post(
        "/api/v1/routes", json={**ROUTE, "context": "a\x00b"}, headers=web.admin()
    )
    assert "context" in str(_is_problem(nul, 422)["detail"])  # PostgreSQL would refuse it
    broken = web.client.post(
        "/api/v1/routes",
        content=b'{"address": ',
        headers={**web.admin(), "Content-Type": "application/json"},
    )
    _is_problem(broken, 422)
    text = web.client.post(
        "/api/v1/routes",
        content=b"address=a@b.c",
        headers={**web.admin(), "Content-Type": "text/plain"},
    )
    _is_problem(text, 415)


def test_a_declared_length_over_the_limit_is_413_before_reading(web: Web) -> None:
    response = web.client.post(
        "/api/v1/routes",
        content=b"{}",
        headers={**web.admin(), "Content-Type": "application/json", "Content-Length": "2000000"},
    )
    _is_problem(response, 413)


def test_a_streamed_body_is_refused_at_the_first_chunk_past_the_limit(web: Web) -> None:
    """Driven at the ASGI level: the test client would read the whole body first."""
    app = create_app(web.app)
    chunk = b" " * 65536
    received = 0
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        nonlocal received
        received += 1
        return {"type": "http.request", "body": chunk, "more_body": received < 1000}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/api/v1/routes",
        "raw_path": b"/api/v1/routes",
        "query_string": b"",
        "root_path": "",
        "headers": [
            (b"host", b"testserver"),
            (b"content-type", b"application/json"),
            (b"transfer-encoding", b"chunked"),
            (b"authorization", f"Bearer {web.admin_token}".encode()),
        ],
        "client": ("127.0.0.1", 5000),
        "server": ("testserver", 80),
        "state": {},
    }
    # A thread of its own: in a worker that ran the browser tests, Playwright's event loop
    # is running in this one, and anyio refuses to start a second loop beside it.
    runner = threading.Thread(target=anyio.run, args=(app, scope, receive, send))
    runner.start()
    runner.join(60)
    assert not runner.is_alive()
    assert sent[0]["type"] == "http.response.start" and sent[0]["status"] == 413
    assert received == 17  # 16 chunks are 1 MiB: the 17th is one byte too many
    assert b"problem" in dict(sent[0]["headers"])[b"content-type"]


def test_an_internal_error_says_nothing_of_the_exception(web: Web) -> None:
    app = create_app(web.app)

    @app.get("/api/v1/boom")
    def boom() -> None:
        raise RuntimeError("secret-detail /etc/passwd line 42")

    with TestClient(app, raise_server_exceptions=False) as client:
        response = client.get("/api/v1/boom")
    body = _is_problem(response, 500)
    assert "secret-detail" not in response.text and "Traceback" not in response.text
    assert "RuntimeError" not in str(body)


def test_readyz_is_503_with_retry_after_when_the_database_is_away(web: Web) -> None:
    assert web.client.get("/readyz").status_code == 200
    away = App(
        Settings(
            home=web.app.settings.home,
            database_url="postgresql+psycopg://postgres@127.0.0.1:9/none?connect_timeout=2",
            metrics_public=True,
        ),
        migrate=False,
    )
    with TestClient(create_app(away), raise_server_exceptions=False) as client:
        assert client.get("/healthz").status_code == 200
        response = client.get("/readyz")
        scrape = client.get("/metrics")
    _is_problem(scrape, 503)
    assert "127.0.0.1:9" not in scrape.text
    _is_problem(response, 503)
    assert int(response.headers["retry-after"]) > 0
    assert "127.0.0.1:9" not in response.text


def test_a_row_id_past_the_databases_integer_is_a_422(web: Web) -> None:
    """Row ids are 32-bit columns: PostgreSQL answered an id past 2**31 - 1 with "integer
    out of range", a 500 (found by schemathesis); every path taking a row id bounds it."""
    paths = [
        ("get", "/api/v1/communications/{}"),
        ("get", "/api/v1/communications/{}/raw"),
        ("get", "/api/v1/communications/{}/attachments/0"),
        ("delete", "/api/v1/tokens/{}"),
        ("post", "/api/v1/outbox/{}/retry"),
        ("post", "/api/v1/quarantine/{}/retry"),
        ("post", "/api/v1/unhandled/{}/retry"),
    ]
    for method, path in paths:
        for bad in (str(2**31), str(2**62)):
            answer = web.client.request(method, path.format(bad), headers=web.admin())
            _is_problem(answer, 422)
        known = web.client.request(method, path.format(2**31 - 1), headers=web.admin())
        _is_problem(known, 404)
