"""Test connection, live, in a real browser: against a server that accepts and keeps the
check waiting for its greeting, the page shows DNS and TCP passed while the check still
runs, then the failed greeting with its hint and the verdict; against the loopback
Dovecot, every step with the certificate's facts; the page's policy lets its script ask
this site and nothing else (a violation would fail the test: see the `page` fixture)."""

from __future__ import annotations

import re
import socket
import time
from collections.abc import Iterator

import pytest
from playwright.sync_api import Page, expect
from tests.browser.conftest import Served, sign_in

from postroom.credentials import Secret
from postroom.services.channels import NewChannel
from support.mailstack import Mailstack

WAIT = 4
"""Seconds the check waits for the silent server's greeting (the channel's timeout)."""


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A server that accepts and never greets."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)
        yield listener.getsockname()[1]


def test_the_first_steps_show_before_the_check_ends(
    page: Page, served: Served, silent_port: int
) -> None:
    url = f"pop3://someone@127.0.0.1:{silent_port}"
    served.app.channels.add(NewChannel("slow", url, Secret("pw-123456"), timeout=WAIT), check=False)
    sign_in(page, served)
    page.goto(served.url("/channels/slow"))
    started = time.monotonic()
    page.click("button:has-text('Test connection')")
    tcp = page.locator("#check li.step.ok[data-step=tcp]")
    expect(tcp).to_have_count(1, timeout=(WAIT - 1) * 1000)
    shown_after = time.monotonic() - started
    assert shown_after < WAIT - 1, shown_after
    expect(page.locator("#check h3")).to_have_text(
        "Checking… each step shows as the server answers it"
    )
    expect(page.locator("#check li[data-step=greeting]")).to_have_class("step pending")
    expect(page.locator("#check li[data-step=dns] .mark")).to_have_text("✓")
    expect(tcp.locator(".figure")).to_contain_text(f"connected to 127.0.0.1:{silent_port}")
    assert page.url == served.url("/channels/slow")  # no new page: the same one, updated

    heading = page.locator("#check h3")
    expect(heading).to_have_text("Check just run: ✗ failed at Greeting", timeout=15_000)
    assert time.monotonic() - started >= WAIT
    greeting = page.locator("#check li[data-step=greeting]")
    expect(greeting).to_have_class("step bad")
    expect(greeting.locator(".figure")).to_contain_text(f"{WAIT} s")
    expect(greeting.locator(".hint")).to_contain_text("Hint: ")
    expect(page.locator("#check li.step.skip")).to_have_count(5)
    expect(page.locator("button:has-text('Test connection')")).to_be_enabled()
    kept = served.app.channels.show("slow").last_check
    assert kept is not None and kept["ok"] is False


def test_a_good_server_step_by_step_with_its_certificate(
    page: Page, served: Served, mailstack: Mailstack
) -> None:
    address, password = mailstack.new_user("uilive")
    url = f"imap://{address}@{mailstack.host}:{mailstack.imap_port}"
    served.app.channels.add(
        NewChannel("dovecot", url, Secret(password), ca_file=mailstack.ca_file), check=False
    )
    sign_in(page, served)
    page.goto(served.url("/channels/dovecot"))
    policy = page.request.get(served.url("/channels/dovecot")).headers["content-security-policy"]
    assert policy.endswith("; connect-src 'self'")
    page.click("button:has-text('Test connection')")
    expect(page.locator("#check h3")).to_have_text("Check just run: ✓ all steps passed")
    expect(page.locator("#check li.step.ok")).to_have_count(8)
    certificate = page.locator("#check li[data-step=certificate]")
    for label in ("Subject", "Issuer", "Valid until", "Days left", "Trusted"):
        expect(certificate.locator("dt", has_text=label)).to_have_count(1)
    capabilities = page.locator("#check li[data-step=capabilities]")
    expect(capabilities).to_contain_text("(after STARTTLS)")
    expect(capabilities.locator("dt", has_text="Before STARTTLS")).to_have_count(1)
    expect(page.locator("#check li[data-step=mailbox]")).to_contain_text("0 messages")
    assert password not in page.content()


def test_signed_out_meanwhile_the_button_leads_to_the_sign_in_page(
    page: Page, served: Served, silent_port: int
) -> None:
    url = f"pop3://someone@127.0.0.1:{silent_port}"
    served.app.channels.add(NewChannel("slow", url, Secret("pw-123456"), timeout=WAIT), check=False)
    sign_in(page, served)
    page.goto(served.url("/channels/slow"))
    page.context.clear_cookies()
    page.click("button:has-text('Test connection')")
    expect(page).to_have_url(re.compile(r"/login\?next="))
    expect(page.locator("input[name=username]")).to_be_visible()
