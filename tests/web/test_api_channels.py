"""``/api/v1/channels`` and ``/api/v1/check`` in-process, on SQLite and PostgreSQL: admin
only, the CLI's shapes, enable gated on a passed check (409 with the check), 404/409/422
problems, and the password in no answer and no log line. The checks here fail at TCP
(nothing listens on port 1); test_api_channels_mailstack.py checks real Dovecot."""

from __future__ import annotations

import logging
import socket
import threading
import time
from datetime import timedelta

import httpx
import pytest
from tests.web.conftest import Web
from tests.web.test_auth import _is_problem

from postroom.clock import utcnow
from postroom.errors import UserError
from postroom.render.config import channel_detail_json, channel_json
from postroom.web.api.budget import CheckBudget
from postroom.web.problems import ProblemError

SECRET = "s3cret-Channel-Pw-42"
CLOSED = "pop3s://help@127.0.0.1:1"
"""A URL whose check fails fast: nothing listens on port 1 (connection refused)."""


class Answers:
    """Every answer a client got, headers and body, to search for a secret."""

    def __init__(self, web: Web) -> None:
        self.texts: list[str] = []
        web.client.event_hooks["response"].append(self._keep)

    def _keep(self, response: httpx.Response) -> None:
        response.read()
        headers = "\n".join(f"{k}: {v}" for k, v in response.headers.items())
        self.texts.append(f"{headers}\n\n{response.text}")

    def assert_never(self, secret: str) -> None:
        assert self.texts, "no answers were recorded"
        assert not [t for t in self.texts if secret in t]


@pytest.fixture
def answers(web: Web, caplog: pytest.LogCaptureFixture) -> Answers:
    caplog.set_level(logging.DEBUG)
    return Answers(web)


def _add(web: Web, name: str = "inbox", **extra: object) -> httpx.Response:
    body = {"name": name, "url": CLOSED, "password": SECRET, **extra}
    return web.client.post("/api/v1/channels", json=body, headers=web.admin())


def test_channels_and_checks_are_for_admins_only(web: Web) -> None:
    _add(web, check=False)
    paths = [
        ("GET", "/api/v1/channels", None),
        ("POST", "/api/v1/channels", {"name": "x", "url": CLOSED, "password": "p"}),
        ("GET", "/api/v1/channels/inbox", None),
        ("PATCH", "/api/v1/channels/inbox", {"interval": 90}),
        ("DELETE", "/api/v1/channels/inbox", None),
        ("POST", "/api/v1/channels/inbox/check", None),
        ("POST", "/api/v1/channels/inbox/enable", None),
        ("POST", "/api/v1/channels/inbox/disable", None),
        ("POST", "/api/v1/channels/inbox/poll", None),
        ("POST", "/api/v1/check", {"url": CLOSED}),
    ]
    for method, path, body in paths:
        _is_problem(web.client.request(method, path, json=body, headers=web.agent()), 403)
        _is_problem(web.client.request(method, path, json=body), 401)
    assert web.app.channels.show("inbox").interval_s == 60  # nothing was changed


def test_an_add_whose_check_fails_keeps_the_channel_disabled(
    web: Web, answers: Answers, caplog: pytest.LogCaptureFixture
) -> None:
    made = _add(web, interval=120, max_failures=3, address="help@example.org")
    assert made.status_code == 201, made.text
    data = made.json()
    stored = web.app.channels.show("inbox")
    assert data == {**channel_detail_json(stored), "warning": data["warning"]}
    assert data["enabled"] is False and data["last_check_ok"] is False
    assert data["interval"] == 120 and data["max_failures"] == 3
    assert [s["name"] for s in data["last_check"]["steps"] if s["ok"] is False] == ["tcp"]
    assert "no route covers" in data["warning"]
    assert web.app.secrets.open(stored.password_enc or "").reveal() == SECRET
    listed = web.client.get("/api/v1/channels", headers=web.admin())
    assert listed.json() == [channel_json(web.app.channels.show("inbox"))]
    shown = web.client.get("/api/v1/channels/inbox", headers=web.admin())
    assert shown.json() == channel_detail_json(web.app.channels.show("inbox"))
    answers.assert_never(SECRET)
    assert SECRET not in caplog.text


