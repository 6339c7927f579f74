"""Shared fixtures: see tests/support/."""

import socket

import pytest

pytest_plugins = ["support.database", "support.mailstack"]


@pytest.fixture(autouse=True)
def _own_listen_address(monkeypatch: pytest.MonkeyPatch) -> None:
    """A `postroom run` (which serves the web too) or `postroom web` a test starts listens
    on a free port of its own, not on the default 127.0.0.1:8025 that tests running at once
    (`pytest -n 2`), or a Postroom on this machine, would contend for."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    monkeypatch.setenv("POSTROOM_LISTEN", f"127.0.0.1:{port}")


# The test OAuth2 server (tests/servers/oauth): fixture `oauth_server`.
pytest_plugins.append("support.oauth_server")
