"""``/api/v1/routes``, ``/users``, ``/tokens``: the CLI's shapes, paging with ``Link``,
the token's secret shown once."""

from __future__ import annotations

import re

from tests.web.conftest import Web
from tests.web.test_auth import _is_problem


def _route(n: int) -> dict[str, object]:
    return {"address": f"r{n:02d}@example.org", "context": "C", "category": "K", "queue": "Q"}


def test_routes_add_list_show_remove_as_the_cli(web: Web) -> None:
    made = web.client.post("/api/v1/routes", json=_route(1), headers=web.admin())
    assert made.status_code == 201
    assert made.json() == {**_route(1), "acknowledge": False}
    assert web.app.routes.list()[0].address == "r01@example.org"
    shown = web.client.get("/api/v1/routes/R01@Example.org", headers=web.admin())
    assert shown.json() == made.json()
    changed = web.client.patch(
        "/api/v1/routes/r01@example.org",
        json={"queue": "Q2", "acknowledge": True},
        headers=web.admin(),
    )
    assert changed.status_code == 200
    assert changed.json() == {**_route(1), "queue": "Q2", "acknowledge": True}
    assert web.app.routes.list()[0].queue == "Q2"
    missing = web.client.patch(
        "/api/v1/routes/r99@example.org", json={"queue": "Q"}, headers=web.admin()
    )
    _is_problem(missing, 404)
    gone = web.client.delete("/api/v1/routes/r01@example.org", headers=web.admin())
    assert gone.status_code == 204
    assert web.app.routes.list() == []
    _is_problem(web.client.delete("/api/v1/routes/r01@example.org", headers=web.admin()), 404)


def test_list_paths_page_with_a_link_header(web: Web) -> None:
    for n in range(5):
        web.app.routes.add(f"r{n:02d}@example.org", "C", "K", "Q")
    seen: list[str] = []
    url: str | None = "/api/v1/routes?limit=2"
    pages = 0
    while url:
        response = web.client.get(url, headers=web.admin())
        assert response.status_code == 200
        seen += [r["address"] for r in response.json()]
        pages += 1
        link = response.headers.get("link")
        url = re.fullmatch(r'<([^>]*)>; rel="next"', link).group(1) if link else None  # type: ignore[union-attr]
    assert pages == 3
    assert seen == [f"r{n:02d}@example.org" for n in range(5)]
    _is_problem(web.client.get("/api/v1/routes?limit=0", headers=web.admin()), 422)
    _is_problem(web.client.get("/api/v1/routes?limit=501", headers=web.admin()), 422)


def test_users_add_and_list(web: Web) -> None:
    made = web.client.post(
        "/api/v1/users",
        json={"name": "cyd", "email": "cyd@example.org", "role": "agent", "password": "pw-cyd-1"},
        headers=web.admin(),
    )
    assert made.status_code == 201
    assert made.json() == {"name": "cyd", "email": "cyd@example.org", "role": "agent"}
    assert "pw-cyd-1" not in made.text
    assert web.app.accounts.verify_password("cyd", "pw-cyd-1") is not None
    names = [u["name"] for u in web.client.get("/api/v1/users", headers=web.admin()).json()]
    assert names == ["ada", "bob", "cyd"]
    _is_problem(web.client.post("/api/v1/users", json={"name": "cyd"}, headers=web.admin()), 409)
    _is_problem(
        web.client.post("/api/v1/users", json={"name": "x", "role": "boss"}, headers=web.admin()),
        422,
    )


def test_a_token_secret_comes_back_once(web: Web) -> None:
    made = web.client.post(
        "/api/v1/tokens", json={"user": "bob", "name": "ci"}, headers=web.admin()
    )
    assert made.status_code == 201
    secret = made.json()["token"]
    assert made.json()["user"] == "bob" and made.json()["name"] == "ci"
    listed = web.client.get("/api/v1/tokens", headers=web.admin())
    assert secret not in listed.text
    assert all("token" not in t for t in listed.json())
    ok = web.client.get("/healthz", headers={"Authorization": f"Bearer {secret}"})
    assert ok.status_code == 200
    assert (
        web.client.get("/api/v1/routes", headers={"Authorization": f"Bearer {secret}"}).status_code
        == 403
    )  # bob is an agent
    token_id = made.json()["id"]
    assert web.client.delete(f"/api/v1/tokens/{token_id}", headers=web.admin()).status_code == 204
    _is_problem(web.client.get("/api/v1/users", headers={"Authorization": f"Bearer {secret}"}), 401)
    _is_problem(web.client.delete("/api/v1/tokens/999999", headers=web.admin()), 404)
    _is_problem(
        web.client.post("/api/v1/tokens", json={"user": "nobody"}, headers=web.admin()), 404
    )
