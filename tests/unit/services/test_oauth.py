"""OAuth2 tokens against a local token endpoint run by the test: issue, refresh before expiry,
rotation saved at once, revoked grant, expiry; tokens never in a message or a repr."""

from __future__ import annotations

import json
import threading
import urllib.parse
from collections.abc import Iterator
from datetime import datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from postroom.credentials import Secret
from postroom.errors import UserError
from postroom.net import oauth, sasl
from postroom.net.connection import ConnectionFailure, FailureClass
from postroom.services.oauth import StoredTokens, TokenKeeper


class Endpoint:
    """A token endpoint: refresh tokens it knows map to a rotation (or stay), revoked ones
    get ``invalid_grant``."""

    def __init__(self) -> None:
        self.valid = {"rt-1"}
        self.rotate = False
        self.calls: list[dict[str, str]] = []
        self.issued = 0

    def answer(self, form: dict[str, str]) -> tuple[int, dict[str, object]]:
        self.calls.append(form)
        if form.get("refresh_token") not in self.valid:
            return 400, {"error": "invalid_grant", "error_description": "revoked"}
        self.issued += 1
        body: dict[str, object] = {"access_token": f"at-{self.issued}", "expires_in": 3600}
        if self.rotate:
            new = f"rt-{self.issued + 1}"
            self.valid = {new}
            body["refresh_token"] = new
        return 200, body


@pytest.fixture
def endpoint() -> Iterator[tuple[Endpoint, str]]:
    state = Endpoint()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", "0"))
            form = dict(urllib.parse.parse_qsl(self.rfile.read(length).decode()))
            status, body = state.answer(form)
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state, f"http://127.0.0.1:{server.server_port}/token"
    finally:
        server.shutdown()
        server.server_close()


class Store:
    def __init__(self, tokens: StoredTokens) -> None:
        self.tokens = tokens
        self.saves = 0

    def load(self) -> StoredTokens:
        return self.tokens

    def save(self, tokens: StoredTokens) -> None:
        self.tokens = tokens
        self.saves += 1


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 12, 1, 12, 0)

    def __call__(self) -> datetime:
        return self.now


def keeper(url: str, store: Store, clock: Clock) -> TokenKeeper:
    endpoint = oauth.provider("custom", token_url=url, scopes=("mail",))
    return TokenKeeper("box", endpoint, "client-1", None, store, oauth.refresh, clock)


def test_issue_then_reuse_then_refresh_before_expiry(endpoint: tuple[Endpoint, str]) -> None:
    state, url = endpoint
    store, clock = Store(StoredTokens(Secret("rt-1"))), Clock()
    tokens = keeper(url, store, clock)
    assert tokens.access_token().reveal() == "at-1"
    assert state.calls[0]["grant_type"] == "refresh_token"
    assert state.calls[0]["scope"] == "mail" and state.calls[0]["client_id"] == "client-1"
    clock.now += timedelta(minutes=30)
    assert tokens.access_token().reveal() == "at-1"  # still valid: no call
    assert len(state.calls) == 1
    clock.now += timedelta(minutes=26)  # 4 minutes left: refreshed first
    assert tokens.access_token().reveal() == "at-2"
    assert len(state.calls) == 2


def test_an_expired_access_token_is_refreshed(endpoint: tuple[Endpoint, str]) -> None:
    _, url = endpoint
    clock = Clock()
    stale = StoredTokens(Secret("rt-1"), Secret("old"), clock.now - timedelta(seconds=1))
    store = Store(stale)
    assert keeper(url, store, clock).access_token().reveal() == "at-1"
    assert store.tokens.expires == clock.now + timedelta(hours=1)


def test_a_rotated_refresh_token_is_saved_at_once(endpoint: tuple[Endpoint, str]) -> None:
    state, url = endpoint
    state.rotate = True
    store, clock = Store(StoredTokens(Secret("rt-1"))), Clock()
    tokens = keeper(url, store, clock)
    tokens.access_token()
    assert store.saves == 1
    assert store.tokens.refresh_token is not None
    assert store.tokens.refresh_token.reveal() == "rt-2"
    clock.now += timedelta(hours=2)
    assert tokens.access_token().reveal() == "at-2"  # the old refresh token no longer works