def test_enable_is_gated_on_a_passed_check(web: Web, answers: Answers) -> None:
    _add(web, check=False)
    refused = web.client.post("/api/v1/channels/inbox/enable", headers=web.admin())
    problem = _is_problem(refused, 409)
    assert "tcp" in str(problem["detail"]) and "PATCH /api/v1/channels/inbox" in str(
        problem["detail"]
    )
    check = problem["check"]
    assert isinstance(check, dict) and check["ok"] is False and check["url"] == CLOSED
    assert web.app.channels.show("inbox").enabled is False
    forced = web.client.post("/api/v1/channels/inbox/enable?force=true", headers=web.admin())
    assert forced.status_code == 200 and forced.json()["enabled"] is True
    off = web.client.post("/api/v1/channels/inbox/disable", headers=web.admin())
    assert off.status_code == 200
    assert (off.json()["enabled"], off.json()["disabled_reason"]) == (False, "disabled by a user")
    answers.assert_never(SECRET)


def test_check_answers_the_check_json_shape_and_keeps_it(web: Web, answers: Answers) -> None:
    _add(web, check=False)
    checked = web.client.post("/api/v1/channels/inbox/check", headers=web.admin())
    assert checked.status_code == 200
    data = checked.json()
    assert set(data) == {"url", "ok", "steps", "complete", "untested"}
    assert data["ok"] is False and data["url"] == CLOSED
    assert [s["name"] for s in data["steps"]][:2] == ["dns", "tcp"]
    for step in data["steps"]:
        assert set(step) == {"name", "ok", "detail", "error", "hint"}
    kept = web.app.channels.show("inbox")
    assert kept.last_check_ok is False and kept.last_error_class == "connection"
    answers.assert_never(SECRET)


def test_patch_changes_what_is_given_and_checks_a_new_connection(
    web: Web, answers: Answers, caplog: pytest.LogCaptureFixture
) -> None:
    _add(web, check=False)
    web.client.post("/api/v1/channels/inbox/enable?force=true", headers=web.admin())
    slower = web.client.patch(
        "/api/v1/channels/inbox", json={"interval": 300, "max_failures": 4}, headers=web.admin()
    )
    assert slower.status_code == 200
    assert (slower.json()["interval"], slower.json()["max_failures"]) == (300, 4)
    assert slower.json()["enabled"] is True  # no connection setting changed: no check
    new_secret = "An0ther-Secret-Pw-77"
    moved = web.client.patch(
        "/api/v1/channels/inbox",
        json={"password": new_secret, "authzid": "shared@example.org"},
        headers=web.admin(),
    )
    assert moved.status_code == 200
    data = moved.json()
    assert data["authzid"] == "shared@example.org"
    assert data["enabled"] is False and data["last_check_ok"] is False  # checked, failed
    stored = web.app.channels.show("inbox")
    assert web.app.secrets.open(stored.password_enc or "").reveal() == new_secret
    _is_problem(web.client.patch("/api/v1/channels/inbox", json={}, headers=web.admin()), 422)
    cleared = web.client.patch("/api/v1/channels/inbox", json={"authzid": ""}, headers=web.admin())
    assert cleared.status_code == 200 and cleared.json()["authzid"] is None
    kept = web.client.patch("/api/v1/channels/inbox", json={"after": "keep"}, headers=web.admin())
    assert kept.status_code == 200 and web.app.channels.show("inbox").after == "keep"
    for pop3_only in ({"folder": "Archive"}, {"after": "move:Archive"}, {"after": "shred"}):
        refused = web.client.patch("/api/v1/channels/inbox", json=pop3_only, headers=web.admin())
        _is_problem(refused, 422)
    assert web.app.channels.show("inbox").folder is None
    for secret in (SECRET, new_secret):
        answers.assert_never(secret)
        assert secret not in caplog.text


