"""OAuth2 channels and SMTP servers end to end: the CLI against the loopback Dovecot's oauth2
passdb and the test OAuth2 server (tests/support/oauth_server.py), as a person would run it.

A channel added with ``--oauth2 custom --refresh-token-env`` is checked and polled over IMAPS
with XOAUTH2; an access token that expired is refreshed; a rotated refresh token is stored
(the old one is refused from then on); a revoked grant makes that channel's failure
``authentication`` with the way out while another channel in the same poll is still polled;
``channel authorize`` signs in by device code (and Ctrl-C stores nothing); an SMTP server
signed in the same way sends through Postfix with XOAUTH2. No token is ever printed.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import pytest
from sqlalchemy import text

from e2e.cli import Result, run_cli
from postroom.bootstrap import App
from postroom.net import oauth
from postroom.net.oauth import GrantProblem, TokenError
from postroom.records.oauth import GrantOwner
from support.mails import make_mail
from support.mailstack import Mailstack
from support.oauth_server import TEST_CLIENT_ID, OAuthServer

pytestmark = [
    pytest.mark.usefixtures("postroom_env"),
    pytest.mark.parametrize("database_url", ["sqlite"], indirect=True),
]


@dataclass
class Session:
    """The CLI with every output kept, and the tokens that must never appear in it."""

    capsys: pytest.CaptureFixture[str]
    outputs: list[str] = field(default_factory=list)
    tokens: set[str] = field(default_factory=set)

    def __call__(self, *argv: str) -> Result:
        result = run_cli(self.capsys, *argv)
        self.outputs += [result.out, result.err]
        return result

    def ok(self, *argv: str) -> Result:
        result = self(*argv)
        assert result.code == 0, f"{argv}: {result.err}"
        return result

    def json(self, *argv: str) -> Any:
        return self.ok(*argv, "--json").json()

    def channel(self, name: str) -> dict[str, Any]:
        [found] = [c for c in self.json("channel", "list") if c["name"] == name]
        return found

    def poll(self) -> dict[str, dict[str, Any]]:
        result = self("poll", "--json")
        data = result.json()
        reports = data["channels"] if isinstance(data, dict) else data
        return {r["channel"]: r for r in reports}

    def leaked(self, caplog: pytest.LogCaptureFixture) -> list[str]:
        seen = "\n".join([*self.outputs, caplog.text])
        return sorted(t for t in self.tokens if t in seen)


@pytest.fixture
def sh(capsys: pytest.CaptureFixture[str]) -> Iterator[Session]:
    yield Session(capsys)


def stored_tokens(name: str) -> tuple[str, str]:
    """The channel's refresh and access tokens as stored (opened with the data folder's
    key), and the test moves the access token's expiry into the past (time went by)."""
    app = App()
    with app.storage.reading() as uow:
        channel = uow.channels.get(name)
        grant = uow.grants.get(GrantOwner.CHANNEL, channel.id)
    assert grant is not None and grant.refresh_token_enc and grant.access_token_enc
    refresh = app.secrets.open(grant.refresh_token_enc).reveal()
    access = app.secrets.open(grant.access_token_enc).reveal()
    app.engine.dispose()
    return refresh, access


def time_passes(name: str) -> None:
    """The stored access token's lifetime is over (as after an hour)."""
    app = App()
    with app.storage.writing() as uow:
        channel = uow.channels.get(name)
        uow.conn.execute(
            text("UPDATE oauth_grants SET expires_at = :t WHERE channel_id = :c"),
            {"t": datetime(2020, 1, 1), "c": channel.id},
        )
    app.engine.dispose()


def imaps(mailstack: Mailstack, address: str) -> str:
    return f"imaps://{address}@{mailstack.host}:{mailstack.imaps_port}"


def route(sh: Session, address: str) -> None:
    sh.ok("route", "add", address, "--context", "Acme", "--category", "Query", "--queue", "q")


