"""Each page in a real browser: the dashboard (and its screenshot for the README), the
quarantine with a retry, the unhandled list, the outbox with cancel and retry, users and
tokens; what an agent may not open."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, expect
from tests.browser.conftest import Served, sign_in
from tests.browser.seed import fill_dashboard
from tests.support.mails import make_mail

import postroom.services.ingest as ingest_module
from postroom.records.statuses import OutboxStatus

SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"


def _screenshot(page: Page, name: str) -> None:
    """Saved when ``POSTROOM_SCREENSHOTS`` asks: ``1`` into docs/screenshots (the README's),
    a folder's path into that folder (NAME.png)."""
    wanted = os.environ.get("POSTROOM_SCREENSHOTS", "")
    if wanted:
        folder = SCREENSHOTS if wanted == "1" else Path(wanted)
        folder.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(folder / f"{name}.png"), full_page=True)


def test_the_dashboard_shows_every_channel_failing_first(page: Page, served: Served) -> None:
    fill_dashboard(served.app)
    sign_in(page, served)
    expect(page.locator("h1")).to_contain_text("Dashboard")
    rows = page.locator("#channels + .table tbody tr")
    expect(rows).to_have_count(5)
    names = [rows.nth(i).locator("td").first.inner_text() for i in range(5)]
    assert names == ["hr-shared", "billing", "projects", "sales", "support-eu"]
    billing = rows.nth(1)
    expect(billing).to_contain_text("● on")
    expect(billing).to_contain_text("authentication: AUTHENTICATE PLAIN refused")
    expect(billing).to_contain_text("Hint: check the channel's user name, password")
    expect(billing).to_contain_text("✓ passed")
    hr = rows.nth(0)
    expect(hr).to_contain_text("○ off")
    expect(hr).to_contain_text("switched off after 3 consecutive failures (tls)")
    expect(hr).to_contain_text("✗ failed")
    expect(hr).to_contain_text("Hint: the server's certificate has expired")
    expect(rows.nth(2)).to_contain_text("never run")
    support = rows.nth(4)
    expect(support.locator("td.num").first).to_have_text("3")  # messages today
    expect(support).to_contain_text("2 min ago")
    servers = page.locator("#smtp + .table tbody tr")
    expect(servers).to_have_count(2)
    expect(servers.nth(1)).to_contain_text("535 5.7.8 Authentication credentials invalid")
    expect(page.locator(".tiles")).to_contain_text("2channels failing")
    expect(page.locator("meta[http-equiv=refresh]")).to_have_attribute("content", "30")
    # the style sheet applies (the page CSP lets this site's styles in, nothing inline)
    header = page.evaluate("getComputedStyle(document.querySelector('header.top')).display")
    assert header == "flex"
    _screenshot(page, "dashboard")
    page.set_viewport_size({"width": 390, "height": 844})
    _screenshot(page, "dashboard-phone")


def test_a_retry_from_quarantine(
    page: Page, served: Served, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*_a: Any, **_k: Any) -> Any:
        raise RuntimeError("handler exploded")

    original = ingest_module.decide
    monkeypatch.setattr(ingest_module, "decide", broken)
    result = served.app.ingest.ingest(make_mail())
    assert result.error
    monkeypatch.setattr(ingest_module, "decide", original)

    sign_in(page, served, "bob")  # an agent may retry
    page.click("nav >> text=Quarantine")
    row = page.locator("tbody tr")
    expect(row).to_have_count(1)
    expect(row).to_contain_text("RuntimeError: handler exploded")
    _screenshot(page, "quarantine")
    row.locator("button", has_text="Retry").click()
    expect(page.locator(".flash.ok")).to_contain_text(f"Message {result.message_row} handled")
    expect(page.locator(".empty")).to_have_text("Nothing in quarantine.")
    assert served.app.quarantine.quarantined() == []


def test_the_unhandled_list_says_why(page: Page, serve: Callable[..., Served]) -> None:
    served = serve(POSTROOM_UNROUTED_POLICY="unhandled")
    served.app.ingest.ingest(make_mail(subject="Where does this go?", to="nobody@example.com"))
    sign_in(page, served, "bob")
    page.goto(served.url("/unhandled"))
    row = page.locator("tbody tr")
    expect(row).to_have_count(1)
    expect(row).to_contain_text("Where does this go?")
    expect(row).to_contain_text("carol@customer.test")
    expect(page.locator(".tiles, main")).to_contain_text("An admin adds a route")
    row.locator("button", has_text="Retry").click()  # no route yet: still waiting
    expect(page.locator(".flash.error")).to_contain_text("still unhandled")
    served.app.routes.add("nobody@example.com", "Acme", "Query", "desk")
    page.locator("tbody tr button", has_text="Retry").click()
    expect(page.locator(".flash.ok")).to_contain_text("handled (new_ticket)")
    expect(page.locator(".empty")).to_have_text("No unhandled mail.")
    assert served.app.quarantine.unhandled() == []


