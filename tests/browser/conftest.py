"""Browser tests: Playwright for Python driving Debian's ``chromium`` (``/usr/bin/chromium``,
installed by ``tests/browser/install-chromium``; no browser download) against Postroom's web
service served by uvicorn in a thread, on a free port, over a fresh SQLite database.

The `Served` fixture holds the `App` the server uses, so a test sets up its data through the
services (as a person would through the CLI) and reads what the browser changed.
"""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
import uvicorn
from argon2 import PasswordHasher
from playwright.sync_api import (
    Browser,
    ConsoleMessage,
    Page,
    Playwright,
    Response,
    sync_playwright,
)

from postroom.bootstrap import App
from postroom.records.config import Role
from postroom.services.accounts import AccountService
from postroom.services.passwords import Passwords
from postroom.web.app import create_app

CHROMIUM = "/usr/bin/chromium"
PASSWORD = "correct horse battery staple"


@dataclass
class Served:
    app: App
    base: str

    def url(self, path: str) -> str:
        return self.base + path


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.fixture(scope="session")
def playwright() -> Iterator[Playwright]:
    with sync_playwright() as driver:
        yield driver


@pytest.fixture(scope="session")
def browser(playwright: Playwright) -> Iterator[Browser]:
    assert os.access(CHROMIUM, os.X_OK), (
        f"{CHROMIUM} is missing: run tests/browser/install-chromium (apt-get install chromium)"
    )
    launched = playwright.chromium.launch(executable_path=CHROMIUM, headless=True)
    yield launched
    launched.close()


@pytest.fixture
def serve(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[..., Served]]:
    """Starts Postroom's web service on a free port (once per test): ``serve()`` with an
    admin (ada) and an agent (bob), both with `PASSWORD`; ``serve(users=False)`` with no
    user (the sign-up state); ``serve(POSTROOM_X="…")`` with settings of the environment.
    Argon2 at its cheapest (the service's own tests judge the costs)."""
    with ExitStack() as stack:

        def start(users: bool = True, **environment: str) -> Served:
            monkeypatch.setenv("POSTROOM_HOME", str(tmp_path / "home"))
            monkeypatch.setenv("POSTROOM_DATABASE_URL", f"sqlite:///{tmp_path / 'postroom.db'}")
            for key, value in environment.items():
                monkeypatch.setenv(key, value)
            app = App()
            cheap = Passwords(PasswordHasher(time_cost=1, memory_cost=8, parallelism=1))
            app.__dict__["accounts"] = AccountService(app.storage, passwords=cheap)
            if users:
                for name, role in (("ada", Role.ADMIN), ("bob", Role.AGENT)):
                    app.users.add(name, f"{name}@example.org", role)
                    app.accounts.set_password(name, PASSWORD)
            return stack.enter_context(_serving(app))

        yield start


@pytest.fixture
def served(serve: Callable[..., Served]) -> Served:
    return serve()


@contextmanager
def _serving(app: App) -> Iterator[Served]:
    port = _free_port()
    config = uvicorn.Config(
        create_app(app), host="127.0.0.1", port=port, log_level="warning", access_log=False
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="uvicorn", daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "the web service never started"
        time.sleep(0.02)
    try:
        yield Served(app, f"http://127.0.0.1:{port}")
    finally:
        server.should_exit = True
        thread.join(timeout=20)
        app.engine.dispose()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    """A fresh browser profile (no cookies) whose page fails a test on any script error."""
    context = browser.new_context(viewport={"width": 1280, "height": 860})
    opened = context.new_page()
    errors: list[str] = []
    opened.on("pageerror", lambda exc: errors.append(str(exc)))
    opened.on("console", lambda msg: _console(msg, errors))
    opened.on("response", lambda answer: _subresource(answer, errors))
    yield opened
    context.close()
    assert not errors, f"the browser reported errors: {errors}"


def _console(message: ConsoleMessage, errors: list[str]) -> None:
    """A console error is a failure (a Content-Security-Policy violation is one), but for
    Chromium's note on a page answered with an error status, which tests expect."""
    if message.type == "error" and not message.text.startswith("Failed to load resource"):
        errors.append(message.text)


def _subresource(answer: Response, errors: list[str]) -> None:
    """A style sheet, an image or a script that does not load is a failure."""
    if answer.request.resource_type != "document" and answer.status >= 400:
        errors.append(f"{answer.status} for {answer.url}")


def sign_in(page: Page, served: Served, name: str = "ada", password: str = PASSWORD) -> None:
    """Sign in through the form, as a person does."""
    page.goto(served.url("/login"))
    page.fill("input[name=username]", name)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")