def test_a_revoked_grant_says_sign_in_again(endpoint: tuple[Endpoint, str]) -> None:
    state, url = endpoint
    state.valid = set()
    store = Store(StoredTokens(Secret("rt-secret-value")))
    with pytest.raises(ConnectionFailure) as failed:
        keeper(url, store, Clock()).access_token()
    assert failed.value.kind is FailureClass.AUTHENTICATION
    assert "sign in again: postroom channel authorize box" in str(failed.value)
    assert "rt-secret-value" not in str(failed.value)
    assert store.saves == 0


def test_no_grant_at_all_says_sign_in() -> None:
    endpoint = oauth.provider("google")
    tokens = TokenKeeper("box", endpoint, "c", None, Store(StoredTokens(None)), oauth.refresh)
    with pytest.raises(ConnectionFailure, match="no refresh token"):
        tokens.access_token()


def test_an_unreachable_endpoint_is_a_connection_failure() -> None:
    endpoint = oauth.provider("custom", token_url="http://127.0.0.1:9/token")
    with pytest.raises(ConnectionFailure) as failed:
        oauth.refresh(endpoint, "c", None, "rt", timeout=2)
    assert failed.value.kind is FailureClass.CONNECTION


def test_endpoints_are_https_except_on_loopback() -> None:
    with pytest.raises(UserError, match="must be https"):
        oauth.provider("custom", token_url="http://login.example.test/token")
    assert oauth.provider("microsoft").token_url.startswith("https://login.microsoftonline.com/")
    with pytest.raises(UserError, match="microsoft, google or custom"):
        oauth.provider("yahoo")


def test_tokens_stay_out_of_reprs() -> None:
    assert "secret" not in repr(oauth.Tokens("secret-at", 10, "secret-rt"))
    assert "secret" not in repr(StoredTokens(Secret("secret-rt"), Secret("secret-at")))


def test_sasl_oauth_messages() -> None:
    assert sasl.xoauth2("a@b.test", "T") == "user=a@b.test\x01auth=Bearer T\x01\x01"
    assert sasl.oauthbearer("a,=b", "T", "imap.test", 993) == (
        "n,a=a=2C=3Db,\x01host=imap.test\x01port=993\x01auth=Bearer T\x01\x01"
    )


def test_a_refresh_another_process_rotated_first_uses_its_token(
    endpoint: tuple[Endpoint, str],
) -> None:
    """Two pollers refresh the same grant at once: the second one's refresh token was
    rotated out by the first, whose stored access token is used, not a "sign in again"."""
    state, url = endpoint
    state.rotate = True
    clock = Clock()
    store = Store(StoredTokens(Secret("rt-1")))
    keeper(url, store, clock).access_token()  # the first process: rt-1 rotated to rt-2
    stale = StoredTokens(Secret("rt-1"))  # what the second process read before that

    class Racing(Store):
        def __init__(self) -> None:
            super().__init__(stale)
            self.loads = 0

        def load(self) -> StoredTokens:
            self.loads += 1
            return stale if self.loads == 1 else store.tokens

    racing = Racing()
    assert keeper(url, racing, clock).access_token().reveal() == "at-1"
    assert racing.saves == 0
    store.tokens = StoredTokens(Secret("rt-9"), Secret("at-1"), clock.now - timedelta(hours=1))
    with pytest.raises(ConnectionFailure, match="sign in again"):
        keeper(url, Racing(), clock).access_token()  # rotated, but its token expired too


def test_a_token_endpoints_refusal_is_shown_escaped_and_bounded() -> None:
    answer = json.dumps(
        {"error": "invalid_grant\x1b]0;owned\x07", "error_description": "\x1b[2J" + "x" * 500}
    ).encode()
    problem = oauth._refusal("https://login.example.test/token", 400, answer)
    assert isinstance(problem, oauth.TokenError)
    text = str(problem)
    assert "\x1b" not in text and "\x07" not in text and "\\x1b" in text
    assert len(text) < 400
