"""TokenKeeper with an in-memory TokenStore against the test OAuth2 server, the access
tokens it gives tried at Dovecot."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from postroom.credentials import Secret
from postroom.mailboxes.imap import ImapMailboxSource
from postroom.net import oauth as net_oauth
from postroom.net.connection import ConnectionFailure, FailureClass, MailUrl
from postroom.net.oauth import GrantProblem, TokenError
from postroom.net.sasl import AuthMechanism
from postroom.services.oauth import StoredTokens, TokenKeeper
from support.mailstack import Mailstack
from support.oauth_server import TEST_CLIENT_ID, OAuthServer

pytestmark = pytest.mark.servers


class MemoryStore:
    """A TokenStore in memory that remembers every save, in order."""

    def __init__(self, refresh_token: str | None) -> None:
        self.tokens = StoredTokens(Secret(refresh_token) if refresh_token else None)
        self.saved: list[StoredTokens] = []

    def load(self) -> StoredTokens:
        return self.tokens

    def save(self, tokens: StoredTokens) -> None:
        self.tokens = tokens
        self.saved.append(tokens)


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


def keeper(server: OAuthServer, store: MemoryStore, clock: Clock) -> TokenKeeper:
    return TokenKeeper(
        "helpdesk", server.provider(), TEST_CLIENT_ID, None, store, net_oauth.refresh, clock
    )


def opens(stack: Mailstack, address: str, token: Secret) -> int:
    url = MailUrl.parse(f"imaps://{address}@127.0.0.1:{stack.imaps_port}")
    source = ImapMailboxSource(
        url, token.reveal(), mechanism=AuthMechanism.OAUTHBEARER, ca_file=stack.ca_file
    )
    with source.open() as session:
        return len(session.list())


def test_the_access_token_is_kept_while_it_lasts_and_refreshed_before_it_expires(
    mailstack: Mailstack, oauth_server: OAuthServer
) -> None:
    address, _ = mailstack.new_user("keeper")
    mailstack.fill(address, 2, size_kb=1)
    refresh_token = oauth_server.grant(address, expires_in=3600)
    store, clock = MemoryStore(refresh_token), Clock()
    kept = keeper(oauth_server, store, clock)

    first = kept.access_token()
    assert opens(mailstack, address, first) == 2
    assert store.tokens.expires == clock.now + timedelta(seconds=3600)
    clock.now += timedelta(minutes=54)  # six minutes left: still good
    assert kept.access_token().reveal() == first.reveal()
    assert oauth_server.inspect(refresh_token)["refreshes"] == 1

    clock.now += timedelta(minutes=2)  # four minutes left: refreshed first
    second = kept.access_token()

    assert second.reveal() != first.reveal()
    assert oauth_server.inspect(refresh_token)["refreshes"] == 2
    assert store.tokens.access_token is second
    assert opens(mailstack, address, second) == 2


def test_a_rotated_refresh_token_is_stored_before_the_access_token_is_used(
    mailstack: Mailstack, oauth_server: OAuthServer
) -> None:
    address, _ = mailstack.new_user("keeper")
    mailstack.fill(address, 1, size_kb=1)
    first = oauth_server.grant(address, rotate=True)
    store, clock = MemoryStore(first), Clock()

    access = keeper(oauth_server, store, clock).access_token()

    assert len(store.saved) == 1  # saved before access_token() handed the token out
    rotated = store.saved[0].refresh_token
    assert rotated is not None and rotated.reveal() != first
    assert store.saved[0].access_token is access
    assert oauth_server.inspect(rotated.reveal())["current"] is True
    with pytest.raises(TokenError) as caught:  # the old one is dead: only the stored one works
        net_oauth.refresh(oauth_server.provider(), TEST_CLIENT_ID, None, first)
    assert caught.value.problem is GrantProblem.REVOKED
    assert opens(mailstack, address, access) == 1
    clock.now += timedelta(hours=1)
    again = keeper(oauth_server, store, clock).access_token()  # from the stored token
    assert opens(mailstack, address, again) == 1


def test_a_store_that_cannot_save_a_rotated_token_gets_no_access_token(
    mailstack: Mailstack, oauth_server: OAuthServer
) -> None:
    address, _ = mailstack.new_user("keeper")
    store, clock = MemoryStore(oauth_server.grant(address, rotate=True)), Clock()

    def broken(tokens: StoredTokens) -> None:
        raise OSError("disk full")

    store.save = broken  # type: ignore[method-assign]

    with pytest.raises(OSError, match="disk full"):
        keeper(oauth_server, store, clock).access_token()


@pytest.mark.parametrize("how", ["revoked", "no refresh token"])
def test_a_revoked_grant_is_an_authentication_failure_that_says_sign_in_again(
    mailstack: Mailstack, oauth_server: OAuthServer, how: str
) -> None:
    address, _ = mailstack.new_user("keeper")
    refresh_token = oauth_server.grant(address)
    store = MemoryStore(refresh_token if how == "revoked" else None)
    if how == "revoked":
        oauth_server.revoke(refresh_token)

    with pytest.raises(ConnectionFailure) as caught:
        keeper(oauth_server, store, Clock()).access_token()

    assert caught.value.kind is FailureClass.AUTHENTICATION
    text = str(caught.value)
    assert ("sign in again" if how == "revoked" else "sign in") in text
    assert "postroom channel authorize helpdesk" in text
    assert refresh_token not in text
    assert store.saved == []


def test_an_expired_stored_access_token_is_replaced_and_the_old_one_is_refused(
    mailstack: Mailstack, oauth_server: OAuthServer
) -> None:
    address, _ = mailstack.new_user("keeper")
    refresh_token = oauth_server.grant(address)
    store, clock = MemoryStore(refresh_token), Clock()
    kept = keeper(oauth_server, store, clock)
    old = kept.access_token()
    oauth_server.expire(old.reveal())
    with pytest.raises(ConnectionFailure) as refused:
        opens(mailstack, address, old)
    assert refused.value.kind is FailureClass.AUTHENTICATION

    clock.now += timedelta(minutes=56)
    new = kept.access_token()

    assert new.reveal() != old.reveal()
    assert opens(mailstack, address, new) == 0
