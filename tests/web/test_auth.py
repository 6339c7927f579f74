"""Who may ask: a token, a session (with its CSRF token for changes), the right role;
sign-in rate-limited per user and per address."""

from __future__ import annotations

from fastapi.testclient import TestClient
from tests.web.conftest import PASSWORD, Web

from postroom.web.app import create_app

ROUTE = {"address": "help@example.org", "context": "C", "category": "K", "queue": "Q"}


def _is_problem(response: object, status: int) -> dict[str, object]:
    assert response.status_code == status
    headers = response.headers
    assert headers["content-type"] == "application/problem+json"
    body: dict[str, object] = response.json()
    assert body["status"] == status and body["type"] == "about:blank"
    assert isinstance(body["title"], str) and isinstance(body["detail"], str)
    return body


def test_no_token_is_401_with_www_authenticate(web: Web) -> None:
    response = web.client.get("/api/v1/routes")
    _is_problem(response, 401)
    assert response.headers["www-authenticate"].startswith("Bearer")


def test_a_wrong_or_revoked_token_is_401(web: Web) -> None:
    wrong = web.client.get("/api/v1/routes", headers={"Authorization": "Bearer prt_nope"})
    _is_problem(wrong, 401)
    [token] = [t for t in web.app.accounts.list_tokens("bob")]
    web.app.accounts.revoke_token(token.id)
    _is_problem(web.client.get("/api/v1/routes", headers=web.agent()), 401)


def test_an_agent_cannot_touch_configuration(web: Web) -> None:
    for method, path in (
        ("GET", "/api/v1/routes"),
        ("GET", "/api/v1/users"),
        ("GET", "/api/v1/tokens"),
    ):
        _is_problem(web.client.request(method, path, headers=web.agent()), 403)
    _is_problem(web.client.post("/api/v1/routes", json=ROUTE, headers=web.agent()), 403)
    assert web.client.get("/api/v1/routes", headers=web.admin()).status_code == 200


def test_a_session_signs_in_and_its_changes_need_the_csrf_token(web: Web) -> None:
    signed = web.client.post("/api/v1/session", json={"username": "ada", "password": PASSWORD})
    assert signed.status_code == 200, signed.text
    cookie = signed.headers["set-cookie"]
    assert "postroom_session=" in cookie
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie
    assert "Secure" not in cookie  # plain HTTP here (Secure behind HTTPS)
    csrf = signed.json()["csrf"]
    assert signed.json()["role"] == "admin"
    assert web.client.get("/api/v1/routes").status_code == 200
    body = _is_problem(web.client.post("/api/v1/routes", json=ROUTE), 403)
    assert "X-CSRF-Token" in str(body["detail"])
    wrong = web.client.post("/api/v1/routes", json=ROUTE, headers={"X-CSRF-Token": "x" * 64})
    _is_problem(wrong, 403)
    made = web.client.post("/api/v1/routes", json=ROUTE, headers={"X-CSRF-Token": csrf})
    assert made.status_code == 201
    out = web.client.delete("/api/v1/session", headers={"X-CSRF-Token": csrf})
    assert out.status_code == 204
    _is_problem(web.client.get("/api/v1/routes"), 401)


def test_secure_cookie_behind_https(web: Web) -> None:
    with TestClient(create_app(web.app), base_url="https://postroom.test") as client:
        signed = client.post("/api/v1/session", json={"username": "ada", "password": PASSWORD})
        assert signed.status_code == 200
        assert "Secure" in signed.headers["set-cookie"]


def test_wrong_password_is_401_and_never_echoed(web: Web) -> None:
    response = web.client.post(
        "/api/v1/session", json={"username": "ada", "password": "hunter2-wrong"}
    )
    _is_problem(response, 401)
    assert "hunter2" not in response.text
    assert "set-cookie" not in response.headers


def test_sign_in_is_rate_limited_per_user_and_per_address(web: Web) -> None:
    for _ in range(10):
        failed = web.client.post("/api/v1/session", json={"username": "ada", "password": "no"})
        _is_problem(failed, 401)
    held = web.client.post("/api/v1/session", json={"username": "ada", "password": PASSWORD})
    _is_problem(held, 429)
    assert 0 < int(held.headers["retry-after"]) <= 300
    # the same address is held back for another name too
    other = web.client.post("/api/v1/session", json={"username": "bob", "password": PASSWORD})
    _is_problem(other, 429)
