"""``/api/v1/items`` and ``/api/v1/communications``: the CLI's shapes, filters and paging,
every change in the history with the signed-in user, hostile HTML sanitised, downloads
that a browser saves and never renders, no stored password in any answer."""

from __future__ import annotations

import base64
import re
from pathlib import Path
from typing import Any

import pytest
from tests.web.conftest import Web

from postroom.credentials import Secret
from postroom.render.mail import item_detail_json
from postroom.services.channels import NewChannel

CHANNEL_PASSWORD = "chan-secret-4711"
CORPUS = Path(__file__).resolve().parents[1] / "data" / "mail"


def _is_problem(response: Any, status: int) -> dict[str, Any]:
    """An RFC 9457 problem of this status."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body: dict[str, Any] = response.json()
    assert body["status"] == status and body["type"] == "about:blank"
    assert isinstance(body["title"], str) and isinstance(body["detail"], str)
    return body


def _mail(n: int, subject: str | None = None, sender: str = "carol@customer.test") -> bytes:
    return (
        f"From: Carol <{sender}>\r\n"
        "To: help@example.org\r\n"
        f"Subject: {subject or f'Printer {n} is on fire'}\r\n"
        f"Message-ID: <m{n}@customer.test>\r\n"
        "Date: Tue, 01 Dec 2026 10:00:00 +0000\r\n"
        "\r\n"
        f"Help number {n}.\r\n"
    ).encode()


HOSTILE = (
    b"From: Mallory <mallory@evil.test>\r\n"
    b"To: help@example.org\r\n"
    b"Subject: Invoice\r\n"
    b"Message-ID: <hostile@evil.test>\r\n"
    b"MIME-Version: 1.0\r\n"
    b'Content-Type: multipart/mixed; boundary="b1"\r\n'
    b"\r\n"
    b"--b1\r\n"
    b'Content-Type: multipart/alternative; boundary="b2"\r\n'
    b"\r\n"
    b"--b2\r\n"
    b"Content-Type: text/plain; charset=utf-8\r\n"
    b"\r\n"
    b"Pay now.\r\n"
    b"--b2\r\n"
    b"Content-Type: text/html; charset=utf-8\r\n"
    b"\r\n"
    b'<p onclick="steal()">Pay <b>now</b></p><script>alert(1)</script>'
    b'<img src="https://tracker.evil.test/p.gif" onerror="x()">'
    b'<a href="javascript:alert(2)">x</a><iframe src="https://evil.test"></iframe>\r\n'
    b"--b2--\r\n"
    b"--b1\r\n"
    b'Content-Type: text/html; name="inv.html"\r\n'
    b'Content-Disposition: attachment; filename="../../etc/\\"inv\\";.html"\r\n'
    b"\r\n"
    b"<script>alert(3)</script>\r\n"
    b"--b1\r\n"
    b"Content-Type: application/pdf\r\n"
    b"Content-Disposition: attachment; filename*=UTF-8''R%C3%A9sum%C3%A9%0D%0A.pdf\r\n"
    b"Content-Transfer-Encoding: base64\r\n"
    b"\r\n"
    b"JVBERi0xLjQK\r\n"
    b"--b1--\r\n"
)


def _ingest(web: Web, raw: bytes) -> dict[str, Any]:
    answer = web.client.post(
        "/api/v1/messages",
        content=raw,
        headers={**web.agent(), "Content-Type": "message/rfc822"},
    )
    assert answer.status_code == 201, answer.text
    data: dict[str, Any] = answer.json()
    return data


def _ref(decision: dict[str, Any]) -> str:
    ref: str = decision["work_items"][0]["reference"]
    return ref


def _next(response: Any) -> str | None:
    link = response.headers.get("link")
    if not link:
        return None
    found = re.fullmatch(r'<([^>]*)>; rel="next"', link)
    assert found is not None
    return found.group(1)


def test_list_and_show_are_the_clis_json(web: Web) -> None:
    ref = _ref(_ingest(web, _mail(1)))
    listed = web.client.get("/api/v1/items", headers=web.agent())
    assert listed.status_code == 200
    cli = [item_detail_json(d) for d in web.app.items().list(None, None)]
    assert listed.json() == cli
    shown = web.client.get(f"/api/v1/items/{ref}", headers=web.agent())
    assert shown.status_code == 200
    assert shown.json() == item_detail_json(web.app.items().show(ref))
    assert shown.json()["communications"][0]["id"] >= 1
    _is_problem(web.client.get("/api/v1/items/999999-T", headers=web.agent()), 404)
    _is_problem(web.client.get("/api/v1/items/not-a-ref", headers=web.agent()), 422)


def test_filters_search_and_paging(web: Web) -> None:
    refs = [_ref(_ingest(web, _mail(n))) for n in range(5)]
    _ingest(web, _mail(9, subject="Invoice question", sender="dave@other.test"))
    get = web.client.get
    every = [i["reference"] for i in get("/api/v1/items", headers=web.agent()).json()]
    assert len(every) == 6
    found = get("/api/v1/items?q=INVOICE", headers=web.agent()).json()
    assert [i["subject"] for i in found] == ["Invoice question"]
    assert len(get("/api/v1/items?q=dave@other", headers=web.agent()).json()) == 1
    by_ref = get(f"/api/v1/items?q={refs[2]}", headers=web.agent()).json()
    assert [i["reference"] for i in by_ref] == [refs[2]]
    assert get("/api/v1/items?type=case", headers=web.agent()).json() == []
    state = get("/api/v1/items", headers=web.agent()).json()[0]["state"]
    assert len(get(f"/api/v1/items?type=ticket&state={state}", headers=web.agent()).json()) == 6
    other = "closed" if state != "closed" else "to-do"
    assert get(f"/api/v1/items?state={other}", headers=web.agent()).json() == []
    assert get("/api/v1/items?queue=nowhere", headers=web.agent()).json() == []
    _is_problem(get("/api/v1/items?state=sleeping", headers=web.agent()), 422)
    _is_problem(get("/api/v1/items?q=" + "x" * 201, headers=web.agent()), 422)
    seen: list[str] = []
    url: str | None = "/api/v1/items?limit=4"
    pages = 0
    while url:
        response = get(url, headers=web.agent())
        assert response.status_code == 200
        seen += [i["reference"] for i in response.json()]
        pages += 1
        url = _next(response)
    assert (pages, seen) == (2, every)


def test_patch_changes_fields_in_the_history_with_the_user(web: Web) -> None:
    ref = _ref(_ingest(web, _mail(1)))
    before = web.app.items().show(ref).item.state
    changed = web.client.patch(
        f"/api/v1/items/{ref}",
        json={"state": "in-progress", "owner": "ada", "queue": "second-line", "assignee": "bob"},
        headers=web.agent(),
    )
    assert changed.status_code == 200, changed.text
    item = changed.json()
    assert (item["state"], item["owner"], item["queue"], item["assignee"]) == (
        "in-progress",
        "ada",
        "second-line",
        "bob",
    )
    by_bob = {h["field"]: h for h in item["history"] if h["actor"] == "bob"}
    assert {"state", "owner", "queue", "assignee"} <= set(by_bob)
    assert all(h["cause"] == "user" for h in by_bob.values())
    assert by_bob["state"]["old"] == before and by_bob["state"]["new"] == "in-progress"
    cleared = web.client.patch(f"/api/v1/items/{ref}", json={"owner": None}, headers=web.admin())
    assert cleared.json()["owner"] is None
    assert cleared.json()["history"][-1]["actor"] == "ada"
    patch = web.client.patch
    _is_problem(patch(f"/api/v1/items/{ref}", json={"owner": "nobody"}, headers=web.agent()), 404)
    _is_problem(patch(f"/api/v1/items/{ref}", json={}, headers=web.agent()), 422)
    _is_problem(patch(f"/api/v1/items/{ref}", json={"state": "gone"}, headers=web.agent()), 422)
    _is_problem(patch(f"/api/v1/items/{ref}", json={"state": None}, headers=web.agent()), 422)
    _is_problem(patch(f"/api/v1/items/{ref}", json={"subject": "x"}, headers=web.agent()), 422)
    _is_problem(patch("/api/v1/items/424242-T", json={"queue": "q"}, headers=web.agent()), 404)
    refused = web.client.patch(
        f"/api/v1/items/{ref}",
        content=b"{not json",
        headers={**web.agent(), "Content-Type": "application/json"},
    )
    _is_problem(refused, 422)
    # A refused change changes nothing (one unit of work): the owner did not move.
    failed = patch(
        f"/api/v1/items/{ref}", json={"queue": "q9", "owner": "nobody"}, headers=web.agent()
    )
    _is_problem(failed, 404)
    assert web.app.items().show(ref).item.queue == "second-line"


def test_reply_is_queued_with_attachments_and_recorded(web: Web) -> None:
    ref = _ref(_ingest(web, _mail(1)))
    earlier = [o.id for o in web.app.outbox.list()]  # an acknowledgement, maybe
    data = base64.b64encode(b"%PDF-1.4 report").decode()
    answer = web.client.post(
        f"/api/v1/items/{ref}/replies",
        json={
            "body": "We are on it.",
            "cc": ["boss@customer.test"],
            "attachments": [
                {"name": "report.pdf", "content_type": "application/pdf", "data": data}
            ],
        },
        headers=web.agent(),
    )
    assert answer.status_code == 201, answer.text
    row = answer.json()
    assert row["reference"] == ref and row["status"] == "queued" and row["kind"] == "reply"
    assert set(row["to"]) == {"carol@customer.test", "boss@customer.test"}
    assert [o.id for o in web.app.outbox.list()] == [*earlier, row["id"]]
    detail = web.app.items().show(ref)
    reply = [h for h in detail.history if h.field == "reply"]
    assert len(reply) == 1 and reply[0].actor == "bob"
    assert reply[0].new == row["message_id"] and reply[0].note == f"outbox {row['id']}"
    sent = detail.communications[-1] if detail.communications else None
    assert sent is not None and sent.direction == "out"
    raw = web.client.get(f"/api/v1/communications/{sent.id}/raw", headers=web.agent())
    assert b"We are on it." in raw.content and b"report.pdf" in raw.content
    post = web.client.post
    url = f"/api/v1/items/{ref}/replies"
    _is_problem(post(url, json={"body": "x", "to": ["not an address"]}, headers=web.agent()), 422)
    bad = {"body": "x", "attachments": [{"name": "a", "data": "@@@"}]}
    _is_problem(post(url, json=bad, headers=web.agent()), 422)
    _is_problem(post(url, json={"body": ""}, headers=web.agent()), 422)
    _is_problem(
        post("/api/v1/items/424242-T/replies", json={"body": "x"}, headers=web.agent()), 404
    )
    assert len(web.app.outbox.list()) == len(earlier) + 1  # a refused reply queues nothing


def test_case_and_action_as_the_user(web: Web) -> None:
    ref = _ref(_ingest(web, _mail(1)))
    case = web.client.post(f"/api/v1/items/{ref}/case", headers=web.agent())
    assert case.status_code == 201, case.text
    assert case.json()["type"] == "case"
    case_ref = case.json()["reference"]
    action = web.client.post(
        f"/api/v1/items/{case_ref}/actions", json={"queue": "field"}, headers=web.agent()
    )
    assert action.status_code == 201
    assert (action.json()["type"], action.json()["queue"]) == ("action", "field")
    plain = web.client.post(f"/api/v1/items/{case_ref}/actions", headers=web.agent())
    assert plain.status_code == 201 and plain.json()["reference"].endswith("A2")
    for made in (case_ref, action.json()["reference"]):
        created = web.app.items().show(made).history[0]
        assert (created.field, created.actor) == ("created", "bob")
    ticket = web.app.items().show(ref)
    assert ticket.item.state == "waiting" and ticket.history[-1].actor == "bob"
    _is_problem(web.client.post(f"/api/v1/items/{ref}/case", headers=web.agent()), 422)
    _is_problem(web.client.post(f"/api/v1/items/{ref}/actions", headers=web.agent()), 422)


def test_communication_html_is_sanitised_and_downloads_are_saved(web: Web) -> None:
    ref = _ref(_ingest(web, HOSTILE))
    cid = web.app.items().show(ref).communications[0].id  # type: ignore[index]
    shown = web.client.get(f"/api/v1/communications/{cid}", headers=web.agent())
    assert shown.status_code == 200, shown.text
    data = shown.json()
    assert data["reference"] == ref and data["headers"]["subject"] == "Invoice"
    assert data["text"].startswith("Pay now.")
    html = data["html"]
    assert "<b>now</b>" in html
    for bad in ("<script", "onclick", "onerror", "tracker.evil.test", "javascript:", "<iframe"):
        assert bad not in html
    names = [a["name"] for a in data["attachments"]]
    assert len(names) == 2
    urls = [a["url"] for a in data["attachments"]]
    assert urls == [f"/api/v1/communications/{cid}/attachments/{n}" for n in (0, 1)]

    page = web.client.get(urls[0], headers=web.agent())
    assert page.status_code == 200
    assert page.content.startswith(b"<script>")
    assert page.headers["content-type"] == "application/octet-stream"  # never text/html
    assert page.headers["x-content-type-options"] == "nosniff"
    disposition = page.headers["content-disposition"]
    assert disposition.startswith("attachment; filename=")
    assert "/" not in disposition.split("filename=")[1].split(";")[0]
    ascii_name = re.search(r'filename="([^"]*)"', disposition)
    assert ascii_name is not None and re.fullmatch(r"[A-Za-z0-9._ ()+,=@-]+", ascii_name.group(1))

    pdf = web.client.get(urls[1], headers=web.agent())
    assert pdf.content == b"%PDF-1.4\n"
    assert pdf.headers["content-type"] == "application/pdf"
    disposition = pdf.headers["content-disposition"]
    assert "\r" not in disposition and "\n" not in disposition
    assert "filename*=UTF-8''R%C3%A9sum%C3%A9" in disposition

    raw = web.client.get(f"/api/v1/communications/{cid}/raw", headers=web.agent())
    assert raw.content == HOSTILE
    assert raw.headers["content-type"] == "message/rfc822"
    assert raw.headers["content-disposition"] == f'attachment; filename="communication-{cid}.eml"'
    assert raw.headers["x-content-type-options"] == "nosniff"

    get = web.client.get
    _is_problem(get(f"/api/v1/communications/{cid}/attachments/2", headers=web.agent()), 404)
    _is_problem(get("/api/v1/communications/999999", headers=web.agent()), 404)
    _is_problem(get("/api/v1/communications/999999/raw", headers=web.agent()), 404)
    _is_problem(get("/api/v1/communications/abc", headers=web.agent()), 422)


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/api/v1/items"),
        ("GET", "/api/v1/items/1-T"),
        ("PATCH", "/api/v1/items/1-T"),
        ("POST", "/api/v1/items/1-T/replies"),
        ("POST", "/api/v1/items/1-T/case"),
        ("POST", "/api/v1/items/1-T/actions"),
        ("GET", "/api/v1/communications/1"),
        ("GET", "/api/v1/communications/1/raw"),
        ("GET", "/api/v1/communications/1/attachments/0"),
        ("POST", "/api/v1/messages"),
        ("POST", "/api/v1/explain"),
    ],
)
def test_every_path_needs_a_valid_token(web: Web, method: str, path: str) -> None:
    _is_problem(web.client.request(method, path), 401)
    wrong = {"Authorization": "Bearer not-a-token"}
    _is_problem(web.client.request(method, path, headers=wrong), 401)


def test_no_stored_password_in_any_answer(web: Web) -> None:
    web.app.channels.add(
        NewChannel("box", "pop3s://alice@pop.example.test:995", Secret(CHANNEL_PASSWORD)),
        check=False,
    )
    ref = _ref(_ingest(web, _mail(1)))
    cid = web.app.items().show(ref).communications[0].id  # type: ignore[index]
    answers = [
        web.client.get("/api/v1/items", headers=web.agent()),
        web.client.get(f"/api/v1/items/{ref}", headers=web.agent()),
        web.client.patch(f"/api/v1/items/{ref}", json={"queue": "q"}, headers=web.agent()),
        web.client.get(f"/api/v1/communications/{cid}", headers=web.agent()),
        web.client.get(f"/api/v1/communications/{cid}/raw", headers=web.agent()),
        web.client.post(
            "/api/v1/explain",
            content=_mail(2),
            headers={**web.agent(), "Content-Type": "message/rfc822"},
        ),
    ]
    for answer in answers:
        assert answer.status_code in (200, 201)
        assert CHANNEL_PASSWORD not in answer.text


def test_a_file_packed_in_another_is_not_a_download_of_its_own(web: Web) -> None:
    raw = (CORPUS / "rw_att_winmail_two_files.eml").read_bytes()
    ref = _ref(_ingest(web, raw))
    cid = web.app.items().show(ref).communications[0].id  # type: ignore[index]
    shown = web.client.get(f"/api/v1/communications/{cid}", headers=web.agent()).json()
    assert len(shown["attachments"]) == 2
    packed = web.client.get(shown["attachments"][0]["url"], headers=web.agent())
    assert "raw message" in _is_problem(packed, 404)["detail"]
