"""The item pages in Chromium: ingest mail, find the item, open it, change its state and
owner, reply with an attachment and see the outbox row, download an attachment and the raw
message, the mail's HTML in its sandboxed frame with its inline image (and the README's
screenshot of a timeline); then an XSS corpus (brs-kb's payloads and mail-specific cases)
run through the timeline: no script runs, no dialog opens, no request leaves for another
host or an unexpected path."""

from __future__ import annotations

import base64
import os
import re
import struct
import zlib
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import brs_kb
import pytest
from playwright.sync_api import Browser, Page, expect
from tests.browser.conftest import PASSWORD, Served, sign_in
from tests.web.test_ui_items import PNG, hostile_mail

from postroom.bootstrap import App

SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
ALLOWED_PATHS = re.compile(
    r"^/(items(/[^/]+)?|login|static/[\w.-]+|communications/\d+/(frame|parts/\d+))$"
)
"""Where the item page and its frames may send the browser (nothing else, no other host)."""


def _screenshot(page: Page, name: str) -> None:
    """Saved when ``POSTROOM_SCREENSHOTS`` asks (as tests/browser/test_pages.py does)."""
    wanted = os.environ.get("POSTROOM_SCREENSHOTS", "")
    if wanted:
        folder = SCREENSHOTS if wanted == "1" else Path(wanted)
        folder.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(folder / f"{name}.png"), full_page=True)


def _ingest(app: App, raw: bytes) -> str:
    result = app.ingest.ingest(raw)
    assert result.items, result.error
    return result.items[0].reference


def _scan_png(width: int = 180, height: int = 48) -> bytes:
    """A grey test page with faint stripes: an RGB PNG made here (no image in the repo)."""
    rows = b"".join(b"\x00" + bytes((235 - (y % 12 < 2) * 40,) * 3 * width) for y in range(height))

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


def _customer_mail() -> bytes:
    png = base64.b64encode(_scan_png()).decode()
    return (
        'From: "Carol Jones" <carol@customer.test>\r\n'
        "To: help@example.org\r\n"
        "Cc: Dave <dave@customer.test>\r\n"
        "Subject: The printer on floor 3 prints blank pages\r\n"
        "Message-ID: <printer@customer.test>\r\n"
        "Date: Tue, 01 Dec 2026 09:12:00 +0100\r\n"
        "MIME-Version: 1.0\r\n"
        'Content-Type: multipart/mixed; boundary="m"\r\n'
        "\r\n--m\r\n"
        'Content-Type: multipart/related; boundary="r"\r\n'
        "\r\n--r\r\n"
        "Content-Type: text/html; charset=utf-8\r\n\r\n"
        "<p>Hello,</p><p>since this morning the printer on <b>floor 3</b> prints only blank "
        "pages. The test page looks like this:</p>"
        '<p><img src="cid:scan@customer.test" alt="scan"></p>'
        '<p>The tracking pixel below stays blocked: <img src="https://tracker.example/p.gif"></p>'
        "<ul><li>Model: LaserJet 4000</li><li>Toner: new</li></ul><p>Thanks,<br>Carol</p>\r\n"
        "--r\r\n"
        "Content-Type: image/png\r\nContent-ID: <scan@customer.test>\r\n"
        "Content-Disposition: inline\r\nContent-Transfer-Encoding: base64\r\n\r\n"
        f"{png}\r\n--r--\r\n"
        "--m\r\n"
        'Content-Type: text/plain; name="printer-log.txt"\r\n'
        'Content-Disposition: attachment; filename="printer-log.txt"\r\n\r\n'
        "09:01 job 4711 done, 0 pages with toner\r\n"
        "--m--\r\n"
    ).encode()


