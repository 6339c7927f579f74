"""The web door in-process: a `create_app` over a fresh App on SQLite and PostgreSQL,
driven by Starlette's TestClient (httpx underneath), with an admin and an agent whose
tokens and passwords the tests use."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from argon2 import PasswordHasher
from fastapi.testclient import TestClient

from postroom.bootstrap import App
from postroom.records.config import Role
from postroom.services.accounts import AccountService
from postroom.services.passwords import Passwords
from postroom.web.app import create_app

PASSWORD = "correct horse battery staple"


@dataclass
class Web:
    app: App
    client: TestClient
    admin_token: str
    agent_token: str

    def admin(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.admin_token}"}

    def agent(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.agent_token}"}


@pytest.fixture
def postroom_app(postroom_env: dict[str, str]) -> App:
    """An App whose Argon2 costs the least (the real parameters are the service's tests'
    business; here each sign-in would cost ~0.1 s)."""
    app = App()
    cheap = Passwords(PasswordHasher(time_cost=1, memory_cost=8, parallelism=1))
    app.__dict__["accounts"] = AccountService(app.storage, passwords=cheap)
    return app


@pytest.fixture
def web(postroom_app: App) -> Iterator[Web]:
    app = postroom_app
    for name, role in (("ada", Role.ADMIN), ("bob", Role.AGENT)):
        app.users.add(name, f"{name}@example.org", role)
        app.accounts.set_password(name, PASSWORD)
    _, admin_token = app.accounts.create_token("ada", "tests")
    _, agent_token = app.accounts.create_token("bob", "tests")
    with TestClient(create_app(app), raise_server_exceptions=False) as client:
        yield Web(app, client, admin_token, agent_token)
    app.engine.dispose()
