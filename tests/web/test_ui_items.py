"""The item pages in-process, on SQLite and PostgreSQL: the list's filters and search, an
item's changes in its history with the signed-in user, the CSRF field, a reply with an
attachment queued in the outbox, and the mail frame: sanitised HTML under its own
Content-Security-Policy, ``cid:`` images served from the stored message, remote images
only when asked for, relative URLs gone, downloads that a browser saves."""

from __future__ import annotations

import re
from typing import Any

from tests.web.conftest import Web
from tests.web.test_ui_config_channels import HTML, signed_in

PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c63f8cfc0f01f0005000201a5b1f6a40000000049454e44ae426082"
)


def hostile_mail(subject: str = "Invoice <script>window.__pwned=1</script>") -> bytes:
    import base64

    png = base64.b64encode(PNG).decode()
    return (
        'From: "Mallory <img src=x onerror=alert(1)>" <mallory@evil.test>\r\n'
        "To: help@example.org\r\n"
        f"Subject: {subject}\r\n"
        "Message-ID: <frame@evil.test>\r\n"
        "Date: Tue, 01 Dec 2026 10:00:00 +0000\r\n"
        "MIME-Version: 1.0\r\n"
        'Content-Type: multipart/mixed; boundary="b1"\r\n'
        "\r\n"
        "--b1\r\n"
        'Content-Type: multipart/related; boundary="b2"\r\n'
        "\r\n"
        "--b2\r\n"
        "Content-Type: text/html; charset=utf-8\r\n"
        "\r\n"
        '<p onclick="steal()">Pay <b>now</b></p><script>window.__pwned=1</script>'
        '<img src="cid:logo@evil.test" alt="logo"><img src="https://tracker.evil.test/p.gif">'
        '<a href="/logout">relative</a><a href="javascript:alert(2)">js</a>'
        '<img src="cid:nothing-here"><base href="https://evil.test/">'
        '<form action="https://evil.test/"><input name=x></form>\r\n'
        "--b2\r\n"
        "Content-Type: image/png\r\n"
        "Content-ID: <logo@evil.test>\r\n"
        "Content-Disposition: inline\r\n"
        "Content-Transfer-Encoding: base64\r\n"
        "\r\n"
        f"{png}\r\n"
        "--b2--\r\n"
        "--b1\r\n"
        'Content-Type: text/html; name="x.html"\r\n'
        'Content-Disposition: attachment; filename="<svg onload=alert(3)>.html"\r\n'
        "\r\n"
        "<script>alert(3)</script>\r\n"
        "--b1--\r\n"
    ).encode()


def _ingest(web: Web, raw: bytes) -> str:
    answer = web.client.post(
        "/api/v1/messages", content=raw, headers={**web.agent(), "Content-Type": "message/rfc822"}
    )
    assert answer.status_code == 201, answer.text
    ref: str = answer.json()["work_items"][0]["reference"]
    return ref


def _mail(n: int, subject: str, sender: str = "carol@customer.test") -> bytes:
    return (
        f"From: Carol <{sender}>\r\nTo: help@example.org\r\nSubject: {subject}\r\n"
        f"Message-ID: <ui{n}@customer.test>\r\nDate: Tue, 01 Dec 2026 10:00:00 +0000\r\n"
        f"\r\nHelp number {n}.\r\n"
    ).encode()


def _communication(web: Web, ref: str) -> int:
    detail = web.app.items().show(ref)
    assert detail.communications
    return detail.communications[0].id


def test_the_list_filters_and_finds_newest_first(web: Web) -> None:
    agent = signed_in(web, "bob")
    first = _ingest(web, _mail(1, "Printer on fire"))
    second = _ingest(web, _mail(2, "Invoice question", sender="dave@other.test"))
    listing = agent.get("/items")
    assert listing.index(second) < listing.index(first)
    found = agent.get("/items?q=INVOICE")
    assert second in found and first not in found
    assert first in agent.get("/items?q=carol@customer") and second not in agent.get(
        "/items?q=carol@customer"
    )
    assert "No item matches" in agent.get("/items?type=case")
    assert "No item matches" in agent.get("/items?state=closed")
    state = web.app.items().show(first).item.state
    assert first in agent.get(f"/items?state={state}&type=ticket")


