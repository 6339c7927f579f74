"""The composition root hands the settings to what it builds."""

from __future__ import annotations

from pathlib import Path

import pytest

from postroom.bootstrap import App
from postroom.settings import Settings


@pytest.mark.parametrize("connections", [1, 7])
def test_the_sender_uses_the_configured_number_of_smtp_connections(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, connections: int
) -> None:
    monkeypatch.setenv("POSTROOM_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("POSTROOM_SMTP_CONNECTIONS", str(connections))
    app = App(Settings())
    assert app.sender.connections == connections