def test_poll_now_answers_with_the_poll_counts(web: Web) -> None:
    _add(web, check=False)
    polled = web.client.post("/api/v1/channels/inbox/poll", headers=web.admin())
    assert polled.status_code == 200
    data = polled.json()
    assert data["channel"] == "inbox"
    assert (data["fetched"], data["handled"], data["quarantined"]) == (0, 0, 0)
    assert data["errors"] and data["error_class"] == "connection"
    assert web.app.channels.show("inbox").failure_count == 1


def test_unknown_taken_and_invalid_are_problems(web: Web, answers: Answers) -> None:
    _add(web, check=False)
    _is_problem(_add(web, check=False), 409)
    for method, path in (
        ("GET", "/api/v1/channels/nope"),
        ("PATCH", "/api/v1/channels/nope"),
        ("DELETE", "/api/v1/channels/nope"),
        ("POST", "/api/v1/channels/nope/check"),
        ("POST", "/api/v1/channels/nope/enable"),
        ("POST", "/api/v1/channels/nope/disable"),
        ("POST", "/api/v1/channels/nope/poll"),
    ):
        body = {"interval": 60} if method == "PATCH" else None
        _is_problem(web.client.request(method, path, json=body, headers=web.admin()), 404)
    invalid: list[dict[str, object]] = [
        {"url": "http://help@example.org"},
        {"url": "smtps://help@127.0.0.1:465"},
        {"url": "pop3s://127.0.0.1:995"},
        {"url": f"pop3s://help:{SECRET}@127.0.0.1:995"},
        {"interval": 1},
        {"max_failures": 0},
        {"name": "a/b"},
        {"name": "tab\there"},
        {"ca_file": "/nonexistent/ca.pem"},
        {"after": "shred"},
        {"folder": "Archive"},  # a POP3 mailbox has no folders
        {"password": ""},
        {"surprise": True},
    ]
    for n, change in enumerate(invalid):
        body = {"name": f"bad{n}", "url": CLOSED, "password": SECRET, "check": False, **change}
        sent = web.client.post("/api/v1/channels", json=body, headers=web.admin())
        problem = _is_problem(sent, 422)
        assert SECRET not in str(problem)
    _is_problem(
        web.client.post(
            "/api/v1/channels", json={"name": "nopw", "url": CLOSED}, headers=web.admin()
        ),
        422,
    )
    assert [c.name for c in web.app.channels.list()] == ["inbox"]
    answers.assert_never(SECRET)


def test_remove_forgets_a_channel_unless_it_stored_mail(web: Web) -> None:
    _add(web, check=False)
    _add(web, "sales", check=False)
    web.app.ingest.ingest(b"From: a@example.com\r\nSubject: hi\r\n\r\nhello\r\n", channel="sales")
    assert web.client.delete("/api/v1/channels/inbox", headers=web.admin()).status_code == 204
    _is_problem(web.client.get("/api/v1/channels/inbox", headers=web.admin()), 404)
    kept = _is_problem(web.client.delete("/api/v1/channels/sales", headers=web.admin()), 409)
    assert "disable it instead" in str(kept["detail"])
    assert [c.name for c in web.app.channels.list()] == ["sales"]


def test_list_pages_by_name(web: Web) -> None:
    for name in ("c", "a", "b"):
        _add(web, name, check=False)
    first = web.client.get("/api/v1/channels?limit=2", headers=web.admin())
    assert [c["name"] for c in first.json()] == ["a", "b"]
    assert 'rel="next"' in first.headers["link"]
    rest = web.client.get("/api/v1/channels?limit=2&after=b", headers=web.admin())
    assert [c["name"] for c in rest.json()] == ["c"] and "link" not in rest.headers


