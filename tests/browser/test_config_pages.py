"""The configuration pages in a real browser against the loopback mail stack: an admin adds
a channel for a Dovecot mailbox and tests its connection (every step ✓, the certificate's
subject, issuer, dates and days left), edits, disables, enables and removes it; a channel
whose server presents a self-signed certificate stops at the certificate step with the
hint and stays off; Test connection with the script (the steps listed while the check
runs) and without it; an SMTP server against the loopback Postfix tested with a test
send; a route added after an invalid address, edited and removed."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, expect
from tests.browser.conftest import PASSWORD, Served, sign_in

from postroom.credentials import Secret
from postroom.services.channels import NewChannel
from support.mailstack import Mailstack

STEPS = ["dns", "tcp", "tls", "certificate", "greeting", "capabilities", "auth", "mailbox"]


def _add_channel(page: Page, name: str, url: str, password: str, ca_file: str = "") -> None:
    page.click("nav >> text=Channels")
    page.click("text=Add a channel")
    page.fill("input[name=name]", name)
    page.fill("input[name=url]", url)
    page.fill("input[name=password]", password)
    if ca_file:
        page.fill("input[name=ca_file]", ca_file)
    page.click("button:has-text('Add and check')")


def _states(page: Page) -> dict[str, str]:
    steps = page.locator("#check li.step")
    return {
        steps.nth(i).get_attribute("data-step") or "": (steps.nth(i).get_attribute("class") or "")
        for i in range(steps.count())
    }


def test_a_dovecot_channel_added_tested_edited_and_removed(
    page: Page, served: Served, mailstack: Mailstack
) -> None:
    address, password = mailstack.new_user("uichannel")
    sign_in(page, served)
    url = f"pop3s://{address}@{mailstack.host}:{mailstack.pop3s_port}"
    _add_channel(page, "dovecot", url, password, str(mailstack.ca_file))
    expect(page).to_have_url(served.url("/channels/dovecot"))
    expect(page.locator(".flash.ok")).to_contain_text(
        "Channel dovecot added: its connection check passed and it is on."
    )
    expect(page.locator(".flash.ok")).to_contain_text(
        f"Note: no route covers {address} yet: add one on Routes."
    )
    expect(page.locator("h1")).to_contain_text("● on")
    expect(page.locator("#check li.step.ok")).to_have_count(8)
    page.click("button:has-text('Test connection')")
    expect(page.locator("#check h3")).to_contain_text("Check just run: ✓ all steps passed")
    assert _states(page) == {name: "step ok" for name in STEPS}
    certificate = page.locator("#check li[data-step=certificate]")
    for label in ("Subject", "Issuer", "Valid from", "Valid until", "Days left", "Trusted"):
        expect(certificate.locator("dt", has_text=label)).to_have_count(1)
    expect(certificate).to_contain_text("days left")
    expect(page.locator("#check li[data-step=mailbox]")).to_contain_text("0 messages")
    expect(page.locator("#check li[data-step=auth]")).to_contain_text(f"logged in as {address}")
    assert password not in page.content()

    page.fill("input[name=interval]", "120")
    page.click("button:has-text('Save')")
    expect(page.locator(".flash.ok")).to_have_text("Channel dovecot saved.")
    expect(page.locator("input[name=interval]")).to_have_value("120")
    assert served.app.channels.show("dovecot").interval_s == 120

    page.click("button:has-text('Disable')")
    expect(page.locator("h1")).to_contain_text("○ off")
    page.click("button:has-text('Enable')")
    expect(page.locator(".flash.ok")).to_have_text("Channel dovecot is on: its check passed.")
    expect(page.locator("h1")).to_contain_text("● on")

    warning = page.locator(".flash.warn")
    expect(warning).to_contain_text(f"no route covers {address}: every sender gets")
    warning.locator("a", has_text=f"Add a route for {address}").click()
    expect(page.locator("input[name=address]")).to_have_value(address)
    page.fill("input[name=context]", "Support")
    page.fill("input[name=category]", "Question")
    page.fill("input[name=queue]", "first-line")
    page.click("button:has-text('Add route')")
    expect(page.locator(".flash.ok")).to_contain_text(f"Route for {address} added")
    page.goto(served.url("/channels/dovecot"))
    expect(page.locator(".flash.warn")).to_have_count(0)

    page.click("nav >> text=Channels")
    row = page.locator("tbody tr", has_text="dovecot")
    expect(row).to_contain_text("● on")
    expect(row).to_contain_text("✓ passed")
    expect(row).to_contain_text("120 s")
    row.locator("a", has_text="dovecot").click()
    page.click("text=Remove…")
    expect(page.locator("h1")).to_have_text("Remove channel dovecot?")
    page.click("button:has-text('Remove channel dovecot')")
    expect(page).to_have_url(served.url("/channels"))
    expect(page.locator(".flash.ok")).to_have_text("Channel dovecot removed.")
    assert served.app.channels.list() == []


def test_a_self_signed_certificate_stops_the_check_at_the_certificate(
    page: Page, served: Served, mailstack: Mailstack
) -> None:
    address, password = mailstack.new_user("uibadcert")
    port = mailstack.bad_cert("selfsigned").pop3s
    sign_in(page, served)
    _add_channel(page, "self-signed", f"pop3s://{address}@{mailstack.host}:{port}", password)
    expect(page).to_have_url(served.url("/channels/self-signed"))
    flash = page.locator(".flash.error")
    expect(flash).to_contain_text("Channel self-signed added, but it stays off")
    expect(flash).to_contain_text("certificate: not trusted")
    expect(flash).to_contain_text("Change: the CA file field")
    expect(page.locator("h1")).to_contain_text("○ off")
    states = _states(page)
    assert [states[n] for n in STEPS[:5]] == [
        "step ok",
        "step ok",
        "step ok",
        "step bad",
        "step skip",
    ]
    certificate = page.locator("#check li[data-step=certificate]")
    expect(certificate.locator(".mark")).to_have_text("✗")
    expect(certificate).to_contain_text("not trusted")
    expect(certificate.locator(".hint")).to_contain_text(
        "Hint: the server presents a self-signed certificate"
    )
    expect(certificate.locator(".hint")).to_contain_text("in the CA file field")
    expect(certificate.locator("dt", has_text="Issuer")).to_have_count(1)
    expect(page.locator("#check li[data-step=tls]")).to_contain_text("TLS")

    page.click("button:has-text('Enable')")
    expect(page.locator(".flash.error")).to_contain_text(
        "Channel self-signed stays off: certificate: not trusted"
    )
    expect(page.locator("#check h3")).to_contain_text("Check just run: ✗ failed at Certificate")
    assert served.app.channels.show("self-signed").enabled is False
    page.click("nav >> text=Channels")
    row = page.locator("tbody tr", has_text="self-signed")
    expect(row).to_contain_text("✗ failed")
    expect(row).to_contain_text("Hint: the server presents a self-signed certificate")


_NOTE_PENDING = """() => {
  document.querySelector("form[data-check]").addEventListener("submit", () => {
    const steps = [...document.querySelectorAll("#check .check.running li.step.pending")];
    const button = document.querySelector("form[data-check] button");
    sessionStorage.setItem("pending", JSON.stringify({
      labels: steps.map((li) => li.querySelector(".step-name").textContent),
      marks: steps.map((li) => li.querySelector(".mark").textContent),
      figures: steps.map((li) => li.querySelector(".figure").textContent),
      heading: document.querySelector("#check h3").textContent,
      button: [button.textContent, button.disabled],
    }));
  });
}"""


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A server that accepts and never says a word (the check waits for its greeting)."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)
        yield listener.getsockname()[1]


def test_test_connection_lists_the_steps_while_it_runs_and_works_without_script(
    page: Page, browser: Browser, served: Served, silent_port: int
) -> None:
    url = f"pop3s://someone@127.0.0.1:{silent_port}"
    served.app.channels.add(NewChannel("quiet", url, Secret("pw-123456"), timeout=4), check=False)
    sign_in(page, served)
    page.goto(served.url("/channels/quiet"))
    expect(page.locator("#check")).to_contain_text("No check has run yet")
    # What the page shows while the form's POST waits for the check: noted by a submit
    # listener that runs after check.js's own (the browser keeps the page until the answer)
    page.evaluate(_NOTE_PENDING)
    page.click("button:has-text('Test connection')")
    seen = page.evaluate("JSON.parse(sessionStorage.getItem('pending'))")
    assert seen["labels"] == [
        "DNS",
        "TCP",
        "TLS",
        "Certificate",
        "Greeting",
        "Capabilities",
        "Login",
        "Mailbox",
    ]
    assert seen["marks"] == ["…"] * 8 and seen["figures"] == ["running"] * 8
    assert seen["heading"].startswith("Checking…")
    assert seen["button"] == ["Testing…", True]
    expect(page.locator("#check h3")).to_contain_text("Check just run: ✗ failed at", timeout=15_000)
    expect(page.locator("#check li[data-step=tcp] .mark")).to_have_text("✓")
    expect(page.locator("#check li.step.bad")).to_have_count(1)

    plain = browser.new_context(java_script_enabled=False)
    try:
        other = plain.new_page()
        sign_in(other, served)
        other.goto(served.url("/channels/quiet"))
        other.click("button:has-text('Test connection')")
        expect(other.locator("#check h3")).to_contain_text("Check just run: ✗ failed at")
        expect(other.locator("#check .check.running")).to_have_count(0)
        expect(other.locator("#check li[data-step=dns] .mark")).to_have_text("✓")
    finally:
        plain.close()


def test_an_smtp_server_against_postfix_with_a_test_send(
    page: Page, served: Served, mailstack: Mailstack
) -> None:
    sender, password = mailstack.new_user("uismtp")
    recipient, _ = mailstack.new_user("uismtpto")
    sign_in(page, served)
    page.click("nav >> text=SMTP servers")
    page.click("text=Add an SMTP server")
    page.fill("input[name=name]", "postfix")
    page.fill(
        "input[name=url]", f"submission://{sender}@{mailstack.host}:{mailstack.submission_port}"
    )
    page.fill("input[name=password]", password)
    page.fill("input[name=ca_file]", str(mailstack.ca_file))
    page.check("input[name=default]")
    page.click("button:has-text('Add and check')")
    expect(page).to_have_url(served.url("/smtp-servers/postfix"))
    expect(page.locator(".flash.ok")).to_contain_text("its check passed and it is used")
    page.fill("input[name=send_to]", recipient)
    page.click("button:has-text('Test connection')")
    expect(page.locator("#check h3")).to_contain_text("Check just run: ✓ all steps passed")
    send = page.locator("#check li[data-step=send]")
    expect(send.locator(".mark")).to_have_text("✓")
    expect(send).to_contain_text(f"sent to {recipient}: 250")
    expect(page.locator("#check li[data-step=capabilities]")).to_contain_text("(after STARTTLS)")
    mailstack.wait_count(recipient, 1)
    page.click("nav >> text=SMTP servers")
    row = page.locator("tbody tr", has_text="postfix")
    expect(row).to_contain_text("● on")
    expect(row).to_contain_text("default")
    assert password not in page.content()


def test_a_route_after_an_invalid_address(page: Page, served: Served) -> None:
    sign_in(page, served)
    page.click("nav >> text=Routes")
    expect(page.locator(".empty")).to_contain_text("No route yet")
    page.fill("input[name=address]", "sales at example.org")
    page.fill("input[name=context]", "Sales")
    page.fill("input[name=category]", "Enquiry")
    page.fill("input[name=queue]", "desk")
    page.click("button:has-text('Add route')")
    expect(page.locator(".flash.error")).to_contain_text("not an email address")
    expect(page.locator("input[name=context]")).to_have_value("Sales")
    page.fill("input[name=address]", "sales@example.org")
    page.check("input[name=acknowledge]")
    page.click("button:has-text('Add route')")
    expect(page.locator(".flash.ok")).to_have_text(
        "Route for sales@example.org added: Context Sales, Category Enquiry, Queue desk, "
        "requester acknowledged."
    )
    row = page.locator("tbody tr", has_text="sales@example.org")
    expect(row).to_contain_text("Enquiry")
    row.locator("text=Edit").click()
    page.fill("input[name=queue]", "second-line")
    page.click("button:has-text('Save')")
    expect(page.locator("tbody tr", has_text="sales@example.org")).to_contain_text("second-line")
    page.locator("tbody tr a", has_text="sales@example.org").click()
    page.click("button:has-text('Remove the route')")
    expect(page.locator(".flash.ok")).to_contain_text("Route for sales@example.org removed")
    assert served.app.routes.list() == []


def test_an_agent_gets_the_403_page(page: Page, served: Served) -> None:
    sign_in(page, served, "bob", PASSWORD)
    expect(page.locator("nav")).not_to_contain_text("Channels")
    for path in ("/channels", "/channels/new", "/smtp-servers", "/routes"):
        answer = page.goto(served.url(path))
        assert answer is not None and answer.status == 403, path
        expect(page.locator("h1")).to_contain_text("Forbidden")