def test_an_agent_finds_opens_changes_and_answers_an_item(
    page: Page, served: Served, tmp_path: Path
) -> None:
    served.app.routes.add("help@example.org", "Facilities", "Printers", "desk")
    ref = _ingest(served.app, _customer_mail())
    sign_in(page, served, "bob")
    page.goto(served.url("/items"))
    page.fill("input[name=q]", "floor 3")
    page.click("form[role=search] button")
    page.click(f"a:text-is('{ref}')")
    expect(page.locator("h1")).to_contain_text(ref)
    frame = page.frame_locator("iframe.mail-html")
    expect(frame.locator("body")).to_contain_text("prints only blank pages")
    scan = frame.locator("img[alt=scan]")
    expect(scan).to_have_attribute("src", re.compile(r"^/communications/\d+/parts/0\?t="))
    page.wait_for_load_state("networkidle")
    assert scan.evaluate("img => img.complete && img.naturalWidth") == 180  # the cid: image
    assert frame.locator("img[src*=tracker]").count() == 0
    _screenshot(page, "item")

    page.select_option("form.change select[name=state]", "in-progress")
    page.select_option("form.change select[name=owner]", "bob")
    page.click("form.change button[type=submit]")
    expect(page.locator(".flash.ok")).to_contain_text("state in-progress")
    expect(page.locator("td[data-label=By]").first).to_have_text("bob")
    item = served.app.items().show(ref).item
    assert (item.state, item.owner) == ("in-progress", "bob")

    upload = tmp_path / "steps.txt"
    upload.write_text("Open the front panel and take the toner out.\n")
    page.fill("textarea[name=body]", "Please try these steps.")
    page.set_input_files("input[name=files]", str(upload))
    page.click("form[action$='/reply'] button[type=submit]")
    expect(page.locator(".flash.ok")).to_contain_text("Reply queued")
    row = page.locator("tr[id^=outbox-]")
    expect(row).to_have_count(1)
    expect(row.locator("td[data-label=Status]")).to_have_text("queued")
    expect(row.locator("td[data-label=To]")).to_have_text("carol@customer.test")
    expect(page.locator("article.outgoing a:text-is('steps.txt')")).to_have_count(1)

    with page.expect_download() as attachment:
        page.click("a:text-is('printer-log.txt')")
    saved = attachment.value
    assert saved.suggested_filename == "printer-log.txt"
    assert Path(saved.path()).read_bytes().startswith(b"09:01 job 4711")
    with page.expect_download() as raw:
        page.locator("a:text-is('Raw message')").first.click()
    assert Path(raw.value.path()).read_bytes() == _customer_mail()


def test_remote_images_load_only_when_asked_for(page: Page, served: Served) -> None:
    served.app.routes.add("help@example.org", "Facilities", "Printers", "desk")
    ref = _ingest(served.app, _customer_mail())
    remote: list[str] = []
    page.route(
        "https://tracker.example/**",
        lambda route: (remote.append(route.request.url), route.fulfill(body=PNG))[1],
    )
    sign_in(page, served, "bob")
    page.goto(served.url(f"/items/{ref}"))
    page.wait_for_load_state("networkidle")
    assert remote == []
    page.click("a:text-is('Show remote images')")
    frame = page.frame_locator("iframe.mail-html")
    expect(frame.locator("img[src^='https://tracker.example/']")).to_have_count(1)
    page.wait_for_load_state("networkidle")
    assert remote == ["https://tracker.example/p.gif"]


# The corpus ------------------------------------------------------------------------------

MARK = "window.__pwned=1"
OWN_CASES = (
    f"<script>{MARK}</script>",
    f"<img src=x onerror={MARK}>",
    f'<body onload="{MARK}">',
    f'<svg><script>{MARK}</script></svg><svg onload="{MARK}"></svg>',
    f'<a href="javascript:{MARK}">click</a><a href="data:text/html,<script>{MARK}</script>">d</a>',
    f'<iframe src="javascript:{MARK}"></iframe><iframe srcdoc="<script>{MARK}</script>">',
    f'<object data="data:text/html,<script>{MARK}</script>"></object>',
    f"<embed src=\"data:image/svg+xml,<svg onload='{MARK}'/>\">",
    f'<div style="background:url(javascript:{MARK});width:expression({MARK})">css</div>',
    "<style>@import url(https://evil.example/x.css); body{background:url(/logout)}</style>",
    '<meta http-equiv="refresh" content="0;url=https://evil.example/">',
    '<base href="https://evil.example/"><img src="relative.png"><a href="rel">rel</a>',
    '<img src="https://evil.example/pixel.gif"><img srcset="https://evil.example/s.gif 1x">',
    "<style>@font-face{font-family:x;src:url(https://evil.example/f.woff)}</style>",
    '<link rel="stylesheet" href="https://evil.example/s.css"><link rel=prefetch href=/logout>',
    '<video poster="https://evil.example/p.jpg"></video><audio src="https://evil.example/a">',
    '<form action="/logout" method="post"><button>go</button></form>',
    f'<img src="cid:x&quot; onerror=&quot;{MARK}">',
    f'<img src="cid:&lt;/a&gt;&lt;script&gt;{MARK}&lt;/script&gt;">',
    '<img src="cid:../../logout"><img src="cid:?remote=1">',
    f'<math><mtext><table><mglyph><style><img src=x onerror="{MARK}">',
    f'<noscript><p title="</noscript><img src=x onerror={MARK}>">',
    '<a href="https://evil.example/" ping="https://evil.example/ping">ping</a>',
    f'<svg><a xlink:href="javascript:{MARK}"><text y="20">svg link</text></a></svg>',
    f"<details open ontoggle={MARK}>",
    '<img src="data:image/svg+xml;base64,PHN2ZyBvbmxvYWQ9ImFsZXJ0KDEpIi8+">',
)


