"""A POP3 channel that logs in with OAuth2, end to end: the CLI against the loopback Dovecot's
oauth2 passdb and the test OAuth2 server (tests/support/oauth_server.py).

``channel add NAME --url pop3s://… --oauth2 custom --token-url … --client-id …
--refresh-token-env VAR`` signs in, is checked and enabled; ``poll`` logs in with XOAUTH2
(Dovecot's log says so) and files the mail; switched to OAUTHBEARER it is checked and polled
again; a revoked grant is the channel's ``authentication`` failure with the way out. No token
is ever printed.
"""

from __future__ import annotations

from typing import Any

import pytest

from e2e.cli import Result, run_cli
from support.mails import make_mail
from support.mailstack import Mailstack
from support.oauth_server import TEST_CLIENT_ID, OAuthServer

pytestmark = [
    pytest.mark.usefixtures("postroom_env"),
    pytest.mark.parametrize("database_url", ["sqlite"], indirect=True),
]


class Shell:
    def __init__(self, capsys: pytest.CaptureFixture[str]) -> None:
        self.capsys = capsys
        self.outputs: list[str] = []

    def __call__(self, *argv: str) -> Result:
        result = run_cli(self.capsys, *argv)
        self.outputs += [result.out, result.err]
        return result

    def ok(self, *argv: str) -> Result:
        result = self(*argv)
        assert result.code == 0, f"{argv}: {result.err}"
        return result

    def poll(self) -> dict[str, Any]:
        data = self("poll", "--json").json()
        reports = data["channels"] if isinstance(data, dict) else data
        return {r["channel"]: r for r in reports}


def logins(mailstack: Mailstack, address: str, mechanism: str) -> int:
    log = (mailstack.state_dir / "log/dovecot-main.log").read_text()
    return log.count(f"pop3-login: Info: Login: user=<{address}>, method={mechanism}")


def test_a_pop3_channel_added_with_oauth2_polls_with_xoauth2_then_oauthbearer(
    capsys: pytest.CaptureFixture[str],
    mailstack: Mailstack,
    oauth_server: OAuthServer,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    sh = Shell(capsys)
    address, _ = mailstack.new_user("pop3grant")
    sh.ok("route", "add", address, "--context", "Acme", "--category", "Query", "--queue", "q")
    refresh_token = oauth_server.grant(address)
    monkeypatch.setenv("RT", refresh_token)

    added = sh(
        "channel", "add", "pop", "--url",
        f"pop3s://{address}@{mailstack.host}:{mailstack.pop3s_port}",
        "--ca-file", str(mailstack.ca_file), "--oauth2", "custom",
        "--token-url", oauth_server.token_url, "--client-id", TEST_CLIENT_ID,
        "--refresh-token-env", "RT",
    )  # fmt: skip

    assert added.code == 0, added.err
    assert "channel pop added and enabled: check passed" in added.out
    [channel] = [c for c in sh.ok("channel", "list", "--json").json() if c["name"] == "pop"]
    assert (channel["auth"], channel["enabled"]) == ("oauth2:custom", True)

    mailstack.deliver(address, make_mail(to=address, subject="POP3 by OAuth2"))
    before = logins(mailstack, address, "XOAUTH2")
    polled = sh.poll()["pop"]
    assert (polled["fetched"], polled["handled"], polled["errors"]) == (1, 1, [])
    assert logins(mailstack, address, "XOAUTH2") == before + 1
    assert mailstack.count(address) == 0  # POP3 deletes what it stored

    switched = sh("channel", "set", "pop", "--mechanism", "oauthbearer")
    assert switched.code == 0, switched.err
    mailstack.deliver(address, make_mail(to=address, subject="By OAUTHBEARER"))
    polled = sh.poll()["pop"]
    assert (polled["fetched"], polled["errors"]) == (1, [])
    assert logins(mailstack, address, "OAUTHBEARER") >= 2  # the set's check, then the poll

    oauth_server.revoke(refresh_token)
    mailstack.deliver(address, make_mail(to=address, subject="Not taken"))
    revoked = sh.poll()["pop"]  # the stored access token is inactive now: Dovecot refuses it
    assert revoked["fetched"] == 0
    assert revoked["error_class"] == "authentication"
    assert mailstack.count(address) == 1

    shown = "\n".join([*sh.outputs, caplog.text])
    assert refresh_token not in shown
