"""The channel pages in-process (httpx through Starlette's TestClient), on SQLite and
PostgreSQL: admins only, CSRF on every form, a refused add keeps what was typed but the
password, a check shown step by step (HTML, and JSON for the page's script), enable
gated on a passed check, edit with a write-only password, remove after a confirmation,
and a hostile server's banner escaped. The servers are local sockets: a closed port,
and one that greets with markup."""

from __future__ import annotations

import re
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from tests.web.conftest import PASSWORD, Web

from postroom.credentials import Secret
from postroom.services.channels import NewChannel
from postroom.web.api.budget import CheckBudget

HTML = {"Accept": "text/html"}
SECRET = "Hunter2-never-shown"


@dataclass
class Admin:
    web: Web
    csrf: str

    def get(self, path: str) -> str:
        answer = self.web.client.get(path, headers=HTML)
        assert answer.status_code == 200, (path, answer.status_code, answer.text[:500])
        return answer.text

    def post(self, path: str, **fields: str) -> tuple[int, str, str]:
        """(status, Location, body) of a form post with the CSRF field."""
        answer = self.web.client.post(
            path, data={"csrf": self.csrf, **fields}, headers=HTML, follow_redirects=False
        )
        return answer.status_code, answer.headers.get("location", ""), answer.text


def signed_in(web: Web, name: str = "ada") -> Admin:
    answer = web.client.post("/api/v1/session", json={"username": name, "password": PASSWORD})
    assert answer.status_code == 200, answer.text
    return Admin(web, answer.json()["csrf"])


@pytest.fixture
def admin(web: Web) -> Admin:
    return signed_in(web)


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