def test_state_owner_and_queue_changes_are_in_the_history_with_the_user(web: Web) -> None:
    agent = signed_in(web, "bob")
    ref = _ingest(web, _mail(3, "Broken chair"))
    before = web.app.items().show(ref).item.state
    no_csrf = web.client.post(
        f"/items/{ref}/change", data={"state": "waiting"}, headers=HTML, follow_redirects=False
    )
    assert no_csrf.status_code == 403
    assert web.app.items().show(ref).item.state == before
    status, location, _ = agent.post(
        f"/items/{ref}/change", state="in-progress", owner="bob", queue="desk"
    )
    assert (status, location) == (303, f"/items/{ref}")
    item = web.app.items().show(ref)
    assert (item.item.state, item.item.owner, item.item.queue) == ("in-progress", "bob", "desk")
    mine = [(h.field, h.new) for h in item.history if h.actor == "bob" and h.cause == "user"]
    assert ("state", "in-progress") in mine and ("owner", "bob") in mine
    assert ("queue", "desk") in mine
    page = agent.get(f"/items/{ref}")
    assert re.search(r"<td data-label=\"By\">bob</td>", page)
    status, _, _ = agent.post(f"/items/{ref}/change", state="in-progress", owner="nobody-here")
    assert status == 303 and web.app.items().show(ref).item.owner == "bob"


def test_a_reply_with_an_attachment_is_queued_and_shown(web: Web) -> None:
    agent = signed_in(web, "bob")
    ref = _ingest(web, _mail(4, "Need the form"))
    earlier = {m.id for m in web.app.outbox.list()}
    answer = web.client.post(
        f"/items/{ref}/reply",
        data={"csrf": agent.csrf, "body": "Here it is.", "cc": "boss@customer.test"},
        files=[("files", ("form.pdf", b"%PDF-1.4 hello", "application/pdf"))],
        headers=HTML,
        follow_redirects=False,
    )
    assert answer.status_code == 303, answer.text
    (queued,) = [m for m in web.app.outbox.list() if m.id not in earlier]
    assert queued.kind == "reply" and queued.work_item_id is not None
    assert set(queued.recipients) == {"carol@customer.test", "boss@customer.test"}
    page = agent.get(f"/items/{ref}")
    assert f'id="outbox-{queued.id}"' in page and "queued" in page
    history = web.app.items().show(ref).history
    assert any(h.field == "reply" and h.actor == "bob" for h in history)
    bad = agent.post(f"/items/{ref}/reply", body="x", to="not an address")
    assert bad[0] == 303 and len(web.app.outbox.list()) == len(earlier) + 1


def test_the_item_page_frames_the_mail_and_escapes_its_headers(web: Web) -> None:
    agent = signed_in(web, "bob")
    ref = _ingest(web, hostile_mail())
    cid = _communication(web, ref)
    answer = web.client.get(f"/items/{ref}", headers=HTML)
    assert answer.status_code == 200
    policy = answer.headers["content-security-policy"]
    assert "frame-src 'self'" in policy and "script-src 'self'" in policy
    assert "'unsafe-inline'" not in policy
    page = answer.text
    assert "<script>window.__pwned" not in page and "&lt;script&gt;" in page
    assert "<img src=x" not in page and not re.search(r"<[^>]*\bon\w+=", page)
    frame = re.search(r"<iframe [^>]*>", page)
    assert frame is not None
    assert 'sandbox="allow-popups allow-popups-to-escape-sandbox"' in frame[0]
    assert "allow-scripts" not in frame[0] and "allow-same-origin" not in frame[0]
    assert f'src="/communications/{cid}/frame"' in frame[0]
    assert f"?remote={cid}" in agent.get(f"/items/{ref}")


def _frame(web: Web, cid: int, query: str = "") -> Any:
    answer = web.client.get(f"/communications/{cid}/frame{query}", headers=HTML)
    assert answer.status_code == 200, answer.text
    return answer


