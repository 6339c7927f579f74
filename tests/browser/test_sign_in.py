"""Signing in and out in a real browser: the redirect to /login with ``next``, a wrong
password, the right one, the session cookie's flags, signing out; the one-time sign-up
link while no admin exists."""

from __future__ import annotations

import os
from collections.abc import Callable

from playwright.sync_api import Page, expect
from tests.browser.conftest import PASSWORD, Served, sign_in


def test_a_page_asks_to_sign_in_then_opens(page: Page, served: Served) -> None:
    page.goto(served.url("/outbox?status=all"))
    assert page.url == served.url("/login?next=%2Foutbox%3Fstatus%3Dall")
    expect(page.locator("h1")).to_have_text("Sign in")

    page.fill("input[name=username]", "ada")
    page.fill("input[name=password]", "not the password")
    page.click("button[type=submit]")
    expect(page.locator(".flash.error")).to_have_text("Wrong name or password.")
    if os.environ.get("POSTROOM_SCREENSHOTS", "") not in ("", "1"):
        page.screenshot(path=os.path.join(os.environ["POSTROOM_SCREENSHOTS"], "login.png"))
    expect(page.locator("input[name=username]")).to_have_value("ada")
    assert page.context.cookies() == []

    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    expect(page.locator("h1")).to_contain_text("Outbox")
    assert page.url == served.url("/outbox?status=all")
    (cookie,) = page.context.cookies()
    assert cookie["name"] == "postroom_session"
    assert cookie["httpOnly"] and cookie["sameSite"] == "Strict"
    assert page.evaluate("document.cookie") == ""  # no script reads the session


def test_next_never_leaves_the_site(page: Page, served: Served) -> None:
    for foreign in ("https://evil.example/", "//evil.example/x", "/\\evil.example"):
        page.goto(served.url("/login?next=") + foreign.replace("/", "%2F"))
        page.fill("input[name=username]", "bob")
        page.fill("input[name=password]", PASSWORD)
        page.click("button[type=submit]")
        expect(page.locator("h1")).to_contain_text("Dashboard")
        assert page.url == served.url("/")
        page.context.clear_cookies()


def test_signing_out_ends_the_session(page: Page, served: Served) -> None:
    sign_in(page, served, "bob")
    expect(page.locator("form.who")).to_contain_text("bob (agent)")
    page.click("form.who button")
    expect(page.locator(".flash.ok")).to_have_text("Signed out.")
    page.goto(served.url("/quarantine"))
    assert page.url == served.url("/login?next=%2Fquarantine")


def test_too_many_wrong_passwords_wait(page: Page, served: Served) -> None:
    page.goto(served.url("/login"))
    for _ in range(10):
        page.fill("input[name=username]", "ada")
        page.fill("input[name=password]", "guess")
        page.click("button[type=submit]")
        expect(page.locator(".flash.error")).to_be_visible()
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    expect(page.locator(".flash.error")).to_contain_text("Too many failed sign-ins")
    assert page.context.cookies() == []


def test_the_sign_up_link_makes_the_first_admin(page: Page, serve: Callable[..., Served]) -> None:
    served = serve(users=False)
    page.goto(served.url("/"))
    expect(page.locator(".note")).to_contain_text("one-time sign-up link")
    token = served.app.accounts.signup_token()
    assert token is not None
    page.goto(served.url(f"/signup?token={token}"))
    page.fill("input[name=name]", "root")
    page.fill("input[name=password]", "pw-root-1234")
    page.click("button[type=submit]")
    expect(page.locator("main")).to_contain_text("Signed in as root (admin)")
    page.click("text=Go to the dashboard")
    expect(page.locator("h1")).to_contain_text("Dashboard")
    expect(page.locator("nav")).to_contain_text("Users")
    page.goto(served.url(f"/signup?token={token}"))
    expect(page.locator("main")).to_contain_text("An admin exists already")