@pytest.fixture
def markup_server() -> Iterator[int]:
    """A 'POP3 server' whose greeting and capabilities are markup, and which offers no
    STLS (so the check stops at TLS after showing both)."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(4)
    listener.settimeout(0.2)
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except OSError:
                continue
            with conn:
                conn.settimeout(5)
                conn.sendall(b"+OK <script>alert('greeting')</script> ready\r\n")
                try:
                    while line := conn.recv(1000):
                        if line.upper().startswith(b"CAPA"):
                            conn.sendall(b"+OK\r\nUSER\r\n<img src=x onerror=alert(1)>\r\n.\r\n")
                        else:
                            conn.sendall(b"-ERR no\r\n")
                except OSError:
                    pass

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield listener.getsockname()[1]
    stop.set()
    thread.join(timeout=5)
    listener.close()


def test_only_admins_open_the_channel_pages(web: Web) -> None:
    agent = signed_in(web, "bob")
    for path in ("/channels", "/channels/new"):
        answer = web.client.get(path, headers=HTML)
        assert answer.status_code == 403 and "<html" in answer.text, path
    status, _, _ = agent.post("/channels/new", name="x", url="pop3s://u@h:995", password="p")
    assert status == 403
    web.client.cookies.clear()
    anonymous = web.client.get("/channels", headers=HTML, follow_redirects=False)
    assert anonymous.status_code == 303
    assert anonymous.headers["location"] == "/login?next=%2Fchannels"


def test_a_form_without_its_csrf_field_changes_nothing(web: Web, admin: Admin) -> None:
    fields = {"name": "c", "url": f"pop3s://u@127.0.0.1:{closed_port()}", "password": SECRET}
    answer = web.client.post("/channels/new", data=fields, headers=HTML, follow_redirects=False)
    assert answer.status_code == 403
    assert web.app.channels.list() == []


def test_a_refused_add_keeps_what_was_typed_but_the_password(web: Web, admin: Admin) -> None:
    status, _, body = admin.post(
        "/channels/new",
        name="support",
        url="http://mail.example.org",
        password=SECRET,
        authzid="shared@example.org",
        interval="60",
        max_failures="10",
    )
    assert status == 422
    assert re.search(r'role="alert">unsupported mail URL .*use one of', body)
    assert 'value="support"' in body and 'value="http://mail.example.org"' in body
    assert 'value="shared@example.org"' in body
    assert SECRET not in body
    status, _, body = admin.post(
        "/channels/new", name="support", url="pop3s://u@h:995", password=SECRET, interval="2"
    )
    assert status == 422 and "Interval must be a whole number from 5 to 604800" in body
    status, _, body = admin.post(
        "/channels/new", name="support", url="pop3s://u@h:995", password="", interval="60"
    )
    assert status == 422 and "give the mailbox&#39;s password in the Password field" in body
    status, _, body = admin.post(
        "/channels/new", name="sup\x00port", url="pop3s://u@h:995", password=SECRET
    )
    assert status == 422 and "Name holds a control character" in body
    status, _, body = admin.post("/channels/new", name="new", url="pop3s://u@h:995", password="p")
    assert status == 422 and "choose another name: /channels/new is the page" in body
    status, _, body = admin.post(
        "/channels/new",
        name="support",
        url="pop3s://u@h:995",
        password=SECRET,
        ca_file="/nonexistent/ca.pem",
    )
    assert status == 422
    assert "CA file /nonexistent/ca.pem does not exist (give the CA file field a PEM" in body
    assert web.app.channels.list() == []


def test_a_channel_whose_server_is_down_is_added_off_with_the_failed_step(
    web: Web, admin: Admin
) -> None:
    port = closed_port()
    status, where, _ = admin.post(
        "/channels/new",
        name="down",
        url=f"pop3s://someone@127.0.0.1:{port}",
        password=SECRET,
        interval="60",
        max_failures="10",
    )
    assert (status, where) == (303, "/channels/down")
    flash = web.client.cookies.get("postroom_flash") or ""
    assert "stays%20off" in flash
    body = admin.get("/channels/down")
    assert "Channel down added, but it stays off: its check failed at tcp:" in body
    assert "○ off" in body
    steps = re.findall(r'<li class="step (\w+)" data-step="(\w+)">', body)
    assert steps[:3] == [("ok", "dns"), ("bad", "tcp"), ("skip", "tls")]
    assert "Last check" in body and "failed at TCP" in body
    listing = admin.get("/channels")
    assert "/channels/down" in listing and "✗ failed" in listing
    enable = admin.post("/channels/down/enable")
    assert enable[0] == 409
    assert "Channel down stays off: tcp:" in enable[2] and "Change: the URL field" in enable[2]
    assert "Check just run" in enable[2]
    assert web.app.channels.show("down").enabled is False
    for text in (body, listing, enable[2]):
        assert SECRET not in text


def test_test_connection_answers_html_and_json(web: Web, admin: Admin) -> None:
    admin.post(
        "/channels/new",
        name="down",
        url=f"pop3s://someone@127.0.0.1:{closed_port()}",
        password=SECRET,
    )
    status, _, body = admin.post("/channels/down/check")
    assert status == 200
    assert "Check just run" in body and 'data-step="tcp"' in body
    page = admin.get("/channels/down")
    assert 'data-steps="dns tcp tls certificate greeting capabilities auth mailbox"' in page
    assert '<script src="/static/check.js" defer></script>' in page
    answer = web.client.post(
        "/channels/down/check", data={"csrf": admin.csrf}, headers={"Accept": "application/json"}
    )
    assert answer.status_code == 200 and answer.headers["cache-control"] == "no-store"
    data = answer.json()
    assert data["ok"] is False and data["verdict"] == "failed at TCP"
    assert [(s["name"], s["state"], s["mark"]) for s in data["steps"][:3]] == [
        ("dns", "ok", "✓"),
        ("tcp", "bad", "✗"),
        ("tls", "skip", "·"),
    ]
    assert data["steps"][1]["hint"]
    script = web.client.get("/static/check.js")
    assert script.status_code == 200 and "textContent" in script.text
    assert "innerHTML" not in script.text


def test_edit_keeps_the_password_unless_one_is_typed(web: Web, admin: Admin) -> None:
    admin.post(
        "/channels/new",
        name="down",
        url=f"pop3s://someone@127.0.0.1:{closed_port()}",
        password=SECRET,
    )
    before = web.app.channels.show("down")
    fields = {
        "url": before.url,
        "authzid": "",
        "ca_file": "",
        "interval": "60",
        "max_failures": "10",
        "password": "",
    }
    status, _, body = admin.post("/channels/down", **fields)
    assert status == 422 and "nothing changed: edit a field" in body
    status, where, _ = admin.post("/channels/down", **{**fields, "interval": "300"})
    assert (status, where) == (303, "/channels/down")
    after = web.app.channels.show("down")
    assert after.interval_s == 300 and after.password_enc == before.password_enc
    page = admin.get("/channels/down")
    assert 'value="300"' in page and SECRET not in page
    assert 'name="password" type="password"' in page and "leave empty to keep" in page
    new_secret = "Another-Secret-77"
    status, _, _ = admin.post("/channels/down", **{**fields, "password": new_secret})
    assert status == 303
    assert web.app.channels.show("down").password_enc != before.password_enc
    status, _, body = admin.post("/channels/down", **{**fields, "interval": "x"})
    assert status == 422 and "Interval must be a whole number" in body
    assert 'value="x"' in body and new_secret not in body


def test_disable_and_remove_after_a_confirmation(web: Web, admin: Admin) -> None:
    admin.post(
        "/channels/new", name="a b", url=f"pop3s://u@127.0.0.1:{closed_port()}", password=SECRET
    )
    page = admin.get("/channels/a%20b")
    assert 'action="/channels/a%20b/check"' in page
    assert admin.post("/channels/a%20b/disable")[:2] == (303, "/channels/a%20b")
    assert web.app.channels.show("a b").disabled_reason == "disabled by a user"
    confirm = admin.get("/channels/a%20b/remove")
    assert "Remove channel a b?" in confirm and 'action="/channels/a%20b/remove"' in confirm
    assert web.app.channels.list()  # asking removes nothing
    assert admin.post("/channels/a%20b/remove")[:2] == (303, "/channels")
    assert web.app.channels.list() == []
    missing = web.client.get("/channels/a%20b", headers=HTML)
    assert missing.status_code == 404


def test_a_servers_markup_is_shown_as_text(web: Web, admin: Admin, markup_server: int) -> None:
    admin.post(
        "/channels/new",
        name="markup",
        url=f"pop3://someone@127.0.0.1:{markup_server}",
        password=SECRET,
    )
    body = admin.post("/channels/markup/check")[2]
    assert "&lt;script&gt;alert(&#39;greeting&#39;)&lt;/script&gt;" in body
    assert "<script>alert" not in body and "<img src=x" not in body
    assert re.search(r'<li class="step ok" data-step="greeting">', body)
    assert re.search(r'<li class="step bad" data-step="tls">', body)


def test_a_check_that_outlasts_the_budget_is_a_504_page(web: Web, admin: Admin) -> None:
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(4)  # accepts, never greets
    try:
        port = silent.getsockname()[1]
        web.app.channels.add(
            NewChannel("quiet", f"pop3s://u@127.0.0.1:{port}", Secret(SECRET), timeout=3),
            check=False,
        )
        web.client.app.state.check_budget = CheckBudget(seconds=0.3)  # type: ignore[attr-defined]
        status, _, body = admin.post("/channels/quiet/check")
        assert status == 504
        assert "the check of quiet did not finish within 0.3 s" in body
        assert "its result will show on this channel&#39;s page" in body
    finally:
        silent.close()


def test_a_channel_name_with_markup_is_text_and_one_path_segment(web: Web, admin: Admin) -> None:
    name = "<img src=x onerror=alert(1)>"
    status, where, _ = admin.post(
        "/channels/new", name=name, url=f"pop3s://u@127.0.0.1:{closed_port()}", password=SECRET
    )
    assert (status, where) == (303, "/channels/%3Cimg%20src%3Dx%20onerror%3Dalert%281%29%3E")
    for path in ("/channels", where, "/"):
        body = admin.get(path)
        assert "<img src=x" not in body and "&lt;img src=x onerror=alert(1)&gt;" in body, path


def test_a_mailbox_no_route_covers_is_said_on_its_page(web: Web, admin: Admin) -> None:
    url = f"pop3s://desk+tag@example.org@127.0.0.1:{closed_port()}"
    admin.post("/channels/new", name="desk", url=url, password=SECRET)
    page = admin.get("/channels/desk")
    assert "no route covers desk+tag@example.org: every sender gets" in page
    assert 'href="/routes?address=desk%2Btag%40example.org#add"' in page
    web.app.routes.add("desk@example.org", "C", "K", "Q")  # the base address covers it
    assert "no route covers" not in admin.get("/channels/desk")