def test_the_frame_is_sanitised_under_its_own_policy(web: Web) -> None:
    signed_in(web, "bob")
    cid = _communication(web, _ingest(web, hostile_mail()))
    answer = _frame(web, cid)
    policy = answer.headers["content-security-policy"]
    assert policy.startswith("default-src 'none'; img-src 'self' data:; style-src 'sha256-")
    for part in ("base-uri 'none'", "form-action 'none'", "frame-ancestors 'self'", "sandbox"):
        assert part in policy
    assert "script" not in policy and "unsafe" not in policy and "http" not in policy
    assert answer.headers["x-content-type-options"] == "nosniff"
    assert answer.headers["x-frame-options"] == "SAMEORIGIN"  # as frame-ancestors 'self'
    assert web.client.get("/items", headers=HTML).headers["x-frame-options"] == "DENY"
    body = answer.text
    for gone in ("<script", "onclick", "javascript:", "tracker.evil.test", "<base", "<form"):
        assert gone not in body, gone
    assert 'href="/logout"' not in body and ">relative</a>" in body
    assert f'src="/communications/{cid}/parts/0?t=' in body  # the cid: image, rewritten
    assert "cid:" not in body
    assert 'target="_blank"' in body and "noreferrer" in body
    remote = _frame(web, cid, "?remote=1")
    assert 'src="https://tracker.evil.test/p.gif"' in remote.text
    assert "img-src 'self' data: https: http:" in remote.headers["content-security-policy"]
    assert "<script" not in remote.text
    assert web.client.get(f"/communications/{cid}/frame?remote=2", headers=HTML).status_code == 422


def test_inline_images_and_downloads(web: Web) -> None:
    signed_in(web, "bob")
    cid = _communication(web, _ingest(web, hostile_mail()))
    frame = _frame(web, cid).text
    found = re.search(r'src="(/communications/\d+/parts/0\?t=[^"]+)"', frame)
    assert found is not None
    image = web.client.get(found[1].replace("&amp;", "&"))
    assert image.status_code == 200 and image.content == PNG
    assert image.headers["content-type"] == "image/png"
    assert image.headers["x-content-type-options"] == "nosniff"
    token = found[1].split("?t=", 1)[1]
    html_part = web.client.get(f"/communications/{cid}/parts/1?t={token}", headers=HTML)
    assert html_part.status_code == 404  # the token names one part
    for path in (f"/communications/{cid}/parts/0", f"/communications/{cid}/parts/0?t=x"):
        assert web.client.get(path, headers=HTML).status_code == 404
    attachment = web.client.get(f"/communications/{cid}/attachments/1")
    assert attachment.status_code == 200
    assert attachment.headers["content-type"] == "application/octet-stream"
    assert attachment.headers["content-disposition"].startswith("attachment; filename=")
    assert "<" not in attachment.headers["content-disposition"]
    assert attachment.headers["x-content-type-options"] == "nosniff"
    raw = web.client.get(f"/communications/{cid}/raw")
    assert raw.status_code == 200 and raw.content == hostile_mail()
    assert raw.headers["content-disposition"].startswith("attachment;")
    assert web.client.get(f"/communications/{cid + 99}/raw", headers=HTML).status_code == 404


def test_signed_out_browsers_get_nothing(web: Web) -> None:
    ref = _ingest(web, hostile_mail())
    cid = _communication(web, ref)
    for path in ("/items", f"/items/{ref}", f"/communications/{cid}/frame"):
        answer = web.client.get(path, follow_redirects=False)
        assert answer.status_code == 303 and answer.headers["location"].startswith("/login")


def test_a_ticket_starts_a_case_and_the_case_gets_an_action(web: Web) -> None:
    agent = signed_in(web, "bob")
    web.app.routes.add("help@example.org", "C", "K", "Q")
    ref = _ingest(web, _mail(5, "Move the office"))
    assert "Start a Case" in agent.get(f"/items/{ref}")
    status, location, _ = agent.post(f"/items/{ref}/case")
    case = web.app.items().show(ref).item.case_reference
    assert case is not None and (status, location) == (303, f"/items/{case}")
    page = agent.get(f"/items/{case}")
    assert "Add an Action" in page and f'href="/items/{ref}"' in page
    status, location, _ = agent.post(f"/items/{case}/actions", queue="movers")
    (action,) = [i for i in web.app.items().list(None, None) if i.item.type == "action"]
    assert (status, location) == (303, f"/items/{action.item.reference}")
    assert action.item.queue == "movers"
    assert f'href="/items/{action.item.reference}"' in agent.get(f"/items/{case}")
    again = agent.post(f"/items/{ref}/case")
    assert again[:2] == (303, f"/items/{ref}")
    assert any(h.actor == "bob" for h in web.app.items().show(case).history)


def test_an_unknown_item_is_a_404_page(web: Web) -> None:
    signed_in(web, "bob")
    answer = web.client.get("/items/999999-T", headers=HTML)
    assert answer.status_code == 404 and answer.headers["content-type"].startswith("text/html")
    odd = web.client.get("/items/%3Cscript%3E", headers=HTML)
    assert odd.status_code in (404, 422) and "<script>" not in odd.text
