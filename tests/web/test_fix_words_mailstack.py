"""A failed check's fix in the web door's own words, against the loopback Dovecot (a wrong
password fails at ``auth``), on SQLite and PostgreSQL: the API names its field names (the
409 problem's ``fix`` and ``detail``, each step's ``hint``), the pages their form fields;
neither names a command-line option. So does an outbox message's last error."""

from __future__ import annotations

import re

from tests.web.conftest import Web
from tests.web.test_ui_config_channels import signed_in

from postroom.clock import utcnow
from support.mailstack import Mailstack

_OPTION = re.compile(r"--[a-z]")


def _wrong_channel(web: Web, mailstack: Mailstack, name: str) -> None:
    """A POP3 channel whose stored password is wrong: added, then its password changed."""
    address, password = mailstack.new_user(name)
    url = f"pop3s://{address}@{mailstack.host}:{mailstack.pop3s_port}"
    body = {"name": name, "url": url, "password": password, "ca_file": str(mailstack.ca_file)}
    made = web.client.post("/api/v1/channels", json=body, headers=web.admin())
    assert made.status_code == 201 and made.json()["enabled"] is True, made.text
    warning = made.json()["warning"]
    assert warning.endswith("; add one with POST /api/v1/routes"), warning
    assert not _OPTION.search(warning), warning
    changed = web.client.patch(
        f"/api/v1/channels/{name}", json={"password": "Wrong-Password-789"}, headers=web.admin()
    )
    assert changed.json()["last_check_ok"] is False, changed.text


def test_the_api_names_the_fix_by_its_field_names(web: Web, mailstack: Mailstack) -> None:
    _wrong_channel(web, mailstack, "apifix")
    refused = web.client.post("/api/v1/channels/apifix/enable", headers=web.admin())
    assert refused.status_code == 409
    problem = refused.json()
    assert problem["fix"] == {"settings": ["password", "authzid"], "about": "the login"}
    assert "with authzid, the user must be allowed" in problem["detail"], problem["detail"]
    assert not _OPTION.search(problem["detail"]), problem["detail"]
    hints = [s["hint"] for s in problem["check"]["steps"] if s["hint"]]
    checked = web.client.post("/api/v1/channels/apifix/check", headers=web.admin()).json()
    hints += [s["hint"] for s in checked["steps"] if s["hint"]]
    assert hints and not [h for h in hints if _OPTION.search(h)], hints
    shown = web.client.get("/api/v1/channels/apifix", headers=web.admin()).json()
    listed = web.client.get("/api/v1/channels", headers=web.admin()).json()
    assert "with authzid, the user must" in shown["last_error"], shown
    assert [c["last_error"] for c in listed] == [shown["last_error"]]
    hints = [s["hint"] for s in shown["last_check"]["steps"] if s["hint"]]
    assert hints and not [h for h in hints if _OPTION.search(h)], hints


def test_a_service_refusal_names_api_fields(web: Web) -> None:
    """A service's own error (worded with CLI options) reaches the API in its field names."""
    body = {"name": "noca", "url": "pop3s://u@127.0.0.1:1", "password": "x"}
    answer = web.client.post(
        "/api/v1/channels", json={**body, "ca_file": "/nonexistent/ca.pem"}, headers=web.admin()
    )
    assert answer.status_code == 422
    detail = answer.json()["detail"]
    assert "give ca_file a PEM file" in detail and not _OPTION.search(detail), detail


def test_a_page_names_the_form_fields_to_change(web: Web, mailstack: Mailstack) -> None:
    _wrong_channel(web, mailstack, "pagefix")
    admin = signed_in(web)
    status, _, body = admin.post("/channels/pagefix/enable")
    assert status == 409
    assert "Change: the Password field or the Authorization identity field (the login)." in body
    assert not _OPTION.search(body.partition("<main")[2]), body


def test_an_outbox_error_names_the_api_path_and_the_page(web: Web) -> None:
    """Mail no SMTP server sends: its last error says where to add one, in each's words."""
    web.app.routes.add("help@example.org", "C", "K", "Q", True)
    web.app.ingest.ingest(
        b"From: Carol <carol@customer.example>\r\nTo: help@example.org\r\n"
        b"Subject: question\r\nMessage-ID: <q@customer.example>\r\n\r\nHelp.\r\n"
    )
    web.app.sender.send_due(utcnow())
    [row] = web.client.get("/api/v1/outbox", headers=web.admin()).json()
    assert "add one with POST /api/v1/smtp-servers with default true" in row["last_error"]
    assert not _OPTION.search(row["last_error"]), row
    body = signed_in(web).get("/outbox")
    assert "add one with a default server on the SMTP servers page" in body
    assert not _OPTION.search(body.partition("<main")[2])
