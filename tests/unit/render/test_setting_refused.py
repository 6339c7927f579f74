"""A channel's or an SMTP server's setting refused: the services name the setting (the
API's field name, what the API and the pages show), the CLI words it as its option."""

from __future__ import annotations

from pathlib import Path

import pytest

from postroom.credentials import Secret
from postroom.errors import UserError
from postroom.net.sasl import AuthMechanism
from postroom.render.fixes import cli_words, field_words
from postroom.services.channels import ChannelChange, ChannelService, NewChannel
from postroom.services.servers import NewServer, ServerService
from postroom.services.setting_fixes import Setting, SettingRefused
from unit.services.config_fakes import CannedCheck, Clock, memory_storage, secret_box

URL = "pop3s://alice@example.test@pop.example.test:995"


@pytest.mark.parametrize(
    ("change", "settings", "said", "cli"),
    [
        (
            ChannelChange(interval=1),
            (Setting.INTERVAL,),
            "interval must be at least 5 seconds",
            "--interval must be at least 5 seconds",
        ),
        (
            ChannelChange(max_failures=0),
            (Setting.MAX_FAILURES,),
            "max_failures must be at least 1",
            "--max-failures must be at least 1",
        ),
        (
            ChannelChange(folder="Archive"),
            (Setting.FOLDER, Setting.AFTER),
            "folder and after move:FOLDER need an imap:// or imaps:// URL",
            "--folder and --after move:FOLDER need an imap:// or imaps:// URL",
        ),
        (
            ChannelChange(authzid="shared@example.test"),
            (Setting.MECHANISM,),
            "an authorization identity needs mechanism plain or auto",
            "an authorization identity needs --mechanism plain or auto",
        ),
    ],
)
def test_a_channel_setting_refused_names_the_setting(
    tmp_path: Path, change: ChannelChange, settings: tuple[Setting, ...], said: str, cli: str
) -> None:
    channels = ChannelService(memory_storage(str(tmp_path)), secret_box(), CannedCheck(), Clock())
    channels.add(
        NewChannel(name="box", url=URL, password=Secret("pw-1234"), mechanism=AuthMechanism.USER)
    )
    with pytest.raises(SettingRefused) as refused:
        channels.set("box", change)
    assert refused.value.settings == settings
    assert str(refused.value) == said and "--" not in said
    assert cli_words(refused.value) == cli


def test_a_server_setting_refused_names_the_setting(tmp_path: Path) -> None:
    servers = ServerService(memory_storage(str(tmp_path)), secret_box(), CannedCheck(), Clock())
    new = NewServer(name="relay", url="smtps://smtp.example.test:465", password=None, authzid="x")
    with pytest.raises(SettingRefused) as refused:
        servers.add(new)
    assert (refused.value.settings, str(refused.value)) == (
        (Setting.AUTHZID,),
        "authzid needs a user in the URL",
    )
    assert cli_words(refused.value) == "--authzid needs a user in the URL"
    assert field_words(refused.value) == (
        "the Authorization identity field needs a user in the URL"
    )


def test_other_errors_are_worded_as_they_say_themselves() -> None:
    other = UserError("no channel 'x' (see: postroom channel list)")
    assert cli_words(other) == field_words(other) == str(other)


def test_an_oauth2_login_refused_names_the_settings(tmp_path: Path) -> None:
    storage = memory_storage(str(tmp_path))
    servers = ServerService(storage, secret_box(), CannedCheck(), Clock())
    new = NewServer(
        name="relay",
        url="smtps://a@smtp.example.test:465",
        password=Secret("pw-1234"),
        mechanism=AuthMechanism.XOAUTH2,
    )
    with pytest.raises(SettingRefused) as refused:
        servers.add(new)
    assert (refused.value.settings, str(refused.value)) == (
        (Setting.MECHANISM, Setting.OAUTH2),
        "mechanism on an SMTP server is for oauth2 (xoauth2, oauthbearer)",
    )
    assert cli_words(refused.value) == (
        "--mechanism on an SMTP server is for --oauth2 (xoauth2, oauthbearer)"
    )
    channels = ChannelService(storage, secret_box(), CannedCheck(), Clock())
    box = NewChannel(
        name="box", url=URL, password=Secret("pw-1234"), mechanism=AuthMechanism.XOAUTH2
    )
    with pytest.raises(SettingRefused) as refused:
        channels.add(box)
    assert str(refused.value) == "mechanism xoauth2 needs oauth2 PROVIDER (an access token)"
    assert cli_words(refused.value) == (
        "--mechanism xoauth2 needs --oauth2 PROVIDER (an access token)"
    )