def test_a_check_by_url_stores_nothing_and_never_echoes_the_password(
    web: Web, answers: Answers, caplog: pytest.LogCaptureFixture
) -> None:
    checked = web.client.post(
        "/api/v1/check",
        json={"url": CLOSED, "password": SECRET, "timeout": 2},
        headers=web.admin(),
    )
    assert checked.status_code == 200
    assert checked.json()["ok"] is False and checked.json()["url"] == CLOSED
    assert web.app.channels.list() == []
    for wrong in (
        {"url": "gopher://example.org"},
        {"url": CLOSED, "send_to": "x@example.org"},  # send_to is for SMTP
        {"url": CLOSED, "timeout": 0},
        {"url": CLOSED, "timeout": 31},
        {"url": CLOSED, "ca_file": "/nonexistent/ca.pem"},
        {"url": f"pop3s://help:{SECRET}@127.0.0.1:995"},
        {"url": CLOSED, "password": SECRET, "extra": 1},
    ):
        problem = _is_problem(
            web.client.post("/api/v1/check", json=wrong, headers=web.admin()), 422
        )
        assert SECRET not in str(problem)
    answers.assert_never(SECRET)
    assert SECRET not in caplog.text


def test_a_check_is_bounded_in_time_and_in_number(web: Web, answers: Answers) -> None:
    """A server that takes the connection and never speaks: the request answers 504 after
    the budget (0.5 s here), not after the check's own timeouts; while that check still
    runs, its slot is taken, so one more is a 503 with Retry-After."""
    web.client.app.state.check_budget = CheckBudget(slots=1, seconds=0.5)  # type: ignore[attr-defined]
    with socket.create_server(("127.0.0.1", 0)) as silent:
        url = f"pop3s://help@127.0.0.1:{silent.getsockname()[1]}"
        body = {"url": url, "password": SECRET, "timeout": 5}
        started = time.monotonic()
        slow = web.client.post("/api/v1/check", json=body, headers=web.admin())
        assert time.monotonic() - started < 3
        assert "did not finish within 0.5 s" in str(_is_problem(slow, 504)["detail"])
        busy = web.client.post("/api/v1/channels/nope/check", headers=web.admin())
        assert _is_problem(busy, 503) and busy.headers["retry-after"].isdigit()
    answers.assert_never(SECRET)


def test_poll_now_does_not_double_a_poll_under_way(web: Web) -> None:
    """Another process (another host) holds the channel's lease: the poll through the API
    is skipped, saying so, and never opens the mailbox."""
    _add(web, check=False)
    channel = web.app.channels.show("inbox")
    with web.app.storage.writing() as uow:
        assert uow.polls.take_lease(channel.id, "otherhost:1", utcnow(), timedelta(minutes=5))
    polled = web.client.post("/api/v1/channels/inbox/poll", headers=web.admin())
    assert polled.status_code == 200
    assert polled.json()["skipped"] == "another poller holds this channel"
    assert polled.json()["errors"] == [] and polled.json()["fetched"] == 0
    assert web.app.channels.show("inbox").failure_count == 0


def test_the_budget_hands_back_results_and_errors_and_logs_what_came_too_late(
    caplog: pytest.LogCaptureFixture,
) -> None:
    budget = CheckBudget(slots=2, seconds=0.3)
    assert budget.run(lambda: 42, "the sum") == 42

    def refused() -> int:
        raise UserError("no such host")

    with pytest.raises(UserError, match="no such host"):
        budget.run(refused, "the check")
    release = threading.Event()

    def late() -> int:
        release.wait(5)
        raise RuntimeError("the server hung up")

    with pytest.raises(ProblemError) as gave_up:
        budget.run(late, "the slow check", "look in last_check")
    assert gave_up.value.status_code == 504
    assert gave_up.value.detail.endswith("; look in last_check")
    release.set()
    deadline = time.monotonic() + 5
    while "the server hung up" not in caplog.text and time.monotonic() < deadline:
        time.sleep(0.01)
    assert "the slow check failed after its request gave up" in caplog.text
    assert budget.run(lambda: "free again", "a check") == "free again"
