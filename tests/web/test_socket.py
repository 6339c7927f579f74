"""A real `postroom web` process on a free port, as a person starts it: the sign-up link,
the first admin, health, a refused request, a token made with the CLI."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from tests.e2e.cli import Shell

LINK = re.compile(r"sign up at (http://127\.0\.0\.1:\d+/signup\?token=[A-Za-z0-9_-]+)")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _postroom(env: dict[str, str], *argv: str, stdin: str = "") -> str:
    done = subprocess.run(
        [sys.executable, "-m", "postroom", *argv],
        env=env,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    return {
        **os.environ,
        "POSTROOM_HOME": str(tmp_path / "home"),
        "POSTROOM_DATABASE_URL": f"sqlite:///{tmp_path / 'postroom.db'}",
    }


@pytest.fixture
def served(env: dict[str, str]) -> Iterator[tuple[subprocess.Popen[str], str, str]]:
    """The process, its base URL and the sign-up link it printed."""
    port = _free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "postroom", "web", "--listen", f"127.0.0.1:{port}"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        lines = [process.stdout.readline() for _ in range(2)]
        found = LINK.search(lines[0])
        assert found, lines
        assert lines[1].startswith(f"serving on http://127.0.0.1:{port}")
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 20
        while True:
            try:
                httpx.get(f"{base}/healthz", timeout=2)
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline, "postroom web never answered"
                time.sleep(0.05)
        yield process, base, found.group(1)
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=20)


def test_postroom_web_over_a_real_socket(
    served: tuple[subprocess.Popen[str], str, str], env: dict[str, str]
) -> None:
    process, base, link = served
    assert httpx.get(f"{base}/healthz").status_code == 200
    assert httpx.get(f"{base}/readyz").status_code == 200
    refused = httpx.get(f"{base}/api/v1/routes")
    assert refused.status_code == 401
    assert refused.headers["content-type"] == "application/problem+json"
    assert refused.headers["www-authenticate"].startswith("Bearer")

    # the sign-up link leads to a form; sending it makes the first admin and signs in
    with httpx.Client() as browser:
        form = browser.get(link)
        assert form.status_code == 200 and 'name="password"' in form.text
        token = link.rsplit("=", 1)[1]
        foreign = browser.post(
            f"{base}/signup",
            data={"token": token, "name": "root", "password": "pw-root-1234"},
            headers={"Origin": "https://evil.example"},
        )
        assert foreign.status_code == 403
        signed = browser.post(
            f"{base}/signup", data={"token": token, "name": "root", "password": "pw-root-1234"}
        )
        assert signed.status_code == 200, signed.text
        assert "HttpOnly" in signed.headers["set-cookie"]
        assert browser.get(f"{base}/api/v1/routes").status_code == 200  # the session
        again = browser.post(
            f"{base}/signup", data={"token": token, "name": "root2", "password": "pw-root-1234"}
        )
        assert again.status_code == 422  # the link is used up

    secret = _postroom(env, "token", "create", "root").splitlines()[0].strip()
    bearer = {"Authorization": f"Bearer {secret}"}
    made = httpx.post(
        f"{base}/api/v1/routes",
        json={"address": "help@example.org", "context": "C", "category": "K", "queue": "Q"},
        headers=bearer,
    )
    assert made.status_code == 201
    assert httpx.get(f"{base}/api/v1/routes", headers=bearer).json()[0]["queue"] == "Q"

    process.send_signal(signal.SIGTERM)
    process.wait(timeout=20)
    assert process.stderr is not None
    log = process.stderr.read()
    assert token not in log and secret not in log and "pw-root-1234" not in log


def test_a_bad_listen_address_is_one_line_and_exit_2(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("POSTROOM_HOME", str(tmp_path))
    shell = Shell(capsys)
    for value in ("nonsense", "127.0.0.1:99999", "127.0.0.1:", "a b:80", ":8025"):
        result = shell("web", "--listen", value)
        assert result.code == 2, value
        assert result.err.count("\n") == 1 and result.err.startswith("postroom: --listen")
