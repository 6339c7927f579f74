"""``/api/v1/smtp-servers`` in-process, on SQLite and PostgreSQL: admin only, the CLI's
shapes (``has_password``, never the password), enable gated on a passed check, 404/409/422
problems; and one server added through the API against the loopback Postfix, enabled by
its real check."""

from __future__ import annotations

import logging

import httpx
import pytest
from tests.web.conftest import Web
from tests.web.test_api_channels import Answers
from tests.web.test_auth import _is_problem

from postroom.render.config import server_detail_json, server_json
from support.mailstack import Mailstack

SECRET = "s3cret-Smtp-Pw-42"
CLOSED = "smtps://sender@127.0.0.1:1"
"""A URL whose check fails fast: nothing listens on port 1."""


@pytest.fixture
def answers(web: Web, caplog: pytest.LogCaptureFixture) -> Answers:
    caplog.set_level(logging.DEBUG)
    return Answers(web)


def _add(web: Web, name: str = "out", **extra: object) -> httpx.Response:
    body = {"name": name, "url": CLOSED, "password": SECRET, **extra}
    return web.client.post("/api/v1/smtp-servers", json=body, headers=web.admin())


def test_smtp_servers_are_for_admins_only(web: Web) -> None:
    _add(web)
    for method, path, body in (
        ("GET", "/api/v1/smtp-servers", None),
        ("POST", "/api/v1/smtp-servers", {"name": "x", "url": CLOSED, "password": "p"}),
        ("GET", "/api/v1/smtp-servers/out", None),
        ("PATCH", "/api/v1/smtp-servers/out", {"send_as": True}),
        ("DELETE", "/api/v1/smtp-servers/out", None),
        ("POST", "/api/v1/smtp-servers/out/check", None),
        ("POST", "/api/v1/smtp-servers/out/enable", None),
        ("POST", "/api/v1/smtp-servers/out/disable", None),
    ):
        _is_problem(web.client.request(method, path, json=body, headers=web.agent()), 403)
        _is_problem(web.client.request(method, path, json=body), 401)
    assert web.app.servers.show("out").send_as is False


def test_add_show_change_enable_remove(
    web: Web, answers: Answers, caplog: pytest.LogCaptureFixture
) -> None:
    made = _add(web, send_as=True)
    assert made.status_code == 201, made.text
    assert made.json() == server_detail_json(web.app.servers.show("out"))
    assert made.json()["enabled"] is False and made.json()["has_password"] is True
    assert made.json()["last_check"]["ok"] is False
    listed = web.client.get("/api/v1/smtp-servers", headers=web.admin())
    assert listed.json() == [server_json(web.app.servers.show("out"))]
    refused = _is_problem(
        web.client.post("/api/v1/smtp-servers/out/enable", headers=web.admin()), 409
    )
    assert "PATCH /api/v1/smtp-servers/out" in str(refused["detail"])
    assert isinstance(refused["check"], dict) and refused["check"]["ok"] is False
    forced = web.client.post("/api/v1/smtp-servers/out/enable?force=true", headers=web.admin())
    assert forced.json()["enabled"] is True
    roles = web.client.patch(
        "/api/v1/smtp-servers/out", json={"send_as": False, "default": True}, headers=web.admin()
    )
    assert (roles.json()["send_as"], roles.json()["default"], roles.json()["enabled"]) == (
        False,
        True,
        True,
    )
    new_secret = "An0ther-Smtp-Pw-77"
    moved = web.client.patch(
        "/api/v1/smtp-servers/out", json={"password": new_secret}, headers=web.admin()
    )
    assert moved.json()["enabled"] is False  # a new password: checked again, and it failed
    stored = web.app.servers.show("out")
    assert web.app.secrets.open(stored.password_enc or "").reveal() == new_secret
    checked = web.client.post("/api/v1/smtp-servers/out/check", json={}, headers=web.admin())
    assert checked.status_code == 200 and checked.json()["ok"] is False
    assert set(checked.json()) == {"url", "ok", "steps", "complete", "untested"}
    off = web.client.post("/api/v1/smtp-servers/out/disable", headers=web.admin())
    assert off.json()["enabled"] is False
    assert web.client.delete("/api/v1/smtp-servers/out", headers=web.admin()).status_code == 204
    assert web.app.servers.list() == []
    for secret in (SECRET, new_secret):
        answers.assert_never(secret)
        assert secret not in caplog.text


def test_unknown_taken_and_invalid_are_problems(web: Web, answers: Answers) -> None:
    _add(web)
    _is_problem(_add(web), 409)
    for method, path in (
        ("GET", "/api/v1/smtp-servers/nope"),
        ("PATCH", "/api/v1/smtp-servers/nope"),
        ("DELETE", "/api/v1/smtp-servers/nope"),
        ("POST", "/api/v1/smtp-servers/nope/check"),
        ("POST", "/api/v1/smtp-servers/nope/enable"),
        ("POST", "/api/v1/smtp-servers/nope/disable"),
    ):
        body = {"send_as": True} if method == "PATCH" else None
        _is_problem(web.client.request(method, path, json=body, headers=web.admin()), 404)
    for n, change in enumerate(
        [
            {"url": "pop3s://sender@127.0.0.1:995"},
            {"url": "smtps://127.0.0.1:465"},  # a password needs a user
            {"url": f"smtps://sender:{SECRET}@127.0.0.1:465"},
            {"password": None},  # a user needs a password
            {"name": "a/b"},
            {"ca_file": "/nonexistent/ca.pem"},
            {"default": "maybe"},
            {"surprise": 1},
        ]
    ):
        body = {"name": f"bad{n}", "url": CLOSED, "password": SECRET, **change}
        sent = web.client.post("/api/v1/smtp-servers", json=body, headers=web.admin())
        assert SECRET not in str(_is_problem(sent, 422))
    _is_problem(web.client.patch("/api/v1/smtp-servers/out", json={}, headers=web.admin()), 422)
    assert [s.name for s in web.app.servers.list()] == ["out"]
    answers.assert_never(SECRET)


def test_a_server_added_through_the_api_is_enabled_by_a_real_check(
    web: Web, mailstack: Mailstack, answers: Answers
) -> None:
    address, password = mailstack.new_user("apismtp")
    url = f"submission://{address}@{mailstack.host}:{mailstack.submission_port}"
    made = web.client.post(
        "/api/v1/smtp-servers",
        json={
            "name": "postfix",
            "url": url,
            "password": password,
            "ca_file": str(mailstack.ca_file),
        },
        headers=web.admin(),
    )
    assert made.status_code == 201, made.text
    assert made.json()["enabled"] is True and made.json()["last_check_ok"] is True
    checked = web.client.post("/api/v1/smtp-servers/postfix/check", headers=web.admin())
    assert checked.json()["ok"] is True
    answers.assert_never(password)