def add_oauth_channel(
    sh: Session,
    mailstack: Mailstack,
    oauth_server: OAuthServer,
    name: str,
    address: str,
    *more: str,
) -> Result:
    return sh(
        "channel",
        "add",
        name,
        "--url",
        imaps(mailstack, address),
        "--ca-file",
        str(mailstack.ca_file),
        "--oauth2",
        "custom",
        "--token-url",
        oauth_server.token_url,
        "--device-url",
        oauth_server.device_url,
        "--client-id",
        TEST_CLIENT_ID,
        *more,
    )


def test_an_oauth2_channel_is_polled_refreshed_rotated_and_revoked_alone(
    sh: Session,
    mailstack: Mailstack,
    oauth_server: OAuthServer,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    address, _ = mailstack.new_user("oauth")
    other, other_password = mailstack.new_user("pw")
    route(sh, address)
    route(sh, other)
    first = oauth_server.grant(address)
    sh.tokens.add(first)
    monkeypatch.setenv("RT", first)
    added = add_oauth_channel(
        sh, mailstack, oauth_server, "box", address, "--refresh-token-env", "RT"
    )
    assert added.code == 0, added.err
    assert "channel box added and enabled: check passed" in added.out
    monkeypatch.setenv("PW", other_password)
    sh.ok(
        "channel", "add", "plain", "--url", imaps(mailstack, other), "--password-env", "PW",
        "--ca-file", str(mailstack.ca_file),
    )  # fmt: skip
    box = sh.channel("box")
    assert (box["auth"], box["enabled"]) == ("oauth2:custom", True)
    assert box["token_expires"] is not None
    assert (
        sh.channel("plain")["auth"] == "password" and sh.channel("plain")["token_expires"] is None
    )
    checked = sh.json("channel", "check", "box")
    login = next(s for s in checked["steps"] if s["name"] == "auth")
    assert login["ok"] is True and "XOAUTH2" in login["detail"]["mechanism"]

    # Polled over IMAPS with XOAUTH2: the mail is filed.
    mailstack.deliver(address, make_mail(to=address, subject="First by OAuth2"))
    polled = sh.poll()["box"]
    assert (polled["fetched"], polled["handled"], polled["errors"]) == (1, 1, [])
    _, access = stored_tokens("box")
    sh.tokens.add(access)

    # The access token expired: refreshed before the login (the old one is refused).
    refreshes = oauth_server.inspect(first)["refreshes"]
    oauth_server.expire(access)
    time_passes("box")
    mailstack.deliver(address, make_mail(to=address, subject="After the expiry"))
    polled = sh.poll()["box"]
    assert (polled["fetched"], polled["errors"]) == (1, [])
    assert oauth_server.inspect(first)["refreshes"] == refreshes + 1
    same, renewed = stored_tokens("box")
    assert same == first and renewed != access
    sh.tokens.add(renewed)

    # The provider rotates refresh tokens: the new one is stored, the old one refused after.
    oauth_server.rotate(first)
    time_passes("box")
    mailstack.deliver(address, make_mail(to=address, subject="After the rotation"))
    assert sh.poll()["box"]["fetched"] == 1
    rotated, newest = stored_tokens("box")
    sh.tokens.update({rotated, newest})
    assert rotated != first and oauth_server.inspect(rotated)["current"] is True
    with pytest.raises(TokenError) as refused:
        oauth.refresh(oauth_server.provider(), TEST_CLIENT_ID, None, first)
    assert refused.value.problem is GrantProblem.REVOKED
    time_passes("box")
    mailstack.deliver(address, make_mail(to=address, subject="Still fine"))
    assert sh.poll()["box"]["fetched"] == 1  # the stored (rotated) one goes on working
    _, latest = stored_tokens("box")
    sh.tokens.add(latest)

    # Revoked: that channel's failure is authentication with the way out; the other one
    # is polled in the same run.
    oauth_server.revoke(rotated)
    time_passes("box")
    mailstack.deliver(address, make_mail(to=address, subject="Not taken"))
    mailstack.deliver(other, make_mail(to=other, subject="Taken"))
    reports = sh.poll()
    assert reports["plain"]["fetched"] == 1 and reports["plain"]["errors"] == []
    assert reports["box"]["fetched"] == 0 and reports["box"]["error_class"] == "authentication"
    assert reports["box"]["errors"][0].endswith("sign in again: postroom channel authorize box")
    box = sh.channel("box")
    assert box["last_error_class"] == "authentication" and box["failure_count"] == 1
    assert "sign in again: postroom channel authorize box" in box["last_error"]
    assert mailstack.count(address) == 1  # left on the server for after the sign-in

    # Signed in again with a new refresh token: the mail left behind is taken.
    fresh = oauth_server.grant(address)
    sh.tokens.add(fresh)
    monkeypatch.setenv("RT2", fresh)
    again = sh("channel", "authorize", "box", "--refresh-token-env", "RT2")
    assert again.code == 0 and "channel box signed in and enabled" in again.out, again.err
    assert sh.poll()["box"]["fetched"] == 1
    sh.tokens.update(stored_tokens("box"))
    assert sh.leaked(caplog) == []


def _authorize(name: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "postroom", "channel", "authorize", name],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=os.environ.copy(),
    )


