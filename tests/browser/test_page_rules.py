"""The rules of every page, without a browser: where a sign-in may send the browser, the
page and API Content-Security-Policies, HTML errors for browsers and problem details for
everything else."""

from __future__ import annotations

import time

import httpx
import pytest
from tests.browser.conftest import PASSWORD, Served

from postroom.web.security import CSP, PAGE_CSP
from postroom.web.ui.pages import local_path


@pytest.mark.parametrize(
    ("given", "kept"),
    [
        ("/outbox?status=failed", "/outbox?status=failed"),
        ("/items/100001-T", "/items/100001-T"),
        ("", "/"),
        (None, "/"),
        ("https://evil.example/", "/"),
        ("//evil.example/", "/"),
        ("/\\evil.example", "/"),
        ("/ok\\..\\x", "/"),
        ("javascript:alert(1)", "/"),
        ("/a b", "/"),
        ("/a\r\nSet-Cookie: x=1", "/"),
        ("/" + "a" * 3000, "/"),
    ],
)
def test_next_is_a_path_of_this_site(given: str | None, kept: str) -> None:
    assert local_path(given) == kept


def test_local_path_is_linear() -> None:
    t0 = time.perf_counter()
    local_path("/" + "/\\" * 100_000)
    assert time.perf_counter() - t0 < 0.05


def test_pages_and_the_api_have_their_policies(served: Served) -> None:
    html = {"Accept": "text/html"}
    login = httpx.get(served.url("/login"), headers=html)
    assert login.headers["content-security-policy"] == PAGE_CSP
    assert "'unsafe-inline'" not in PAGE_CSP and "frame-ancestors 'none'" in PAGE_CSP
    assert login.headers["x-frame-options"] == "DENY"
    assert login.headers["x-content-type-options"] == "nosniff"
    api = httpx.get(served.url("/api/v1/routes"), headers=html)
    assert api.status_code == 401
    assert api.headers["content-type"] == "application/problem+json"
    assert api.headers["content-security-policy"] == CSP

    page = httpx.get(served.url("/no-such-page"), headers=html)
    assert page.status_code == 404 and page.headers["content-type"].startswith("text/html")
    assert "There is no page at this address." in page.text
    script = httpx.get(served.url("/no-such-page"))
    assert script.status_code == 404
    assert script.headers["content-type"] == "application/problem+json"

    signed_out = httpx.get(served.url("/users"), headers=html)
    assert signed_out.status_code == 303
    assert signed_out.headers["location"] == "/login?next=%2Fusers"


def test_a_browser_gets_every_error_as_a_page(served: Served) -> None:
    html = {"Accept": "text/html"}
    with httpx.Client(base_url=served.base) as browser:
        bob = served.app.accounts.verify_password("bob", PASSWORD)
        assert bob is not None
        token, _ = served.app.accounts.start_session(bob)
        browser.cookies.set("postroom_session", token)
        invalid = browser.get("/outbox", params={"status": "x" * 50}, headers=html)
        assert invalid.status_code == 422
        assert invalid.headers["content-type"].startswith("text/html")
        assert "Unprocessable" in invalid.text and "status" in invalid.text
        assert 'action="/logout"' in invalid.text  # on the layout, signed in
        assert invalid.headers["cache-control"] == "no-store"
        wrong_method = browser.put("/quarantine", headers=html)
        assert wrong_method.status_code == 405
        assert wrong_method.headers["content-type"].startswith("text/html")
        as_json = browser.get("/outbox", params={"status": "x" * 50})
        assert as_json.status_code == 422
        assert as_json.headers["content-type"] == "application/problem+json"


def test_a_form_sent_after_the_session_ended_comes_back_to_its_list(served: Served) -> None:
    with httpx.Client(base_url=served.base) as browser:
        answer = browser.post(
            "/outbox/7/retry", data={"csrf": "x"}, headers={"Accept": "text/html"}
        )
        assert answer.status_code == 303
        assert answer.headers["location"] == "/login?next=%2Foutbox"
        answer = browser.post("/tokens/3/revoke", headers={"Accept": "text/html"})
        assert answer.headers["location"] == "/login"  # no page at /tokens: the dashboard
