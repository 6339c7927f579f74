"""postroom.net.oauth against the test OAuth2 server: refresh, rotation, revocation, the
device-code sign-in; the tokens it gets open the mailbox at Dovecot."""

from __future__ import annotations

import time

import pytest

from postroom.mailboxes.imap import ImapMailboxSource
from postroom.net import oauth as net_oauth
from postroom.net.connection import ConnectionFailure, FailureClass, MailUrl
from postroom.net.oauth import GrantProblem, TokenError
from postroom.net.sasl import AuthMechanism
from support.mailstack import Mailstack
from support.oauth_server import TEST_CLIENT_ID, OAuthServer

pytestmark = pytest.mark.servers


def logs_in(stack: Mailstack, address: str, token: str) -> bool:
    url = MailUrl.parse(f"imaps://{address}@127.0.0.1:{stack.imaps_port}")
    source = ImapMailboxSource(
        url, token, mechanism=AuthMechanism.XOAUTH2, ca_file=stack.ca_file, timeout=10
    )
    try:
        with source.open():
            return True
    except ConnectionFailure as exc:
        assert exc.kind is FailureClass.AUTHENTICATION, exc
        return False


def test_refresh_issues_an_access_token_dovecot_takes(
    mailstack: Mailstack, oauth_server: OAuthServer
) -> None:
    address, _ = mailstack.new_user("oauth")
    refresh_token = oauth_server.grant(address, expires_in=1800)
    provider = oauth_server.provider(("mail.read",))

    tokens = net_oauth.refresh(provider, TEST_CLIENT_ID, "client-secret", refresh_token)

    assert tokens.expires_in == 1800
    assert tokens.refresh_token is None  # not rotating: keep the one you have
    assert logs_in(mailstack, address, tokens.access_token)
    seen = oauth_server.inspect(refresh_token)
    assert seen["refreshes"] == 1
    assert seen["client_ids"] == [TEST_CLIENT_ID]
    assert seen["scopes"] == ["mail.read"]
    again = net_oauth.refresh(provider, TEST_CLIENT_ID, None, refresh_token)
    assert again.access_token != tokens.access_token
    assert logs_in(mailstack, address, again.access_token)


def test_an_access_token_is_refused_once_its_lifetime_is_over(
    mailstack: Mailstack, oauth_server: OAuthServer
) -> None:
    address, _ = mailstack.new_user("oauth")
    refresh_token = oauth_server.grant(address, expires_in=1)
    tokens = net_oauth.refresh(oauth_server.provider(), TEST_CLIENT_ID, None, refresh_token)
    assert tokens.expires_in == 1

    time.sleep(1.2)

    assert not logs_in(mailstack, address, tokens.access_token)
    fresh = net_oauth.refresh(oauth_server.provider(), TEST_CLIENT_ID, None, refresh_token)
    assert oauth_server.introspect(fresh.access_token)["active"] is True


def test_a_rotating_grant_gives_a_new_refresh_token_and_ends_the_old_one(
    mailstack: Mailstack, oauth_server: OAuthServer
) -> None:
    address, _ = mailstack.new_user("oauth")
    first = oauth_server.grant(address)
    provider = oauth_server.provider()
    assert net_oauth.refresh(provider, TEST_CLIENT_ID, None, first).refresh_token is None
    oauth_server.rotate(first)

    tokens = net_oauth.refresh(provider, TEST_CLIENT_ID, None, first)

    second = tokens.refresh_token
    assert second is not None and second != first
    assert logs_in(mailstack, address, tokens.access_token)
    with pytest.raises(TokenError) as caught:
        net_oauth.refresh(provider, TEST_CLIENT_ID, None, first)
    assert caught.value.problem is GrantProblem.REVOKED
    third = net_oauth.refresh(provider, TEST_CLIENT_ID, None, second).refresh_token
    assert third not in (None, first, second)
    oauth_server.rotate(third, on=False)
    assert net_oauth.refresh(provider, TEST_CLIENT_ID, None, third).refresh_token is None


def test_a_revoked_grant_is_grant_problem_revoked_and_its_tokens_are_refused(
    mailstack: Mailstack, oauth_server: OAuthServer
) -> None:
    address, _ = mailstack.new_user("oauth")
    refresh_token = oauth_server.grant(address)
    provider = oauth_server.provider()
    tokens = net_oauth.refresh(provider, TEST_CLIENT_ID, None, refresh_token)

    oauth_server.revoke(refresh_token)

    with pytest.raises(TokenError) as caught:
        net_oauth.refresh(provider, TEST_CLIENT_ID, None, refresh_token)
    assert caught.value.problem is GrantProblem.REVOKED
    assert "invalid_grant" in str(caught.value)
    assert refresh_token not in str(caught.value)
    assert not logs_in(mailstack, address, tokens.access_token)


def test_a_grant_pinned_to_a_client_refuses_another_client(
    mailstack: Mailstack, oauth_server: OAuthServer
) -> None:
    address, _ = mailstack.new_user("oauth")
    refresh_token = oauth_server.grant(address, client_id="the-app")
    provider = oauth_server.provider()

    with pytest.raises(TokenError) as caught:
        net_oauth.refresh(provider, "another-app", None, refresh_token)

    assert caught.value.problem is GrantProblem.REVOKED
    assert net_oauth.refresh(provider, "the-app", None, refresh_token).access_token


def test_device_sign_in_is_pending_until_approved_then_gives_tokens(
    mailstack: Mailstack, oauth_server: OAuthServer
) -> None:
    address, _ = mailstack.new_user("oauth")
    provider = oauth_server.provider(("mail",))
    device = net_oauth.start_device(provider, TEST_CLIENT_ID)
    assert device.verification_uri.startswith(oauth_server.url)
    assert device.interval == 1
    assert len(device.user_code) == 9

    with pytest.raises(TokenError) as pending:
        net_oauth.poll_device(provider, TEST_CLIENT_ID, None, device)
    assert pending.value.problem is GrantProblem.PENDING

    oauth_server.approve(device.user_code, address)
    tokens = net_oauth.poll_device(provider, TEST_CLIENT_ID, None, device)

    assert tokens.refresh_token is not None
    assert logs_in(mailstack, address, tokens.access_token)
    refreshed = net_oauth.refresh(provider, TEST_CLIENT_ID, None, tokens.refresh_token)
    assert logs_in(mailstack, address, refreshed.access_token)
    with pytest.raises(TokenError) as used:  # a device code gives its tokens once
        net_oauth.poll_device(provider, TEST_CLIENT_ID, None, device)
    assert used.value.problem is GrantProblem.REVOKED


def test_a_declined_device_sign_in_is_refused(oauth_server: OAuthServer) -> None:
    provider = oauth_server.provider()
    device = net_oauth.start_device(provider, TEST_CLIENT_ID)

    oauth_server.deny(device.user_code)

    with pytest.raises(TokenError) as caught:
        net_oauth.poll_device(provider, TEST_CLIENT_ID, None, device)
    assert caught.value.problem is GrantProblem.REFUSED
    assert "access_denied" in str(caught.value)