def _user_code(proc: subprocess.Popen[str]) -> tuple[str, str]:
    """The first stderr line (where to sign in, and the code) and its user code."""
    assert proc.stderr is not None
    line = proc.stderr.readline()
    assert "enter the code" in line, line
    return line, line.split("enter the code ", 1)[1].split()[0]


def test_channel_authorize_signs_in_by_device_code_and_ctrl_c_stores_nothing(
    sh: Session, mailstack: Mailstack, oauth_server: OAuthServer
) -> None:
    address, _ = mailstack.new_user("device")
    route(sh, address)
    added = add_oauth_channel(sh, mailstack, oauth_server, "dev", address)
    assert added.code == 0, added.err
    assert "disabled until it is signed in (sign in: postroom channel authorize dev)" in added.out
    box = sh.channel("dev")
    assert (box["enabled"], box["token_expires"]) == (False, None)
    refused = sh("channel", "enable", "dev")
    assert refused.code == 1 and "postroom channel authorize dev" in refused.err

    # Ctrl-C while waiting for the person: nothing is stored, the channel stays off.
    stopped = _authorize("dev")
    _line, code = _user_code(stopped)
    time.sleep(1.5)
    stopped.send_signal(signal.SIGINT)
    _, err = stopped.communicate(timeout=30)
    assert stopped.returncode != 0, err
    assert sh.channel("dev")["token_expires"] is None and not sh.channel("dev")["enabled"]

    # Signed in: the page and the code on stderr, then checked and enabled.
    proc = _authorize("dev")
    line, code = _user_code(proc)
    assert f"{oauth_server.url}/" in line
    oauth_server.approve(code, address)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    assert "channel dev signed in and enabled: check passed" in out
    box = sh.channel("dev")
    assert box["enabled"] and box["token_expires"] is not None
    refresh, access = stored_tokens("dev")
    assert refresh not in out + err + line and access not in out + err + line
    mailstack.deliver(address, make_mail(to=address, subject="After the sign-in"))
    assert sh.poll()["dev"]["fetched"] == 1

    # OAUTHBEARER (RFC 7628) instead of XOAUTH2: checked again, then polled.
    bearer = sh("channel", "set", "dev", "--mechanism", "oauthbearer")
    assert bearer.code == 0 and "changed and enabled: check passed" in bearer.out, bearer.err
    login = next(s for s in sh.json("channel", "check", "dev")["steps"] if s["name"] == "auth")
    assert "OAUTHBEARER" in login["detail"]["mechanism"]
    mailstack.deliver(address, make_mail(to=address, subject="By OAUTHBEARER"))
    assert sh.poll()["dev"]["fetched"] == 1


