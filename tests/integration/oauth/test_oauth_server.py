"""The test OAuth2 server itself: many clients at once, bounded and RFC-shaped refusals, no
token in its log."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor

import pytest

from postroom.net import oauth as net_oauth
from support.mailstack import Mailstack
from support.oauth_server import TEST_CLIENT_ID, OAuthServer

pytestmark = pytest.mark.servers


def post(url: str, body: bytes) -> tuple[int, dict[str, object]]:
    request = urllib.request.Request(url, data=body, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:
            return answer.status, json.load(answer)
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def test_grants_of_clients_at_once_never_mix(
    mailstack: Mailstack, oauth_server: OAuthServer
) -> None:
    users = [f"user{i}@{mailstack.domain}" for i in range(40)]

    def one(user: str) -> tuple[str, object]:
        refresh_token = oauth_server.grant(user, rotate=True)
        tokens = net_oauth.refresh(oauth_server.provider(), TEST_CLIENT_ID, None, refresh_token)
        assert tokens.refresh_token is not None
        again = net_oauth.refresh(
            oauth_server.provider(), TEST_CLIENT_ID, None, tokens.refresh_token
        )
        return user, oauth_server.introspect(again.access_token)["username"]

    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(one, users))

    assert all(user == seen for user, seen in answers)


def test_refusals_have_the_rfc_shape(oauth_server: OAuthServer) -> None:
    token_url = oauth_server.token_url
    assert post(token_url, b"grant_type=refresh_token&refresh_token=x") == (
        401,
        {"error": "invalid_client", "error_description": "client_id is missing"},
    )
    status, said = post(token_url, b"grant_type=password&client_id=c")
    assert (status, said["error"]) == (400, "unsupported_grant_type")
    status, said = post(token_url, b"grant_type=refresh_token&client_id=c&refresh_token=nope")
    assert (status, said["error"]) == (400, "invalid_grant")
    status, said = post(token_url, b"x" * (64 * 1024 + 1))
    assert (status, said["error"]) == (413, "invalid_request")
    status, said = post(oauth_server.url + "/control/revoke", b"refresh_token=unknown")
    assert status == 404


def test_tokens_never_reach_the_log(mailstack: Mailstack, oauth_server: OAuthServer) -> None:
    refresh_token = oauth_server.grant(f"alice@{mailstack.domain}")
    access = net_oauth.refresh(oauth_server.provider(), TEST_CLIENT_ID, None, refresh_token)
    oauth_server.introspect(access.access_token)
    oauth_server.revoke(refresh_token)

    log = (mailstack.state_dir / "log/oauth.log").read_text()

    assert "POST /control/revoke 200" in log
    assert refresh_token not in log
    assert access.access_token not in log
