"""A token used in the last seconds is answered from memory (`web/token_cache.py`): no
database read for it, yet a token revoked or a user removed through this web door is
refused at once, and one revoked elsewhere within the cache's `TTL`."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import event
from tests.web.conftest import PASSWORD, Web

from postroom.records.accounts import Principal
from postroom.records.config import Role
from postroom.web.token_cache import KEYS, TTL, TokenCache


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@contextmanager
def _statements(web: Web) -> Iterator[list[str]]:
    """The SQL statements run on the app's engine meanwhile."""
    seen: list[str] = []

    def record(*args: Any) -> None:
        seen.append(str(args[2]))

    event.listen(web.app.engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(web.app.engine, "before_cursor_execute", record)


def _token_reads(statements: list[str]) -> list[str]:
    return [s for s in statements if "api_tokens" in s]


def test_a_token_used_again_is_not_read_from_the_database(web: Web) -> None:
    assert web.client.get("/api/v1/items", headers=web.agent()).status_code == 200
    with _statements(web) as seen:
        assert web.client.get("/api/v1/items", headers=web.agent()).status_code == 200
        assert web.client.get("/api/v1/items?limit=1", headers=web.agent()).status_code == 200
    assert seen, "the requests read items"
    assert _token_reads(seen) == []


def test_a_token_revoked_through_the_api_is_refused_at_once(web: Web) -> None:
    assert web.client.get("/api/v1/items", headers=web.agent()).status_code == 200
    [token] = web.app.accounts.list_tokens("bob")
    revoked = web.client.delete(f"/api/v1/tokens/{token.id}", headers=web.admin())
    assert revoked.status_code == 204
    refused = web.client.get("/api/v1/items", headers=web.agent())
    assert refused.status_code == 401
    assert "revoked" in refused.json()["detail"]
    # the admin's token, remembered too, is read again: still valid
    assert web.client.get("/api/v1/routes", headers=web.admin()).status_code == 200


def test_a_user_removed_on_the_users_page_is_refused_at_once(web: Web) -> None:
    assert web.client.get("/api/v1/items", headers=web.agent()).status_code == 200
    signed = web.client.post("/api/v1/session", json={"username": "ada", "password": PASSWORD})
    assert signed.status_code == 200, signed.text
    csrf = signed.json()["csrf"]
    removed = web.client.post(
        "/users/remove", data={"name": "bob", "csrf": csrf}, follow_redirects=False
    )
    assert removed.status_code == 303, removed.text
    assert [u.name for u in web.app.users.list()] == ["ada"]
    assert web.client.get("/api/v1/items", headers=web.agent()).status_code == 401


def test_a_token_revoked_elsewhere_stops_working_within_the_ttl(web: Web) -> None:
    clock = Clock()
    web.client.app.state.tokens = TokenCache(clock)  # type: ignore[attr-defined]
    assert web.client.get("/api/v1/items", headers=web.agent()).status_code == 200
    [token] = web.app.accounts.list_tokens("bob")
    web.app.accounts.revoke_token(token.id)  # as `postroom token revoke` in a shell does
    clock.now += TTL / 2
    assert web.client.get("/api/v1/items", headers=web.agent()).status_code == 200
    clock.now += TTL / 2
    assert web.client.get("/api/v1/items", headers=web.agent()).status_code == 401


def test_an_answer_read_before_a_forget_is_not_remembered() -> None:
    cache = TokenCache(Clock())
    ada = Principal(user_id=1, name="ada", role=Role.ADMIN)
    generation = cache.generation()
    cache.forget()  # the token was revoked while the database was read
    cache.put("pr_secret", ada, generation)
    assert cache.get("pr_secret") is None
    cache.put("pr_secret", ada, cache.generation())
    assert cache.get("pr_secret") == ada


def test_the_cache_is_bounded_and_keeps_no_secret() -> None:
    clock = Clock()
    cache = TokenCache(clock)
    ada = Principal(user_id=1, name="ada", role=Role.ADMIN)
    for n in range(KEYS + 10):
        cache.put(f"pr_{n}", ada, cache.generation())
        clock.now += 0.0001
    held = cache._held  # what it keeps is the point of this test
    assert 0 < len(held) <= KEYS
    assert not any(key.startswith("pr_") for key in held)
    assert cache.get("pr_" + "x" * 1_000) is None
