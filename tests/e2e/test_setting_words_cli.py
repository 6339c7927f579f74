"""The CLI words a refused setting with its options, as docs/cli.md gives them, while the
services name the setting itself (what the API and the pages show)."""

from __future__ import annotations

import pytest

from e2e.cli import Shell

pytestmark = [
    pytest.mark.usefixtures("postroom_env"),
    pytest.mark.parametrize("database_url", ["sqlite"], indirect=True),
]


def test_refused_settings_name_the_options(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    sh = Shell(capsys)
    monkeypatch.setenv("BOX_PW", "pw-1234")
    url = "pop3s://alice@example.test@pop.example.test:995"
    folder = sh("channel", "add", "box", "--url", url, "--password-env", "BOX_PW", "--folder", "X")
    assert (folder.code, folder.err.strip()) == (
        1,
        "postroom: --folder and --after move:FOLDER need an imap:// or imaps:// URL",
    )
    server = sh("smtp", "add", "relay", "--url", "smtps://smtp.example.test:465", "--authzid", "x")
    assert (server.code, server.err.strip()) == (1, "postroom: --authzid needs a user in the URL")
    login = ["--password-env", "BOX_PW", "--mechanism", "login", "--authzid", "shared@example.test"]
    mechanism = sh("channel", "add", "box", "--url", url, *login)
    assert mechanism.code == 1
    assert mechanism.err.strip() == (
        "postroom: an authorization identity needs --mechanism plain or auto"
    )
