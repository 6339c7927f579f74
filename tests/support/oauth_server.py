"""The test OAuth2 authorization server (tests/servers/oauth/server.py), for pytest.

``make servers`` (``tests/servers/mailstack/start``) runs it on 127.0.0.1:11080 beside
Dovecot and Postfix, and Dovecot's main instance asks its introspection endpoint about every
XOAUTH2 and OAUTHBEARER login (IMAP 11143/11993, POP3 11110/11995). Postfix's submission and
SMTPS ports (11587, 11465) authenticate through Dovecot's auth socket, so they offer
``AUTH XOAUTH2 OAUTHBEARER`` too and take the same tokens. The bad-certificate instances
(ports + 1000/2000/3000) take passwords only.

The session fixture `oauth_server` (an `OAuthServer`) fails, never skips, when the server is
not up. Everything is keyed by random tokens: tests running at once never see each other's
grants, and there is nothing to reset::

    def test_xoauth2(mailstack, oauth_server):
        address, _ = mailstack.new_user("oauth")        # the user must exist in Dovecot
        refresh_token = oauth_server.grant(address)     # what a sign-in would have given
        tokens = net.oauth.refresh(oauth_server.provider(), "client", None, refresh_token)
        ...log in with tokens.access_token (imaps://ADDRESS@127.0.0.1:PORT, XOAUTH2)...
        oauth_server.expire(tokens.access_token)        # Dovecot refuses it from now on
        oauth_server.rotate(refresh_token)              # the next refresh gives a new one
        oauth_server.revoke(refresh_token)              # invalid_grant; its tokens inactive

Any ``client_id`` is accepted (``grant(..., client_id=X)`` pins one). Rotation invalidates
the old refresh token at once (a stricter provider than Microsoft's). Device sign-in:
`start_device` against `device_url`, then `approve(user_code, user)`; `poll_device` answers
``authorization_pending`` until then (``interval`` 1 s), and a refresh token (not rotating)
after; `deny` makes it ``access_denied``.
"""

from __future__ import annotations

import json
import re
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from typing import Any

import pytest

from postroom.net.oauth import Provider, provider
from support.mailstack import Mailstack, _env_file

TEST_CLIENT_ID = "postroom-tests"


class ControlError(Exception):
    """A control endpoint refused (an unknown token or user code)."""


@dataclass(frozen=True, slots=True)
class OAuthServer:
    url: str
    """``http://127.0.0.1:PORT``."""

    @property
    def token_url(self) -> str:
        return f"{self.url}/token"

    @property
    def device_url(self) -> str:
        return f"{self.url}/device"

    @property
    def introspection_url(self) -> str:
        return f"{self.url}/introspect"

    def provider(self, scopes: tuple[str, ...] = ()) -> Provider:
        """A ``custom`` provider with this server's token and device URLs."""
        return provider("custom", self.token_url, self.device_url, scopes)

    # ------------------------------------------------------------------ controls
    def grant(
        self,
        user: str,
        *,
        expires_in: int = 3600,
        rotate: bool = False,
        client_id: str | None = None,
    ) -> str:
        """A grant for ``user`` (a Dovecot login) as a sign-in gives one: its refresh token.
        Access tokens refreshed from it last ``expires_in`` seconds; ``rotate``: every
        refresh gives a new refresh token and ends the old one."""
        form = {"user": user, "expires_in": str(expires_in), "rotate": "1" if rotate else "0"}
        if client_id:
            form["client_id"] = client_id
        return str(self._control("grant", form)["refresh_token"])

    def expire(self, access_token: str) -> None:
        """The access token expires now: introspection says inactive, Dovecot refuses it."""
        self._control("expire", {"access_token": access_token})

    def rotate(self, refresh_token: str, on: bool = True) -> None:
        """Rotate (or stop rotating) the refresh tokens of the grant of ``refresh_token``
        from its next refresh on."""
        self._control("rotate", {"refresh_token": refresh_token, "on": "1" if on else "0"})

    def revoke(self, refresh_token: str) -> None:
        """Revoke the grant (any of its refresh tokens, current or rotated out): a refresh
        answers ``invalid_grant`` and its access tokens are inactive."""
        self._control("revoke", {"refresh_token": refresh_token})

    def inspect(self, refresh_token: str) -> dict[str, Any]:
        """What the server knows of the grant: ``user``, ``revoked``, ``rotate``,
        ``refreshes`` (count), ``client_ids`` and ``scopes`` of the refreshes, ``current``
        (whether this refresh token is the grant's valid one)."""
        return self._control("inspect", {"refresh_token": refresh_token})

    def approve(self, user_code: str, user: str, expires_in: int = 3600) -> None:
        """The person behind ``user_code`` signs in as ``user``."""
        form = {"user_code": user_code, "user": user, "expires_in": str(expires_in)}
        self._control("approve", form)

    def deny(self, user_code: str) -> None:
        """The person behind ``user_code`` declines: the device grant is ``access_denied``."""
        self._control("deny", {"user_code": user_code})

    def access_token(self, user: str, expires_in: int = 3600) -> str:
        """A fresh access token for ``user`` (a grant and one refresh), for a quick login."""
        refresh_token = self.grant(user, expires_in=expires_in)
        answer = self._post(
            "/token",
            {
                "grant_type": "refresh_token",
                "refresh_token": refresh_token,
                "client_id": TEST_CLIENT_ID,
            },
        )
        return str(answer["access_token"])

    def introspect(self, token: str) -> dict[str, Any]:
        """What Dovecot is told about ``token`` (RFC 7662)."""
        return self._post("/introspect", {"token": token})

    # ------------------------------------------------------------------ wire
    def _control(self, action: str, form: dict[str, str]) -> dict[str, Any]:
        return self._post(f"/control/{action}", form)

    def _post(self, path: str, form: dict[str, str]) -> dict[str, Any]:
        request = urllib.request.Request(
            self.url + path, data=urllib.parse.urlencode(form).encode(), method="POST"
        )
        try:
            with urllib.request.urlopen(request, timeout=10) as answer:
                data: dict[str, Any] = json.load(answer)
        except urllib.error.HTTPError as exc:
            said = json.loads(exc.read() or b"{}")
            raise ControlError(f"{path}: HTTP {exc.code} {said.get('error_description')}") from None
        return data

    def healthy(self) -> bool:
        try:
            with urllib.request.urlopen(f"{self.url}/health", timeout=2) as answer:
                return bool(json.load(answer).get("ok"))
        except (OSError, ValueError):
            return False


def _server_url() -> str | None:
    env_file = _env_file()
    if not env_file.is_file():
        return None
    m = re.search(r"^(?:export\s+)?MAILSTACK_OAUTH_URL=(\S+)$", env_file.read_text(), re.M)
    return m[1] if m else None


@pytest.fixture(scope="session")
def oauth_server(mailstack: Mailstack) -> OAuthServer:
    """The running test OAuth2 server; fails with a how-to when it is not up."""
    how = "start it with `make servers` (tests/servers/mailstack/start, as root)"
    url = _server_url()
    if url is None:
        pytest.fail(
            f"the mail stack of {mailstack.state_dir} names no OAuth2 server "
            f"(no MAILSTACK_OAUTH_URL in mailstack.env): {how}",
            pytrace=False,
        )
    server = OAuthServer(url)
    if not server.healthy():
        pytest.fail(f"the test OAuth2 server at {url} does not answer: {how}", pytrace=False)
    return server