def test_an_smtp_server_signed_in_with_oauth2_sends_through_postfix_with_xoauth2(
    sh: Session,
    mailstack: Mailstack,
    oauth_server: OAuthServer,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    address, _ = mailstack.new_user("sender")
    sh.ok(
        "route", "add", "support@example.test", "--context", "Acme", "--category", "Query",
        "--queue", "q", "--acknowledge",
    )  # fmt: skip
    refresh = oauth_server.grant(address)
    sh.tokens.add(refresh)
    monkeypatch.setenv("RT", refresh)
    url = f"submission://{address}@{mailstack.host}:{mailstack.submission_port}"
    added = sh(
        "smtp", "add", "relay", "--url", url, "--ca-file", str(mailstack.ca_file), "--default",
        "--send-as", "--oauth2", "custom", "--token-url", oauth_server.token_url,
        "--client-id", TEST_CLIENT_ID,
    )  # fmt: skip
    assert added.code == 0, added.err
    assert "disabled until it is signed in (sign in: postroom smtp authorize relay)" in added.out
    assert sh.json("smtp", "list")[0]["enabled"] is False
    signed = sh("smtp", "authorize", "relay", "--refresh-token-env", "RT")
    assert signed.code == 0, signed.err
    assert "SMTP server relay signed in and enabled: check passed" in signed.out
    [server] = sh.json("smtp", "list")
    assert (server["auth"], server["has_password"]) == ("oauth2:custom", False)
    customer = f"carol-{os.getpid()}-{time.monotonic_ns()}@customer.test"
    mail = make_mail(sender=customer, to="support@example.test")
    result = run_cli(sh.capsys, "ingest", "-", "--json", stdin=mail)
    sh.outputs += [result.out, result.err]
    assert result.code == 0, result.err
    assert sh.json("outbox", "send")["sent"] == 1
    [raw] = mailstack.wait_captured(customer)
    assert b"Authenticated sender: " + address.encode() in raw
    before = oauth_server.inspect(refresh)["refreshes"]
    assert before >= 1
    assert sh.leaked(caplog) == []


def test_channel_set_switches_a_password_channel_to_oauth2_and_back(
    sh: Session,
    mailstack: Mailstack,
    oauth_server: OAuthServer,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    address, password = mailstack.new_user("switch")
    route(sh, address)
    monkeypatch.setenv("PW", password)
    sh.ok(
        "channel", "add", "sw", "--url", imaps(mailstack, address), "--password-env", "PW",
        "--ca-file", str(mailstack.ca_file),
    )  # fmt: skip
    refresh = oauth_server.grant(address)
    sh.tokens.add(refresh)
    monkeypatch.setenv("RT", refresh)
    monkeypatch.setenv("CS", "client-secret-value")
    sh.tokens.add("client-secret-value")
    changed = sh(
        "channel", "set", "sw", "--oauth2", "custom", "--token-url", oauth_server.token_url,
        "--client-id", TEST_CLIENT_ID, "--client-secret-env", "CS", "--scope", "mail",
        "--scope", "offline", "--refresh-token-env", "RT",
    )  # fmt: skip
    assert changed.code == 0 and "channel sw changed and enabled: check passed" in changed.out
    row = sh.channel("sw")
    assert (row["auth"], row["enabled"]) == ("oauth2:custom", True)
    assert oauth_server.inspect(refresh)["scopes"][-1] == "mail offline"
    mailstack.deliver(address, make_mail(to=address, subject="By token"))
    assert sh.poll()["sw"]["fetched"] == 1
    sh.tokens.update(stored_tokens("sw"))
    back = sh("channel", "set", "sw", "--password-env", "PW")
    assert back.code == 0 and "changed and enabled: check passed" in back.out, back.err
    row = sh.channel("sw")
    assert (row["auth"], row["token_expires"]) == ("password", None)
    mailstack.deliver(address, make_mail(to=address, subject="By password"))
    assert sh.poll()["sw"]["fetched"] == 1
    assert sh.leaked(caplog) == []