def _corpus() -> list[str]:
    payloads = [str(entry["payload"]) for entry in brs_kb.get_all_payloads().values()]
    assert len(payloads) > 1000, "brs-kb's payload list is smaller than expected"
    return [*OWN_CASES, *payloads]


def _chunks(items: list[str], size: int) -> Iterator[list[str]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _corpus_mail(n: int, html: str, subject: str, name: str, filename: str) -> bytes:
    encoded = base64.b64encode(html.encode()).decode()
    subject = re.sub(r"[\r\n]", " ", subject)[:300]
    name = re.sub(r'[\r\n"\\]', " ", name)[:200]
    filename = re.sub(r'[\r\n"\\]', " ", filename)[:200]
    return (
        f'From: "{name}" <mallory{n}@evil.test>\r\n'
        "To: help@example.org\r\n"
        f"Subject: {subject}\r\n"
        f"Message-ID: <xss{n}@evil.test>\r\n"
        "MIME-Version: 1.0\r\n"
        f'Content-Type: multipart/mixed; boundary="x{n}"\r\n'
        f"\r\n--x{n}\r\n"
        "Content-Type: text/html; charset=utf-8\r\nContent-Transfer-Encoding: base64\r\n\r\n"
        f"{encoded}\r\n"
        f"--x{n}\r\n"
        f'Content-Type: text/html; name="{filename}"\r\n'
        f'Content-Disposition: attachment; filename="{filename}"\r\n'
        f"Content-ID: <{filename}>\r\n\r\n"
        f"<script>{MARK}</script>\r\n"
        f"--x{n}--\r\n"
    ).encode()


@pytest.fixture
def watched(browser: Browser, served: Served) -> Iterator[tuple[Page, list[str]]]:
    """A page whose every request outside the item pages' own paths, every dialog and
    every page error is a finding."""
    context = browser.new_context()
    page = context.new_page()
    findings: list[str] = []
    origin = urlsplit(served.base)

    def request(req: object) -> None:
        url = urlsplit(getattr(req, "url", ""))
        if url.scheme == "data":
            return
        if (url.scheme, url.netloc) != (origin.scheme, origin.netloc) or not ALLOWED_PATHS.match(
            url.path
        ):
            findings.append(f"request to {url.geturl()}")

    page.on("request", request)
    page.on("dialog", lambda d: (findings.append(f"dialog {d.message!r}"), d.dismiss()))
    page.on("pageerror", lambda exc: findings.append(f"page error {exc}"))
    yield page, findings
    context.close()


def test_no_script_of_the_xss_corpus_runs_and_nothing_leaves(
    watched: tuple[Page, list[str]], served: Served
) -> None:
    page, findings = watched
    served.app.routes.add("help@example.org", "Security", "Corpus", "desk")
    corpus = _corpus()
    refs = [_ingest(served.app, hostile_mail())]
    for n, case in enumerate(OWN_CASES):  # each also as subject, display name, file name, cid
        refs.append(_ingest(served.app, _corpus_mail(1000 + n, case, case, case, case)))
    for n, chunk in enumerate(_chunks(corpus, 250)):
        lead = chunk[n % len(chunk)]
        html = "\n<hr>\n".join(chunk)
        refs.append(_ingest(served.app, _corpus_mail(n, html, lead, lead, lead)))
    page.goto(served.url("/login"))
    page.fill("input[name=username]", "bob")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(served.url("/"))
    findings.clear()  # signing in went through the dashboard
    page.goto(served.url("/items?q=evil"))
    for ref in refs:
        page.goto(served.url(f"/items/{ref}"))
        page.wait_for_load_state("networkidle")
        assert page.evaluate("window.__pwned") is None, ref
        frames = page.frames[1:]
        assert frames, f"{ref}: the mail's frame is missing"
        for frame in frames:
            assert ALLOWED_PATHS.match(urlsplit(frame.url).path), frame.url
    assert findings == []
    assert len(refs) == 1 + len(OWN_CASES) + -(-len(corpus) // 250)