def test_the_outbox_cancels_and_retries(page: Page, served: Served) -> None:
    served.app.ingest.ingest(make_mail(subject="No route here", to="nobody@example.com"))
    (queued,) = served.app.outbox.list()  # the "address not configured" answer
    sign_in(page, served, "bob")
    page.goto(served.url("/outbox"))
    row = page.locator("tbody tr")
    expect(row).to_contain_text("queued")
    expect(row).to_contain_text("carol@customer.test")
    _screenshot(page, "outbox")
    row.locator("button", has_text="Cancel").click()
    expect(page.locator(".flash.ok")).to_contain_text("cancelled")
    assert served.app.outbox.list()[0].status == OutboxStatus.CANCELLED
    expect(page.locator(".empty")).to_contain_text("No outbound mail waiting or failed")

    page.select_option("select[name=status]", "cancelled")
    page.click("text=Show")
    page.locator("tbody tr button", has_text="Retry").click()
    expect(page.locator(".flash.ok")).to_have_text(f"Outbox message {queued.id} is queued again.")
    assert served.app.outbox.list()[0].status == OutboxStatus.QUEUED


def test_admins_manage_users_and_tokens(page: Page, served: Served) -> None:
    sign_in(page, served)
    page.click("nav >> text=Users")
    form = page.locator("form[action='/users']")
    form.locator("input[name=name]").fill("cy")
    form.locator("select[name=role]").select_option("agent")
    form.locator("input[name=password]").fill("pw-cy-12345")
    form.locator("button").click()
    expect(page.locator(".flash.ok")).to_contain_text("User cy (agent) added")
    assert served.app.accounts.verify_password("cy", "pw-cy-12345") is not None

    tokens = page.locator("form[action='/tokens']")
    tokens.locator("select[name=user]").select_option("cy")
    tokens.locator("input[name=label]").fill("monitoring")
    tokens.locator("button").click()
    secret = page.locator("#new-token").inner_text()
    _screenshot(page, "users")
    assert served.app.accounts.principal_for_token(secret) is not None
    page.goto(served.url("/users"))  # shown once: a later visit shows no secret
    expect(page.locator("#new-token")).to_have_count(0)
    assert secret not in page.content()

    row = page.locator("tr", has_text="monitoring")
    row.locator("button", has_text="Revoke").click()
    expect(page.locator(".flash.ok")).to_contain_text("revoked")
    assert served.app.accounts.principal_for_token(secret) is None

    page.locator("tr:has(td:text-is('cy'))").locator("button", has_text="Remove").click()
    expect(page.locator(".flash.ok")).to_contain_text("User cy removed")
    assert [u.name for u in served.app.users.list()] == ["ada", "bob"]


def test_an_agent_sees_no_admin_page(page: Page, served: Served) -> None:
    sign_in(page, served, "bob")
    nav = page.locator("nav")
    expect(nav).to_contain_text("Quarantine")
    expect(nav).not_to_contain_text("Users")
    answer = page.goto(served.url("/users"))
    assert answer is not None and answer.status == 403
    expect(page.locator("h1")).to_contain_text("Forbidden")
    answer = page.goto(served.url("/no-such-page"))
    assert answer is not None and answer.status == 404
    expect(page.locator("main")).to_contain_text("There is no page at this address.")
    _screenshot(page, "not-found")


def test_a_form_without_the_sessions_csrf_changes_nothing(page: Page, served: Served) -> None:
    served.app.ingest.ingest(make_mail(subject="No route here", to="nobody@example.com"))
    (queued,) = served.app.outbox.list()
    sign_in(page, served, "bob")
    expect(page.locator("h1")).to_contain_text("Dashboard")
    for form, headers in (({}, {}), ({"csrf": "forged"}, {}), ({}, {"X-CSRF-Token": "forged"})):
        answer = page.request.post(
            served.url(f"/outbox/{queued.id}/cancel"), form=form, headers=headers, max_redirects=0
        )
        assert answer.status == 403
    assert served.app.outbox.list()[0].status == OutboxStatus.QUEUED
    (cookie,) = page.context.cookies()
    session = served.app.accounts.principal_for_session(cookie["value"])
    assert session is not None
    answer = page.request.post(  # a page's script sends the token as a header
        served.url(f"/outbox/{queued.id}/cancel"),
        headers={"X-CSRF-Token": session.csrf},
        max_redirects=0,
    )
    assert answer.status == 303
    assert served.app.outbox.list()[0].status == OutboxStatus.CANCELLED
