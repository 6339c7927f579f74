"""The composition root gives the poller, the IDLE watch and the sender the OAuth2-aware
ways to log in: an OAuth2 channel's mailbox is opened with an access token of its sign-in
(here: none yet, so an authentication failure naming the sign-in command, before any
connection), and a server that logs in by password is sent through without one."""

from __future__ import annotations

from pathlib import Path

import pytest

from postroom.bootstrap import App
from postroom.net.connection import ConnectionFailure, FailureClass
from postroom.records.config import ServerRecord
from postroom.services.channels import NewChannel
from postroom.services.grants import OAuthOptions
from postroom.services.mailbox_access import MailboxAccess
from postroom.settings import Settings


def test_polls_idle_watches_and_sending_ask_the_sign_ins(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("POSTROOM_HOME", str(tmp_path / "home"))
    app = App(Settings())
    oauth = OAuthOptions(provider="custom", client_id="c", token_url="http://127.0.0.1:9/t")
    url = "imaps://alice@example.test@127.0.0.1:9"
    app.channels.add(NewChannel("box", url, None, oauth=oauth))
    access = MailboxAccess.of(app.channels.show("box"), app.secrets, 1000)
    idle = app.idle_watch()
    assert idle is not None
    for sources in (app.poller.sources, idle.sources):
        with pytest.raises(ConnectionFailure) as failed:
            sources(access)
        assert failed.value.kind is FailureClass.AUTHENTICATION
        assert str(failed.value).endswith("sign in: postroom channel authorize box")
    assert app.sender.tokens is not None
    plain = ServerRecord("smtp:relay", "smtps://u@h:465", None, "sealed", None, None, 30)
    assert app.sender.tokens(plain) is None
    app.engine.dispose()
