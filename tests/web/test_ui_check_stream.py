"""Test connection, live (`ui.check_stream`), in-process on SQLite and PostgreSQL: with
``Accept: application/x-ndjson`` a channel's or server's check answers one line per step
as it ends, then the whole check; the budget's 503 comes before the answer, its 504 as
the last line; admins only; the page with the button may connect to this site, and only
it; the stored password never in a line."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from typing import Any

import pytest
from tests.web.conftest import Web
from tests.web.test_ui_config_channels import SECRET, Admin, closed_port, signed_in

from postroom.credentials import Secret
from postroom.services.channels import NewChannel
from postroom.services.servers import NewServer
from postroom.web.api.budget import CheckBudget

LIVE = {"Accept": "application/x-ndjson"}


@pytest.fixture
def admin(web: Web) -> Admin:
    return signed_in(web)


@pytest.fixture
def silent_port() -> Iterator[int]:
    """Accepts connections, never greets."""
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(8)
        yield int(server.getsockname()[1])


def _lines(answer: Any) -> list[dict[str, Any]]:
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith("application/x-ndjson")
    assert answer.headers["cache-control"] == "no-store"
    return [json.loads(line) for line in answer.text.splitlines()]


def _add(web: Web, name: str, url: str) -> None:
    web.app.channels.add(NewChannel(name, url, Secret(SECRET), timeout=1), check=False)


def test_each_step_then_the_whole_check(web: Web, admin: Admin, silent_port: int) -> None:
    _add(web, "quiet", f"pop3://someone@127.0.0.1:{silent_port}")
    answer = web.client.post("/channels/quiet/check", data={"csrf": admin.csrf}, headers=LIVE)
    lines = _lines(answer)
    steps = [line["step"] for line in lines[:-1]]
    assert [(s["name"], s["state"], s["mark"]) for s in steps] == [
        ("dns", "ok", "✓"),
        ("tcp", "ok", "✓"),
        ("greeting", "bad", "✗"),
    ]
    assert steps[1]["label"] == "TCP" and steps[1]["figure"].startswith("connected to 127.0.0.1")
    assert "1 s" in steps[2]["error"] and steps[2]["hint"]
    whole = lines[-1]["check"]
    assert whole["ok"] is False and whole["verdict"] == "failed at Greeting"
    assert [s["state"] for s in whole["steps"]][3:] == ["skip"] * 5
    assert SECRET not in answer.text
    kept = web.app.channels.show("quiet").last_check
    assert kept is not None and kept["ok"] is False  # the check is stored as a posted one is


def test_the_budget_bounds_it(web: Web, admin: Admin, silent_port: int) -> None:
    _add(web, "quiet", f"pop3s://someone@127.0.0.1:{silent_port}")
    state = web.client.app.state  # type: ignore[attr-defined]
    state.check_budget = CheckBudget(seconds=0.3)
    answer = web.client.post("/channels/quiet/check", data={"csrf": admin.csrf}, headers=LIVE)
    last = _lines(answer)[-1]
    assert last["error"]["status"] == 504
    assert "did not finish within 0.3 s" in last["error"]["detail"]
    state.check_budget = CheckBudget(slots=1)
    state.check_budget._free.acquire()  # the one slot is taken
    answer = web.client.post("/channels/quiet/check", data={"csrf": admin.csrf}, headers=LIVE)
    assert answer.status_code == 503 and answer.headers["retry-after"]
    assert answer.headers["content-type"] == "application/problem+json"


def test_admins_only_and_known_names_only(web: Web, admin: Admin) -> None:
    _add(web, "down", f"pop3s://someone@127.0.0.1:{closed_port()}")
    answer = web.client.post("/channels/nope/check", data={"csrf": admin.csrf}, headers=LIVE)
    assert answer.status_code == 404
    answer = web.client.post("/channels/down/check", data={"csrf": "forged"}, headers=LIVE)
    assert answer.status_code == 403
    agent = signed_in(web, "bob")
    answer = web.client.post("/channels/down/check", data={"csrf": agent.csrf}, headers=LIVE)
    assert answer.status_code == 403 and "step" not in answer.text


def test_an_smtp_servers_check_too(web: Web, admin: Admin) -> None:
    web.app.servers.add(
        NewServer("relay", f"smtps://someone@127.0.0.1:{closed_port()}", Secret(SECRET))
    )
    answer = web.client.post(
        "/smtp-servers/relay/check", data={"csrf": admin.csrf, "send_to": "x"}, headers=LIVE
    )
    assert answer.status_code == 422 and "Test-send address" in answer.json()["error"]
    answer = web.client.post("/smtp-servers/relay/check", data={"csrf": admin.csrf}, headers=LIVE)
    lines = _lines(answer)
    assert [line["step"]["state"] for line in lines[:-1]] == ["ok", "bad"]
    assert lines[-1]["check"]["verdict"] == "failed at TCP"


def test_only_the_pages_with_the_button_may_connect(web: Web, admin: Admin) -> None:
    _add(web, "down", f"pop3s://someone@127.0.0.1:{closed_port()}")
    web.app.servers.add(
        NewServer("relay", f"smtps://someone@127.0.0.1:{closed_port()}", Secret(SECRET))
    )
    for path in ("/channels/down", "/smtp-servers/relay"):
        policy = web.client.get(path).headers["content-security-policy"]
        assert policy.endswith("; connect-src 'self'") and "script-src 'self';" in policy
    for path in ("/channels", "/", "/routes"):
        assert "connect-src" not in web.client.get(path).headers["content-security-policy"]
