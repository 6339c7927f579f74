"""The route and SMTP server pages in-process, on SQLite and PostgreSQL: admins only,
CSRF on every form, an invalid address refused with the route service's message (the
form keeps what was typed), edit and remove; an SMTP server added against a closed port
is kept off with its failed step, its test send address judged, removed after a
confirmation, and its password never shown."""

from __future__ import annotations

import re

from tests.web.conftest import Web
from tests.web.test_ui_config_channels import HTML, SECRET, Admin, admin, closed_port, signed_in

__all__ = ["admin"]  # the fixture, shared with the channel pages' tests


def test_only_admins_open_the_route_and_server_pages(web: Web) -> None:
    agent = signed_in(web, "bob")
    for path in ("/routes", "/smtp-servers", "/smtp-servers/new"):
        assert web.client.get(path, headers=HTML).status_code == 403, path
    status, _, _ = agent.post("/routes", address="a@example.org", context="C", category="K")
    assert status == 403
    assert web.app.routes.list() == []


def test_a_route_is_added_after_an_invalid_address_edited_and_removed(
    web: Web, admin: Admin
) -> None:
    fields = {"context": "Sales", "category": "Enquiry", "queue": "desk", "acknowledge": "on"}
    status, _, body = admin.post("/routes", address="Sales Team <sales@", **fields)
    assert status == 422
    error = re.search(r'<p class="flash error" role="alert">([^<]*)</p>', body)
    assert error is not None and "address" in error[1]
    assert 'value="Sales Team &lt;sales@"' in body and 'value="Enquiry"' in body
    assert web.app.routes.list() == []
    no_csrf = web.client.post(
        "/routes", data={"address": "sales@example.org", **fields}, headers=HTML
    )
    assert no_csrf.status_code == 403 and web.app.routes.list() == []
    status, _, body = admin.post("/routes", address="sales@example.org", **{**fields, "queue": ""})
    assert status == 422 and "Queue must not be empty" in body
    prefilled = admin.get("/routes?address=sales%40example.org")
    assert 'name="address" value="sales@example.org"' in prefilled
    assert admin.post("/routes", address="Sales@Example.org", **fields)[:2] == (303, "/routes")
    listing = admin.get("/routes")
    assert 'href="/routes/sales@example.org"' in listing
    for text in ("Sales", "Enquiry", "desk", "yes"):
        assert f">{text}</td>" in listing
    again = admin.post("/routes", address="sales@example.org", **fields)
    assert again[0] == 422 and "exists already" in again[2]
    page = admin.get("/routes/sales@example.org")
    assert 'value="Enquiry"' in page and "checked" in page
    changed = {**fields, "queue": "second-line", "acknowledge": ""}
    assert admin.post("/routes/sales@example.org", **changed)[0] == 303
    (route,) = web.app.routes.list()
    assert (route.queue, route.acknowledge) == ("second-line", False)
    assert admin.post("/routes/sales@example.org/remove")[:2] == (303, "/routes")
    assert web.app.routes.list() == []
    assert web.client.get("/routes/sales@example.org", headers=HTML).status_code == 404


def test_an_smtp_server_that_does_not_answer_stays_off(web: Web, admin: Admin) -> None:
    url = f"smtps://sender@127.0.0.1:{closed_port()}"
    status, _, body = admin.post("/smtp-servers/new", name="relay", url=url)
    assert status == 422 and "give the password in the Password field" in body
    assert 'value="relay"' in body
    status, where, _ = admin.post(
        "/smtp-servers/new", name="relay", url=url, password=SECRET, default="on"
    )
    assert (status, where) == (303, "/smtp-servers/relay")
    page = admin.get("/smtp-servers/relay")
    assert "SMTP server relay added, but it is not used: tcp:" in page
    assert 'data-steps="dns tcp tls certificate greeting capabilities auth send"' in page
    assert re.search(r'<li class="step bad" data-step="tcp">', page)
    assert SECRET not in page
    listing = admin.get("/smtp-servers")
    assert "/smtp-servers/relay" in listing and "default" in listing and "✗ failed" in listing
    refused = admin.post("/smtp-servers/relay/check", send_to="not an address")
    assert refused[0] == 422 and "Test-send address:" in refused[2]
    ran = admin.post("/smtp-servers/relay/check", send_to="someone@example.org")
    assert ran[0] == 200 and "Check just run" in ran[2]
    assert 'value="someone@example.org"' in ran[2]
    answer = web.client.post(
        "/smtp-servers/relay/check",
        data={"csrf": admin.csrf},
        headers={"Accept": "application/json"},
    )
    assert answer.json()["verdict"] == "failed at TCP"
    enable = admin.post("/smtp-servers/relay/enable")
    assert enable[0] == 409 and "SMTP server relay stays off: tcp:" in enable[2]
    fields = {"url": url, "authzid": "", "ca_file": "", "default": "on", "password": ""}
    assert admin.post("/smtp-servers/relay", **fields)[0] == 422  # nothing changed
    assert admin.post("/smtp-servers/relay", **{**fields, "send_as": "on"})[0] == 303
    assert web.app.servers.show("relay").send_as is True
    confirm = admin.get("/smtp-servers/relay/remove")
    assert "Remove SMTP server relay?" in confirm
    assert admin.post("/smtp-servers/relay/remove")[:2] == (303, "/smtp-servers")
    assert web.app.servers.list() == []
