"""Channels and checks through the API against the loopback Dovecot (a real POP3 server
with TLS, tests/support/mailstack.py), on SQLite and PostgreSQL: a check by URL passes
with the right password and fails at ``auth`` with a wrong one, a channel added through
the API is enabled by its passed check and polled now, and no password comes back in
any answer or log line."""

from __future__ import annotations

import logging

import pytest
from tests.web.conftest import Web
from tests.web.test_api_channels import Answers

from support.mailstack import Mailstack


@pytest.fixture
def answers(web: Web, caplog: pytest.LogCaptureFixture) -> Answers:
    caplog.set_level(logging.DEBUG)
    return Answers(web)


def test_a_check_by_url_against_dovecot(
    web: Web, mailstack: Mailstack, answers: Answers, caplog: pytest.LogCaptureFixture
) -> None:
    address, password = mailstack.new_user("apicheck")
    url = f"pop3s://{address}@{mailstack.host}:{mailstack.pop3s_port}"
    body = {"url": url, "password": password, "ca_file": str(mailstack.ca_file), "timeout": 5}
    passed = web.client.post("/api/v1/check", json=body, headers=web.admin())
    assert passed.status_code == 200
    data = passed.json()
    assert data["ok"] is True and data["complete"] is True, data
    assert {s["name"]: s["ok"] for s in data["steps"]} == {
        "dns": True,
        "tcp": True,
        "tls": True,
        "certificate": True,
        "greeting": True,
        "capabilities": True,
        "auth": True,
        "mailbox": True,
    }
    wrong = "Wrong-Password-123"
    failed = web.client.post("/api/v1/check", json={**body, "password": wrong}, headers=web.admin())
    assert failed.status_code == 200
    steps = {s["name"]: s for s in failed.json()["steps"]}
    assert failed.json()["ok"] is False and steps["auth"]["ok"] is False
    assert steps["mailbox"]["ok"] is None
    untested = web.client.post(
        "/api/v1/check", json={"url": url, "ca_file": str(mailstack.ca_file)}, headers=web.admin()
    )
    assert untested.json()["complete"] is False and untested.json()["untested"] == [
        "auth",
        "mailbox",
    ]
    for secret in (password, wrong):
        answers.assert_never(secret)
        assert secret not in caplog.text


def test_a_channel_added_through_the_api_is_enabled_by_its_check_and_polled(
    web: Web, mailstack: Mailstack, answers: Answers, caplog: pytest.LogCaptureFixture
) -> None:
    address, password = mailstack.new_user("apichannel")
    web.app.routes.add(address, "C", "K", "Q")
    url = f"pop3s://{address}@{mailstack.host}:{mailstack.pop3s_port}"
    made = web.client.post(
        "/api/v1/channels",
        json={
            "name": "dovecot",
            "url": url,
            "password": password,
            "ca_file": str(mailstack.ca_file),
        },
        headers=web.admin(),
    )
    assert made.status_code == 201, made.text
    assert made.json()["enabled"] is True and made.json()["last_check_ok"] is True
    assert made.json()["address"] == address and made.json()["warning"] is None
    mailstack.fill(address, 2, size_kb=1)
    polled = web.client.post("/api/v1/channels/dovecot/poll", headers=web.admin())
    assert polled.status_code == 200
    counts = polled.json()
    assert (counts["fetched"], counts["handled"], counts["errors"]) == (2, 2, []), counts
    assert mailstack.count(address) == 0  # --after delete: taken off the server
    web.client.post("/api/v1/channels/dovecot/disable", headers=web.admin())
    enabled = web.client.post("/api/v1/channels/dovecot/enable", headers=web.admin())
    assert enabled.status_code == 200 and enabled.json()["enabled"] is True
    assert enabled.json()["last_check"]["ok"] is True
    checked = web.client.post("/api/v1/channels/dovecot/check", headers=web.admin())
    assert checked.json()["ok"] is True
    wrong = "Wrong-Password-456"
    changed = web.client.patch(
        "/api/v1/channels/dovecot", json={"password": wrong}, headers=web.admin()
    )
    assert changed.status_code == 200
    assert changed.json()["enabled"] is False and changed.json()["last_check_ok"] is False
    refused = web.client.post("/api/v1/channels/dovecot/enable", headers=web.admin())
    assert refused.status_code == 409
    assert refused.json()["detail"].startswith(
        "channel dovecot stays disabled: check failed at auth"
    )
    for secret in (password, wrong):
        answers.assert_never(secret)
        assert secret not in caplog.text


def test_an_imap_channel_through_the_api_keeps_mail_when_asked(
    web: Web, mailstack: Mailstack, answers: Answers
) -> None:
    """``folder`` and ``after`` reach the channel: an IMAPS channel that keeps its mail
    takes each message once and leaves it on the server."""
    address, password = mailstack.new_user("apiimap")
    web.app.routes.add(address, "C", "K", "Q")
    url = f"imaps://{address}@{mailstack.host}:{mailstack.imaps_port}"
    ca_file = str(mailstack.ca_file)
    checked = web.client.post(
        "/api/v1/check",
        json={"url": url, "password": password, "ca_file": ca_file},
        headers=web.admin(),
    )
    assert checked.json()["ok"] is True and checked.json()["complete"] is True
    body = {"name": "imap", "url": url, "password": password, "ca_file": ca_file}
    made = web.client.post(
        "/api/v1/channels", json={**body, "folder": "INBOX", "after": "keep"}, headers=web.admin()
    )
    assert made.status_code == 201 and made.json()["enabled"] is True, made.text
    assert web.app.channels.show("imap").after == "keep"
    mailstack.fill(address, 2, size_kb=1)
    for fetched in (2, 0):
        polled = web.client.post("/api/v1/channels/imap/poll", headers=web.admin()).json()
        assert (polled["fetched"], polled["errors"]) == (fetched, []), polled
    assert mailstack.count(address) == 2  # kept on the server, taken once
    deleting = web.client.patch(
        "/api/v1/channels/imap", json={"after": "delete"}, headers=web.admin()
    )
    assert deleting.status_code == 200 and deleting.json()["enabled"] is True
    assert web.app.channels.show("imap").after in (None, "delete")
    mailstack.fill(address, 1, size_kb=1)
    polled = web.client.post("/api/v1/channels/imap/poll", headers=web.admin()).json()
    assert (polled["fetched"], polled["errors"]) == (1, []), polled
    with_nul = web.client.patch(
        "/api/v1/channels/imap", json={"folder": "Nowhere\u0000"}, headers=web.admin()
    )
    assert with_nul.status_code == 422  # a NUL never reaches the database
    answers.assert_never(password)
